import Foundation

/// Writes the worker's own protocol messages as JSON without `JSONSerialization`: dictionaries with String
/// keys, arrays, and String, Bool, Int, Int32, Int64, UInt32, finite Double and NSNull, each scalar matched by
/// its exact type. `JSONSerialization` boxes and casts every value: the fork, invoke and prepare
/// messages took 9% of the server's CPU in a fresh worker's burst of cold starts (`perf`). Anything else (an
/// event parsed from a request body, whose numbers are `NSNumber`s) returns nil and the caller uses it instead.
enum JSONLine {
    static func encode(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        return append(value, to: &out) ? out : nil
    }

    private static func append(_ value: Any, to out: inout [UInt8]) -> Bool {
        let t = type(of: value)
        if t == String.self { appendString(value as! String, to: &out); return true }
        if t == Bool.self { out += (value as! Bool) ? Array("true".utf8) : Array("false".utf8); return true }
        if t == Int.self { out += Array(String(value as! Int).utf8); return true }
        if t == Int64.self { out += Array(String(value as! Int64).utf8); return true }
        if t == Int32.self { out += Array(String(value as! Int32).utf8); return true }
        if t == UInt32.self { out += Array(String(value as! UInt32).utf8); return true }
        if t == Double.self {
            let d = value as! Double
            guard d.isFinite else { return false }
            out += Array((d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)").utf8)
            return true
        }
        if t == NSNull.self { out += Array("null".utf8); return true }
        if let d = value as? [String: Any] {
            out.append(0x7B)
            var first = true
            for (k, v) in d {
                if !first { out.append(0x2C) }
                first = false
                appendString(k, to: &out)
                out.append(0x3A)
                guard append(v, to: &out) else { return false }
            }
            out.append(0x7D)
            return true
        }
        if let a = value as? [Any] {
            out.append(0x5B)
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(0x2C) }
                guard append(v, to: &out) else { return false }
            }
            out.append(0x5D)
            return true
        }
        return false
    }

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}
