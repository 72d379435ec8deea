/// Bad input, located: `file:line: what was expected`. Line 0 means the file as a whole (missing, empty,
/// unreadable). Every reader in pipsqueak throws this and nothing else for malformed input.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let line: Int
    public let message: String

    public init(file: String, line: Int, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }

    /// `text` as an error message may quote it: in quotes, at most `limit` characters, anything but printable
    /// ASCII escaped (binary garbage is never echoed to a terminal), with the full length when cut.
    public static func excerpt(_ text: String, limit: Int = 40) -> String {
        var out = "", n = 0
        for u in text.unicodeScalars {
            if n == limit { return "'\(out)…' (\(text.utf8.count) bytes)" }
            switch u {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case " "..."~": out.unicodeScalars.append(u)
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out += "\\u{\(String(u.value, radix: 16))}"
            }
            n += 1
        }
        return "'\(out)'"
    }
}
