#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written all-or-nothing: bytes go to a temporary file beside the destination, which `commit()`
/// flushes, fsyncs and renames into place. A writer dropped (or a process killed) before `commit()` leaves
/// the destination untouched: nothing already there is lost and nothing half-written appears.
///
/// Ownership: owns its `FILE*`; `deinit` without `commit()` removes the temporary file.
public final class OutputFile {
    public let path: String
    public let temporaryPath: String
    private var file: UnsafeMutablePointer<FILE>?

    public init(path: String) throws {
        self.path = path
        temporaryPath = "\(path).tmp-\(getpid())"
        guard let f = fopen(temporaryPath, "w") else {
            throw InputError(file: path, line: 0, "cannot open for writing: \(String(cString: strerror(errno)))")
        }
        setvbuf(f, nil, _IOFBF, Int(Bytes.perMB))
        file = f
    }

    deinit {
        if let f = file {
            fclose(f)
            unlink(temporaryPath)
        }
    }

    @inline(__always) public func write(_ text: String) {
        var t = text
        t.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, file) }
    }

    public func write(bytes: UnsafeBufferPointer<UInt8>) {
        _ = fwrite(bytes.baseAddress, 1, bytes.count, file)
    }

    /// Flushes, syncs and atomically renames the file into place.
    public func commit() throws {
        guard let f = file else { return }
        file = nil
        let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
        let err = errno
        fclose(f)
        guard flushed else {
            unlink(temporaryPath)
            throw InputError(file: path, line: 0, "write failed: \(String(cString: strerror(err)))")
        }
        guard rename(temporaryPath, path) == 0 else {
            let e = errno
            unlink(temporaryPath)
            throw InputError(file: path, line: 0, "cannot rename into place: \(String(cString: strerror(e)))")
        }
    }
}
