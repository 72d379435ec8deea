import POSIX

/// A file written all-or-nothing: bytes go to a temporary file beside the destination, which `commit()`
/// flushes, fsyncs and renames into place. A writer dropped (or a process killed) before `commit()` leaves
/// the destination untouched: nothing already there is lost and nothing half-written appears.
///
/// Ownership: owns its `FILE*`; `deinit` without `commit()` removes the temporary file.
public final class OutputFile {
    public let path: String
    public let temporaryPath: String
    private let file: CFile
    private var committed = false

    public init(path: String) throws {
        self.path = path
        temporaryPath = "\(path).tmp-\(Sys.pid)"
        // Remembered before it exists, so an interruption at any point after it appears removes it.
        TemporaryFiles.register(temporaryPath)
        do { file = try CFile(path: temporaryPath, mode: "w") } catch let e as SystemError {
            TemporaryFiles.forget(temporaryPath)
            throw InputError(file: path, line: 0, "cannot open for writing: \(Sys.errorMessage(e.errno))")
        }
        file.setBuffer(bytes: Int(Bytes.perMB))
    }

    deinit {
        if !committed {
            file.close()
            Sys.unlink(temporaryPath)
        }
        TemporaryFiles.forget(temporaryPath)
    }

    @inline(__always) public func write(_ text: String) {
        var t = text
        t.withUTF8 { file.write(UnsafeRawBufferPointer($0)) }
    }

    public func write(bytes: UnsafeBufferPointer<UInt8>) {
        file.write(UnsafeRawBufferPointer(bytes))
    }

    /// Flushes, syncs and atomically renames the file into place.
    public func commit() throws { _ = try finish(unlessSameData: false) }

    /// Like `commit()`, but when the destination already holds the same data (every line but the `#`
    /// comments: provenance, dates), it is left as it was and the new file dropped: a rerun that changes
    /// nothing leaves nothing changed. Returns whether the destination was written.
    @discardableResult
    public func commitIfChanged() throws -> Bool { try finish(unlessSameData: true) }

    func finish(unlessSameData: Bool) throws -> Bool {
        guard !committed else { return false }
        committed = true
        do { try file.syncAndClose() } catch let e as SystemError {
            Sys.unlink(temporaryPath)
            throw InputError(file: path, line: 0, "write failed: \(Sys.errorMessage(e.errno))")
        }
        if unlessSameData, let old = OutputFile.dataLines(path), let new = OutputFile.dataLines(temporaryPath), old == new {
            Sys.unlink(temporaryPath)
            return false
        }
        do { try Sys.rename(temporaryPath, path) } catch let e as SystemError {
            Sys.unlink(temporaryPath)
            throw InputError(file: path, line: 0, "cannot rename into place: \(Sys.errorMessage(e.errno))")
        }
        return true
    }

    /// A file's lines but its `#` comments, or nil when it cannot be read.
    static func dataLines(_ p: String) -> [Substring]? {
        (try? String(contentsOfFile: p, encoding: .utf8)).map { $0.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") } }
    }
}
