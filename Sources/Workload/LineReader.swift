import POSIX

/// Reads a text file line by line through a fixed buffer, so a file of any length is read in constant
/// memory. Lines are handed out as byte buffers valid until the next call; `\r\n` endings are accepted.
///
/// Ownership: owns its stream (`CFile`), closed in `deinit`.
public final class LineReader {
    public let path: String
    private let file: CFile
    /// The 1-based number of the line last returned (0 before the first).
    public private(set) var lineNumber = 0

    public init(path: String) throws {
        self.path = path
        do { file = try CFile(path: path, mode: "r") } catch let e as SystemError {
            throw InputError(file: path, line: 0, "cannot open for reading: \(Sys.errorMessage(e.errno))")
        }
        if file.isDirectory {
            file.close()
            throw InputError(file: path, line: 0, "is a directory, expected a file")
        }
    }

    /// Calls `body` with the next line's bytes (without the line ending), or returns nil at the end.
    @inline(__always)
    public func nextLine<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try file.readLine { line in
            lineNumber += 1
            var n = line.count
            while n > 0, line[n - 1] == 10 || line[n - 1] == 13 { n -= 1 }
            return try body(UnsafeBufferPointer(rebasing: line[0..<n]))
        }
    }

    /// The next line as a `String`, or nil at the end.
    public func nextString() -> String? {
        nextLine { String(decoding: $0, as: UTF8.self) }
    }
}
