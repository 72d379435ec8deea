#if canImport(Glibc)
import Glibc
#endif
import CSys
import Foundation
@_exported import POSIX
import Workload

/// The runtime's part of the one system layer (`Sys`, declared in POSIX with its EINTR rule): processes,
/// signals, mounts, sockets and files for cgroups. A failure becomes a `RuntimeError.system` carrying the
/// call, errno and path.
extension Sys {
    /// Names the calling thread for the kernel (`comm`: /proc, top, perf), cut to its 15 bytes.
    public static func nameThisThread(_ name: String) { _ = pipsqueak_name_thread(String(name.utf8.prefix(15))!) }

    /// The calling thread's id (gettid): what a v1 cgroup's `tasks` file takes.
    public static func threadID() -> Int32 { pipsqueak_thread_id() }

    /// `Sys.retrying` (the EINTR rule), its failure as the runtime's error.
    @discardableResult
    static func retry(_ call: String, path: String? = nil, _ body: () -> Int32) throws -> Int32 {
        do { return try retrying(call, path: path, body) } catch let e as SystemError {
            throw RuntimeError.system(call: e.call, errno: e.errno, path: e.path)
        }
    }

    public static func mkdir(_ path: String, mode: mode_t = 0o755) throws {
        if Glibc.mkdir(path, mode) != 0 && errno != EEXIST { throw RuntimeError.system(call: "mkdir", errno: errno, path: path) }
    }

    /// mkdir that fails when the directory exists (EEXIST included).
    public static func mkdirExclusive(_ path: String, mode: mode_t = 0o755) throws {
        if Glibc.mkdir(path, mode) != 0 { throw RuntimeError.system(call: "mkdir", errno: errno, path: path) }
    }

    public static func mkdirs(_ path: String) throws {
        var cur = ""
        for part in path.split(separator: "/") {
            cur += "/" + part
            try mkdir(cur)
        }
    }

    public static func rmdir(_ path: String) throws {
        if Glibc.rmdir(path) != 0 && errno != ENOENT { throw RuntimeError.system(call: "rmdir", errno: errno, path: path) }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Writes `text` to an existing file (cgroup control files), no truncation games.
    public static func writeFile(_ path: String, _ text: String) throws {
        let fd = try openFile(path, writing: true)
        defer { close(fd) }
        try write(text, to: fd, path: path, atStart: false)
    }

    /// Opens an existing file for reading or for writing, close-on-exec.
    public static func openFile(_ path: String, writing: Bool) throws -> Int32 {
        try retry("open", path: path) { open(path, (writing ? O_WRONLY : O_RDONLY) | O_CLOEXEC) }
    }

    /// Writes `text` to open file `fd`; `atStart`: at offset 0 (a control file kept open, each write a new
    /// command; files that cannot seek, such as /proc/PID/setgroups, take plain writes).
    public static func write(_ text: String, to fd: Int32, path: String, atStart: Bool) throws {
        var t = text
        while true {
            let n = t.withUTF8 { atStart ? Glibc.pwrite(fd, $0.baseAddress, $0.count, 0) : Glibc.write(fd, $0.baseAddress, $0.count) }
            if n >= 0 { return }
            if interrupted(errno) { continue }
            throw RuntimeError.system(call: "write", errno: errno, path: path)
        }
    }

    /// The decimal number at the start of open file `fd` (read again from offset 0: a counter kept open,
    /// such as a cgroup's memory usage); nil if it cannot be read or does not start with a digit.
    public static func readInteger(atStartOf fd: Int32) -> Int64? {
        var buf = (Int64(0), Int64(0), Int64(0), Int64(0)) // 32 bytes: up to 20 digits and a newline
        let n = withUnsafeMutableBytes(of: &buf) { Glibc.pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return withUnsafeBytes(of: &buf) { raw -> Int64? in
            var v: Int64 = 0, digits = 0
            for b in raw.prefix(n) {
                guard b >= 0x30 && b <= 0x39 else { break }
                v = v &* 10 &+ Int64(b - 0x30)
                digits += 1
            }
            return digits > 0 ? v : nil
        }
    }

    public static func readFile(_ path: String) throws -> String {
        let fd = try openFile(path, writing: false)
        defer { close(fd) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4096) }
            if n < 0 { if interrupted(errno) { continue }; throw RuntimeError.system(call: "read", errno: errno, path: path) }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func kill(_ pid: Int32, _ sig: Int32) { _ = Glibc.kill(pid, sig) }

    public static var isRoot: Bool { getuid() == 0 }


    /// A pipe, both ends close-on-exec.
    public static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipsqueak_pipe_cloexec(&fds) == 0 else { throw RuntimeError.system(call: "pipe2", errno: errno, path: nil) }
        return (fds[0], fds[1])
    }

    /// What `collect` found of a child.
    public enum ChildExit: Equatable {
        case running
        /// Reaped: its exit code, or 128 + the signal that ended it.
        case exited(Int32)
        /// Not a child of this process (or already reaped).
        case notOurs
    }

    /// Reaps child `pid` if it has exited (`block`: waits until it does) and says how it ended.
    public static func collect(_ pid: Int32, block: Bool = false) -> ChildExit {
        var st: Int32 = 0
        while true {
            let r = waitpid(pid, &st, block ? 0 : WNOHANG)
            if r < 0 && interrupted(errno) { continue }
            if r == pid { return .exited(st & 0x7f == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f)) }
            return r == 0 ? .running : .notOurs
        }
    }

    /// Reaps `pid` if it has exited (it must be our child, or an orphan given to us as subreaper). Returns
    /// whether it is gone or not ours to reap: a child someone awaits (`children`) is left to that caller.
    @discardableResult
    public static func reap(_ pid: Int32) -> Bool {
        if children.withLock({ $0.contains(pid) }) { return true }
        return collect(pid) != .running
    }

    /// Makes this process the reaper of orphaned descendants (handler processes whose parent exits when
    /// they enter a new pid namespace), so they can be reaped here rather than by init.
    public static func becomeSubreaper() {
        _ = pipsqueak_set_child_subreaper()
    }

    /// Raises this process's soft limit on open descriptors to its hard limit: each container keeps its
    /// channel and two cgroup files open (`CgroupFiles`), and a soft limit of 1024 (common) would cap the
    /// handler cache at about 340 containers.
    public static func raiseOpenFileLimit() {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0, r.rlim_cur < r.rlim_max else { return }
        r.rlim_cur = r.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &r)
    }

    /// A write to a container or zygote that has died must fail with EPIPE, not kill this process with
    /// SIGPIPE. (Foundation's `Process` used to set this as a side effect; the runtime no longer uses it.)
    public static func ignoreBrokenPipes() { _ = signal(SIGPIPE, SIG_IGN) }

    /// Calls `handler` (async-signal-safe code only: set a flag) on SIGINT and SIGTERM instead of ending the
    /// process, so a long job can stop at a safe point and clean up.
    public static func onInterrupt(_ handler: @convention(c) (Int32) -> Void) {
        _ = signal(SIGINT, handler)
        _ = signal(SIGTERM, handler)
    }

    /// Pids of children whose starter waits for them itself (`SpawnedProcess` with `awaited`): the
    /// reaper below leaves them alone so their exit status reaches that caller.
    public static let children = PidSet()

    /// Reaps every child of this process that has exited, except those someone awaits: the processes the
    /// runtime starts and does not wait for, and the orphans handed to it as subreaper (every container's
    /// pid 1, once the intermediate that forked it has exited). Killed ones are reaped by `Cgroup.destroy`;
    /// this takes the ones that died by themselves. Returns how many it reaped.
    @discardableResult
    public static func reapZombieChildren() -> Int {
        var reaped = 0
        children.withLock { awaited in
            // The usual case costs one waitid: peek at any exited child and reap it if nobody awaits it.
            while true {
                let z = pipsqueak_peek_zombie()
                if z <= 0 { return }
                if awaited.contains(z) { break } // its waiter's; others may hide behind it: look at each
                if collect(z) != .running { reaped += 1 } else { return }
            }
            for pid in zombieChildren() where !awaited.contains(pid) && collect(pid) != .running { reaped += 1 }
        }
        return reaped
    }

    /// This process's children (all threads'), from /proc/self/task/*/children.
    public static func childPids() -> [Int32] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
        var out: [Int32] = []
        for t in tasks {
            guard let s = try? readFile("/proc/self/task/\(t)/children") else { continue }
            out += s.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return out
    }

    /// One of this process's threads: its id, its name (`comm`, at most 15 bytes), its time on a core and its
    /// time runnable but waiting for one since it began, ns (`/proc/self/task/TID/schedstat`).
    public struct ThreadTimes: Sendable, Equatable {
        public var tid: Int32, name: String, cpuNanos: Int64, waitNanos: Int64
        public init(tid: Int32, name: String, cpuNanos: Int64, waitNanos: Int64) {
            self.tid = tid; self.name = name; self.cpuNanos = cpuNanos; self.waitNanos = waitNanos
        }
    }

    /// This process's live threads' times (empty where /proc has no schedstat). A thread that has exited is
    /// not among them: its time stays in `processCPUNanos` only.
    public static func threadTimes() -> [ThreadTimes] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
        return tasks.compactMap { t in
            guard let tid = Int32(t), let (cpu, wait) = schedstat("/proc/self/task/\(t)") else { return nil }
            let name = (try? readFile("/proc/self/task/\(t)/comm")).map { String($0.prefix { $0 != "\n" }) } ?? ""
            return ThreadTimes(tid: tid, name: name, cpuNanos: cpu, waitNanos: wait)
        }
    }

    /// Process `pid`'s live threads' times, summed: on a core and runnable but waiting for one since each
    /// began, ns (nil: it is gone, or /proc has no schedstat).
    public static func processTimes(_ pid: Int32) -> (cpuNanos: Int64, waitNanos: Int64)? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var cpu: Int64 = 0, wait: Int64 = 0, any = false
        for t in tasks {
            guard let (c, w) = schedstat("/proc/\(pid)/task/\(t)") else { continue }
            cpu += c; wait += w; any = true
        }
        return any ? (cpu, wait) : nil
    }

    /// A task's schedstat: ns on a core, ns runnable but waiting for one (nil when it cannot be read).
    private static func schedstat(_ taskDir: String) -> (Int64, Int64)? {
        guard let s = try? readFile(taskDir + "/schedstat") else { return nil }
        let f = s.split(separator: " ")
        guard f.count >= 2, let cpu = Int64(f[0]), let wait = Int64(f[1]) else { return nil }
        return (cpu, wait)
    }

    /// This process's children that have exited and not been reaped.
    public static func zombieChildren() -> [Int32] { childPids().filter { state(of: $0) == "Z" }.sorted() }

    /// The state letter of `pid` in /proc (R, S, D, Z, ...), nil when it is gone.
    public static func state(of pid: Int32) -> Character? {
        guard let s = try? readFile("/proc/\(pid)/stat"), let close = s.lastIndex(of: ")"),
              s.distance(from: close, to: s.endIndex) > 2 else { return nil }
        return s[s.index(close, offsetBy: 2)]
    }

    public static func isAlive(_ pid: Int32) -> Bool {
        guard Glibc.kill(pid, 0) == 0 else { return false }
        // A zombie still answers kill(0); look at its state.
        guard let st = state(of: pid) else { return true }
        return st != "Z" && st != "X"
    }

    /// Connects a Unix stream socket to `path`. A server that stops accepting fills its backlog, and a
    /// blocking connect would then wait for ever: the connect is non-blocking, retried until
    /// `timeoutSeconds`, and the descriptor returned blocking.
    public static func connectUnix(_ path: String, timeoutSeconds: Double = 5) throws -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw RuntimeError.system(call: "connect", errno: ENAMETOOLONG, path: path)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
            p[bytes.count] = 0
        }
        let deadline = monotonicNanos() + Int64(timeoutSeconds * 1e9)
        while true {
            let fd = try retry("socket") {
                socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            }
            let r = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            let e = errno
            if r == 0 {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
                return fd
            }
            close(fd)
            guard e == EAGAIN || interrupted(e) else { throw RuntimeError.system(call: "connect", errno: e, path: path) }
            guard monotonicNanos() < deadline else {
                throw RuntimeError.unavailable("connect \(path): the server accepts no connection within \(timeoutSeconds) s (its backlog is full)")
            }
            sleep(micros: 1000)
        }
    }

    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Mount points under `prefix` (from /proc/self/mounts), deepest first: with a trailing slash, those below
    /// that directory; without, the path itself and those below it (never a sibling that only shares the
    /// prefix, as `/x/root-10` for `/x/root-1`).
    public static func mounts(under prefix: String) -> [String] {
        guard let s = try? readFile("/proc/self/mounts") else { return [] }
        return mounts(in: s, under: prefix)
    }

    /// `mounts(under:)` over a mount table's text (`/proc/self/mounts`' format).
    static func mounts(in table: String, under prefix: String) -> [String] {
        let below = prefix.hasSuffix("/") ? prefix : prefix + "/"
        return mountEntries(in: table).map(\.point).filter { $0.hasPrefix(below) || $0 == prefix }.sorted { $0.count > $1.count }
    }

    /// A mount table's lines (`/proc/self/mounts`' format), in order: device, mount point (a space in it
    /// unescaped from `\\040`) and filesystem type; a line with fewer fields is left out.
    static func mountEntries(in table: String) -> [(device: String, point: String, type: String)] {
        table.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count > 2 else { return nil }
            return (String(f[0]), String(f[1]).replacingOccurrences(of: "\\040", with: " "), String(f[2]))
        }
    }

    public static func unmount(_ path: String) { _ = umount2(path, Int32(MNT_DETACH)) }

    /// Detaches every mount under `prefix`, deepest first; returns those still mounted after (none, normally).
    @discardableResult
    public static func detachMounts(under prefix: String) -> [String] {
        for m in mounts(under: prefix) { unmount(m) }
        return mounts(under: prefix)
    }

    public static func chown(_ path: String, uid: uid_t, gid: gid_t) throws {
        if Glibc.chown(path, uid, gid) != 0 { throw RuntimeError.system(call: "chown", errno: errno, path: path) }
    }

    /// Mounts a fresh tmpfs of `megabytes` on `target`; its root directory gets `mode` (tmpfs's own 1777 if nil).
    public static func mountTmpfs(_ target: String, megabytes: Int, mode: mode_t? = nil) throws {
        let data = "size=\(megabytes)m" + (mode.map { ",mode=" + String($0, radix: 8) } ?? "")
        try retry("mount tmpfs", path: target) { Glibc.mount("tmpfs", target, "tmpfs", UInt(MS_NOSUID | MS_NODEV), data) }
    }

    /// Bind-mounts `source` on `target` (recursively), read-only unless `writable`.
    public static func bindMount(_ source: String, _ target: String, writable: Bool) throws {
        try retry("mount", path: target) { Glibc.mount(source, target, nil, UInt(MS_BIND | MS_REC), nil) }
        if !writable {
            let flags = UInt(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
            try retry("mount (remount read-only)", path: target) { Glibc.mount(nil, target, nil, flags, nil) }
        }
    }
}

/// A line-oriented JSON connection over a file descriptor (a Unix socket or a pipe pair), with timeouts.
/// Owns its descriptors; closes them in `deinit`.
public final class LineChannel {
    let readFD: Int32
    let writeFD: Int32
    var buffer: [UInt8] = []
    /// How much of `buffer` is known to hold no newline (so a long line is scanned once, not per chunk).
    var scanned = 0
    /// The longest line accepted; a longer reply is a protocol error (a hostile handler cannot make the
    /// worker buffer without bound).
    public var maxLineBytes: Int

    /// Both descriptors become non-blocking: every wait on the peer is a poll with a deadline, so a peer that
    /// stops reading (a pipe or socket buffer full) or writing fails the call instead of hanging the worker.
    public init(readFD: Int32, writeFD: Int32, maxLineBytes: Int = Int(64 * Bytes.perMB)) {
        self.readFD = readFD
        self.writeFD = writeFD
        self.maxLineBytes = maxLineBytes
        for fd in Set([readFD, writeFD]) { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit { close() }

    private var closed = false
    public func close() {
        guard !closed else { return }
        closed = true
        Sys.close(readFD)
        if writeFD != readFD { Sys.close(writeFD) }
    }

    /// Writes `object` as one JSON line. - Throws: if the peer takes none of it for `timeoutSeconds`.
    public func send(_ object: [String: Any], timeoutSeconds: Double = 60) throws {
        var data = try JSONLine.encode(object).map { Data($0) } ?? JSONSerialization.data(withJSONObject: object)
        data.append(10)
        let deadline = Sys.monotonicNanos() + Int64(timeoutSeconds * 1e9)
        try data.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            var off = 0
            while off < p.count {
                let n = Glibc.write(writeFD, p.baseAddress! + off, p.count - off)
                if n >= 0 { off += n; continue }
                let e = errno
                if Sys.interrupted(e) { continue }
                guard e == EAGAIN else { throw RuntimeError.system(call: "write", errno: e, path: nil) }
                let left = deadline - Sys.monotonicNanos()
                guard left > 0 else { throw RuntimeError.protocolError("the peer read nothing for \(timeoutSeconds) s") }
                var pfd = pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, Int32(min(left / 1_000_000 + 1, 1_000_000)))
            }
        }
    }

    /// The next JSON line. - Throws: on timeout, EOF (the peer died) or bad JSON.
    public func receive(timeoutSeconds: Double = 60) throws -> [String: Any] {
        let deadline = Sys.monotonicNanos() + Int64(timeoutSeconds * 1e9)
        while true {
            if let nl = buffer[scanned...].firstIndex(of: 10) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                scanned = 0
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw RuntimeError.protocolError("expected a JSON object, got: \(String(decoding: line.prefix(200), as: UTF8.self))")
                }
                return obj
            }
            scanned = buffer.count
            let left = deadline - Sys.monotonicNanos()
            guard left > 0 else { throw RuntimeError.timeout("no reply within \(timeoutSeconds) s") }
            var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, Int32(min(left / 1_000_000 + 1, 1_000_000)))
            if r < 0 { if Sys.interrupted(errno) { continue }; throw RuntimeError.system(call: "poll", errno: errno, path: nil) }
            if r == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(readFD, $0.baseAddress, 65536) }
            if n < 0 { if Sys.interrupted(errno) || errno == EAGAIN { continue }; throw RuntimeError.system(call: "read", errno: errno, path: nil) }
            if n == 0 { throw RuntimeError.protocolError("the peer closed the connection (process died?)") }
            if buffer.count + n > maxLineBytes {
                buffer.removeAll(); scanned = 0
                throw RuntimeError.protocolError("reply larger than \(maxLineBytes >> 20) MB (the limit on one reply)")
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}

/// A set of pids behind a lock.
public final class PidSet: @unchecked Sendable {
    private let lock = NSLock()
    private var pids = Set<Int32>()
    public func withLock<T>(_ body: (inout Set<Int32>) throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body(&pids)
    }
}
