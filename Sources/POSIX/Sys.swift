#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The C functions Sys's own methods shadow.
@inline(__always) private func cRename(_ a: String, _ b: String) -> Int32 { rename(a, b) }
@inline(__always) private func cUnlink(_ p: String) -> Int32 { unlink(p) }

/// A failed system call: the call, its errno and the path it was about, if any.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let errno: Int32
    public let path: String?
    public init(call: String, errno: Int32, path: String? = nil) { self.call = call; self.errno = errno; self.path = path }
    public var description: String { "\(call)\(path.map { " \($0)" } ?? ""): \(Sys.errorMessage(errno)) (errno \(errno))" }
}

/// The one system layer: every libc call pipsqueak makes goes through `Sys` (this module holds what the
/// lowest modules need; the runtime extends it with processes, mounts, cgroups and sockets).
///
/// The one EINTR rule: a call interrupted by a signal is made again (`retrying`), and loops that wait
/// (poll, non-blocking I/O) ask `interrupted(_:)`; any other failure is a `SystemError` naming the call,
/// errno and path.
public enum Sys {
    /// Makes `body` (a libc call returning -1 and setting errno on failure) until it is not interrupted.
    /// Returns its non-negative result. - Throws: `SystemError` for any failure but EINTR.
    @discardableResult @inline(__always)
    public static func retrying(_ call: String, path: String? = nil, _ body: () -> Int32) throws -> Int32 {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if interrupted(e) { continue }
            throw SystemError(call: call, errno: e, path: path)
        }
    }

    /// A regular file's size and modification time (ns since the epoch); nil when `path` is missing or is
    /// not a regular file.
    public static func regularFileStamp(_ path: String) -> (size: Int64, mtimeNanos: Int64)? {
        var s = stat()
        guard stat(path, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int64(s.st_size), Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec))
    }

    /// Whether `e` says the call was interrupted by a signal and should simply be made again.
    @inline(__always) public static func interrupted(_ e: Int32) -> Bool { e == EINTR }

    /// strerror.
    public static func errorMessage(_ e: Int32) -> String { String(cString: strerror(e)) }

    /// This process's id.
    public static var pid: Int32 { getpid() }

    /// Whether descriptor `fd` is a terminal (progress draws frames there, plain lines elsewhere).
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

    /// CLOCK_MONOTONIC in ns: the clock Python's time.monotonic_ns() reads, so both sides' stamps compare.
    public static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// This process's CPU time, user and system, all its threads (not its children), ns.
    public static func processCPUNanos() -> Int64 {
        var u = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &u)
        #else
        getrusage(RUSAGE_SELF, &u)
        #endif
        return (Int64(u.ru_utime.tv_sec) + Int64(u.ru_stime.tv_sec)) * 1_000_000_000
            + (Int64(u.ru_utime.tv_usec) + Int64(u.ru_stime.tv_usec)) * 1000
    }

    /// The calling thread's CPU time, ns (CLOCK_THREAD_CPUTIME_ID).
    public static func threadCPUNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Sleeps at least `micros` µs (at most an hour per call; a signal may end it early).
    public static func sleep(micros: Int64) { if micros > 0 { usleep(useconds_t(min(micros, 3_600_000_000))) } }

    /// sync(2): asks the kernel to write every dirty page and inode back to its disk, and returns when it has
    /// (on Linux; it cannot fail).
    public static func syncFileSystems() { sync() }

    /// Renames `from` to `to` atomically (same file system).
    public static func rename(_ from: String, _ to: String) throws {
        try retrying("rename", path: to) { cRename(from, to) }
    }

    /// Removes a file; a missing one is not an error.
    public static func unlink(_ path: String) {
        _ = try? retrying("unlink", path: path) { cUnlink(path) == 0 || errno == ENOENT ? 0 : -1 }
    }
}

/// A C stdio stream over a file (`FILE*`), for readers and writers that move many small records through a
/// buffer. Owns the stream: closed in `deinit` if not closed before.
public final class CFile {
    public let path: String
    private var file: UnsafeMutablePointer<FILE>?
    /// getline's buffer (grown by it, freed in `deinit`).
    private var lineBuffer: UnsafeMutablePointer<CChar>? = nil
    private var lineCapacity = 0

    /// Opens `path` with fopen's `mode` ("r", "w"). - Throws: `SystemError` (fopen).
    public init(path: String, mode: String) throws {
        self.path = path
        var f: UnsafeMutablePointer<FILE>?
        while true {
            f = fopen(path, mode)
            if f != nil || !Sys.interrupted(errno) { break }
        }
        guard let f else { throw SystemError(call: "fopen", errno: errno, path: path) }
        file = f
    }

    deinit {
        if let f = file { fclose(f) }
        free(lineBuffer)
    }

    /// Whether it is a directory (fopen opens those for reading on Linux).
    public var isDirectory: Bool {
        guard let f = file else { return false }
        var st = stat()
        return fstat(fileno(f), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// A stdio buffer of `bytes` for the stream (call before the first write).
    public func setBuffer(bytes: Int) { if let f = file { setvbuf(f, nil, _IOFBF, bytes) } }

    /// Buffered write (stdio retries interrupted writes; errors surface at `syncAndClose`).
    @inline(__always) public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let f = file, let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = fwrite(base, 1, bytes.count, f)
    }

    /// Calls `body` with the next line's bytes (with its ending; valid only during the call), or returns
    /// nil at the end.
    @inline(__always) public func readLine<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        guard let f = file else { return nil }
        let n = getline(&lineBuffer, &lineCapacity, f)
        guard n >= 0, let buf = lineBuffer else { return nil }
        return try buf.withMemoryRebound(to: UInt8.self, capacity: n) { try body(UnsafeBufferPointer(start: $0, count: n)) }
    }

    /// Flushes, fsyncs and closes. - Throws: `SystemError` when any of them failed (the stream is closed).
    public func syncAndClose() throws {
        guard let f = file else { return }
        file = nil
        var failed: SystemError?
        if fflush(f) != 0 { failed = SystemError(call: "fflush", errno: errno, path: path) }
        if failed == nil, (try? Sys.retrying("fsync", path: path, { fsync(fileno(f)) })) == nil {
            failed = SystemError(call: "fsync", errno: errno, path: path)
        }
        if fclose(f) != 0, failed == nil { failed = SystemError(call: "fclose", errno: errno, path: path) }
        if let failed { throw failed }
    }

    /// Closes without syncing.
    public func close() {
        if let f = file { fclose(f) }
        file = nil
    }
}

/// Temporary files to remove if the process is interrupted (SIGINT, SIGTERM) before it renames or
/// removes them itself: an interrupted writer leaves no `*.tmp-PID` behind. Paths live in a fixed table
/// the signal handler can walk without allocating; the handler unlinks them, then ends the process with
/// the same signal.
public enum TemporaryFiles {
    static let slots = 64, width = 4096
    nonisolated(unsafe) static let table: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slots * width)
        p.initialize(repeating: 0, count: slots * width)
        return p
    }()
    nonisolated(unsafe) static var lock = pthread_mutex_t()
    nonisolated(unsafe) static var lockReady: Bool = { pthread_mutex_init(&lock, nil); return true }()

    /// Remembers `path` (no-op when the table is full or the path too long).
    public static func register(_ path: String) {
        _ = lockReady
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        let bytes = Array(path.utf8)
        guard bytes.count < width else { return }
        for i in 0..<slots where table[i * width] == 0 {
            for (j, b) in bytes.enumerated() { table[i * width + j] = CChar(bitPattern: b) }
            table[i * width + bytes.count] = 0
            return
        }
    }

    /// Forgets `path` (it was renamed into place or removed).
    public static func forget(_ path: String) {
        _ = lockReady
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        for i in 0..<slots where table[i * width] != 0 && String(cString: table + i * width) == path {
            table[i * width] = 0
        }
    }

    /// Installs the SIGINT and SIGTERM handler that removes every remembered file and ends the process.
    public static func removeOnInterrupt() {
        _ = table
        let handler: @convention(c) (Int32) -> Void = { sig in
            for i in 0..<TemporaryFiles.slots where TemporaryFiles.table[i * TemporaryFiles.width] != 0 {
                unlink(TemporaryFiles.table + i * TemporaryFiles.width)
            }
            signal(sig, SIG_DFL)
            raise(sig)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}
