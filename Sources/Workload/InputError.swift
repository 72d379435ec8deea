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
}
