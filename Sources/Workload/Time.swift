/// Time in pipsqueak is integer nanoseconds (`Int64`). These helpers convert to and from the decimal seconds
/// and milliseconds that files show people, exactly (no floating point on the parse path).
public enum Nanos {
    public static let perMilli: Int64 = 1_000_000
    public static let perSecond: Int64 = 1_000_000_000
    /// The largest time a trace may hold, s: beyond it, ns no longer fit an Int64 with room to add.
    public static let maxSeconds = 900_000_000.0

    public static func fromMillis(_ ms: Double) -> Int64 { Int64((ms * 1e6).rounded()) }
    public static func fromSeconds(_ s: Double) -> Int64 { Int64((s * 1e9).rounded()) }
    public static func millis(_ ns: Int64) -> Double { Double(ns) / 1e6 }
    public static func seconds(_ ns: Int64) -> Double { Double(ns) / 1e9 }

    /// Parses a non-negative decimal number of seconds ("12", "0.5", "3.000000001") into nanoseconds;
    /// digits past the ninth decimal are truncated. Returns nil for anything else (signs, exponents, junk).
    @inline(__always)
    public static func parseSeconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0, n = bytes.count
        while i < n, bytes[i] == 32 { i += 1 }
        while n > i, bytes[n - 1] == 32 { n -= 1 }
        guard i < n else { return nil }
        var whole: Int64 = 0, digits = 0
        while i < n, bytes[i] >= 48, bytes[i] <= 57 {
            // At most 9,000,000,009 whole seconds (~285 years: beyond any trace), so that whole * 1e9 + frac
            // stays inside Int64 (a ten-digit 9_999_999_999 overflowed: found by libFuzzer).
            guard whole < 900_000_000 else { return nil }
            whole = whole * 10 + Int64(bytes[i] - 48); i += 1; digits += 1
        }
        var frac: Int64 = 0, fracDigits = 0
        if i < n, bytes[i] == 46 {
            i += 1
            while i < n, bytes[i] >= 48, bytes[i] <= 57 {
                if fracDigits < 9 { frac = frac * 10 + Int64(bytes[i] - 48); fracDigits += 1 }
                i += 1; digits += 1
            }
        }
        guard i == n, digits > 0 else { return nil }
        while fracDigits < 9 { frac *= 10; fracDigits += 1 }
        return whole * perSecond + frac
    }

    public static func parseSeconds(_ text: String) -> Int64? {
        var t = text
        return t.withUTF8 { parseSeconds($0) }
    }

    /// "S.NNNNNNNNN" with trailing zeros trimmed (at least one decimal kept off when whole).
    public static func formatSeconds(_ ns: Int64) -> String {
        let whole = ns / perSecond, frac = ns % perSecond
        if frac == 0 { return String(whole) }
        var f = String(frac)
        f = String(repeating: "0", count: 9 - f.count) + f
        while f.hasSuffix("0") { f.removeLast() }
        return "\(whole).\(f)"
    }

    /// Milliseconds with three decimals (microsecond resolution), for records.
    public static func formatMillis(_ ns: Int64) -> String {
        let neg = ns < 0
        let us = (abs(ns) + 500) / 1000
        let s = "\(us / 1000).\(pad3(us % 1000))"
        return neg ? "-" + s : s
    }

    @inline(__always) static func pad3(_ v: Int64) -> String {
        v < 10 ? "00\(v)" : (v < 100 ? "0\(v)" : "\(v)")
    }
}
