import Foundation

/// A streaming reader of comma-separated files with a header line.
///
/// Lines starting with `#` are comments (pipsqueak writes provenance there) and blank lines are skipped,
/// both before and after the header. Fields may be quoted with `"` (a doubled `""` inside is a quote).
/// Every error is an `InputError` naming the file and line.
public final class CSVReader {
    public let path: String
    public let header: [String]
    let lines: LineReader
    private var columnIndex: [String: Int] = [:]

    /// Opens `path` and reads its header. - Throws: `InputError` when the file cannot be opened or has no header.
    public init(path: String) throws {
        self.path = path
        lines = try LineReader(path: path)
        var found: [String]? = nil
        while let fields = lines.nextLine({ CSVReader.isSkippable($0) ? nil : CSVReader.split($0) }) {
            if let f = fields { found = f; break }
        }
        guard let h = found else { throw InputError(file: path, line: 0, "empty file, expected a header line") }
        header = h.enumerated().map { i, f in
            // A UTF-8 byte-order mark before the first column name is not part of it.
            i == 0 && f.hasPrefix("\u{FEFF}") ? String(f.dropFirst()).trimmingSpaces : f.trimmingSpaces
        }
        for (i, name) in header.enumerated() where columnIndex[name] == nil { columnIndex[name] = i }
    }

    /// The 1-based line number of the row last returned.
    public var lineNumber: Int { lines.lineNumber }

    /// The index of column `name`. - Throws: `InputError` at the header line naming the missing column.
    public func column(_ name: String) throws -> Int {
        guard let i = columnIndex[name] else {
            throw InputError(file: path, line: headerLine, "missing column '\(name)' (the header has: \(header.joined(separator: ", ")))")
        }
        return i
    }

    public func hasColumn(_ name: String) -> Bool { columnIndex[name] != nil }

    private lazy var headerLine: Int = lines.lineNumber

    /// The next data row's fields, or nil at the end. A row with a different number of fields than the
    /// header is an error.
    public func next() throws -> [String]? {
        _ = headerLine
        while true {
            guard let fields = lines.nextLine({ CSVReader.isSkippable($0) ? nil : CSVReader.split($0) }) else { return nil }
            guard let f = fields else { continue }
            guard f.count == header.count else {
                throw error("expected \(header.count) fields (\(header.joined(separator: ","))), found \(f.count)")
            }
            return f
        }
    }

    /// An `InputError` at the current line.
    public func error(_ message: String) -> InputError { InputError(file: path, line: lines.lineNumber, message) }

    // MARK: Field parsing helpers (errors at the current line)

    /// A number in [min, max]. The default upper bound (1e12) keeps every value convertible to integer
    /// nanoseconds or bytes downstream; a column with a tighter meaning passes its own.
    public func double(_ fields: [String], _ column: Int, name: String, min: Double? = 0, max: Double = 1e12) throws -> Double {
        let text = fields[column].trimmingSpaces
        guard let v = Double(text), v.isFinite else { throw error("column '\(name)': expected a number, found \(InputError.excerpt(text))") }
        if let m = min, v < m { throw error("column '\(name)': expected a number >= \(m), found \(InputError.excerpt(text))") }
        if v > max { throw error("column '\(name)': expected a number <= \(max), found \(InputError.excerpt(text))") }
        return v
    }

    public func int(_ fields: [String], _ column: Int, name: String, min: Int? = 0) throws -> Int {
        let text = fields[column].trimmingSpaces
        guard let v = Int(text) else {
            // Accept integral decimals such as "3.0" written by other tools.
            if let d = Double(text), d.isFinite, d == d.rounded(), abs(d) < 9e15 {
                if let m = min, Int(d) < m { throw error("column '\(name)': expected an integer >= \(m), found \(InputError.excerpt(text))") }
                return Int(d)
            }
            throw error("column '\(name)': expected an integer, found \(InputError.excerpt(text))")
        }
        if let m = min, v < m { throw error("column '\(name)': expected an integer >= \(m), found \(InputError.excerpt(text))") }
        return v
    }

    @inline(__always) static func isSkippable(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in line {
            if b == 32 || b == 9 { continue }
            return b == 35 // '#'
        }
        return true // blank
    }

    /// Splits one line into fields, honouring double quotes.
    public static func split(_ line: UnsafeBufferPointer<UInt8>) -> [String] {
        var fields: [String] = []
        fields.reserveCapacity(8)
        if !line.contains(34) {
            var start = 0
            for i in 0..<line.count where line[i] == 44 {
                fields.append(String(decoding: UnsafeBufferPointer(rebasing: line[start..<i]), as: UTF8.self))
                start = i + 1
            }
            fields.append(String(decoding: UnsafeBufferPointer(rebasing: line[start..<line.count]), as: UTF8.self))
            return fields
        }
        var current: [UInt8] = []
        var quoted = false
        var i = 0
        while i < line.count {
            let b = line[i]
            if quoted {
                if b == 34 {
                    if i + 1 < line.count, line[i + 1] == 34 { current.append(34); i += 1 } else { quoted = false }
                } else { current.append(b) }
            } else if b == 34 {
                quoted = true
            } else if b == 44 {
                fields.append(String(decoding: current, as: UTF8.self)); current.removeAll(keepingCapacity: true)
            } else { current.append(b) }
            i += 1
        }
        fields.append(String(decoding: current, as: UTF8.self))
        return fields
    }

    /// Quotes a field for writing when it holds a comma, quote or newline.
    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
