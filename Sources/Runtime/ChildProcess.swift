import Foundation
import CSys

/// A program started by this process with posix_spawn and reaped by this process.
///
/// Not Foundation's `Process`: Foundation learns of an exit only when every holder of a descriptor the
/// child inherited has closed it, then reaps with a *blocking* waitpid on its one manager thread. A zygote's
/// descendants keep such a descriptor; and once any other code had reaped a pid (as killing a cgroup's
/// processes must) and the pid was reused, that manager thread blocked on the new process and every later
/// wait in the program waited for ever. Here each child's exit is awaited by the caller with a pidfd,
/// bounded, and reaped exactly once.
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: Int32
    /// Exit code, or 128 + the signal that ended it; nil while it runs.
    public private(set) var status: Int32?
    private let reapsItself: Bool

    /// Starts `executable` (a path) with `arguments`. Descriptors `stdin`, `stdout`, `stderr` become its
    /// 0, 1, 2 (-1: /dev/null); nothing else is inherited. `environment` replaces the inherited one.
    /// - Parameter awaited: the caller will `wait` for it (its status matters), so `Sys.reapZombieChildren`
    ///   leaves it alone; otherwise that reaper takes it once it has exited.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1, currentDirectory: String? = nil,
                awaited: Bool = true) throws {
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        // Registered in the same critical section as the spawn, so the reaper can never see it unregistered.
        let r: Int32 = Sys.children.withLock { awaitedPids in
            let r = pipsqueak_spawn(executable, argv, envp, stdin, stdout, stderr, currentDirectory, &pid)
            if r == 0 && awaited { awaitedPids.insert(pid) }
            return r
        }
        guard r == 0 else { throw RuntimeError.system(call: "posix_spawn", errno: r, path: executable) }
        self.pid = pid
        self.reapsItself = awaited
    }

    /// Waits up to `timeoutSeconds` (nil: no limit) for it to exit, and reaps it. Returns whether it exited.
    @discardableResult
    public func wait(timeoutSeconds: Double? = nil) -> Bool {
        if status != nil { return true }
        let ms = timeoutSeconds.map { Int32(max(0, min($0 * 1000, 2e9))) } ?? -1
        if pipsqueak_wait_exit(pid, ms) == 0 { return false }
        if case .exited(let code) = Sys.collect(pid, block: true) { status = code } else { status = -1 } // -1: reaped elsewhere
        if reapsItself { _ = Sys.children.withLock { $0.remove(pid) } }
        return true
    }

    /// Whether it has not exited yet (does not reap).
    public var isRunning: Bool { status == nil && pipsqueak_wait_exit(pid, 0) == 0 }

    /// Sends `signal` unless it has already been reaped (its pid may then belong to another process).
    public func signal(_ signal: Int32) { if status == nil { Sys.kill(pid, signal) } }
}

/// Runs a program to completion and captures what it printed, timing it with the monotonic clock.
/// Used for helper programs (pip, Python measurement scripts); the runtime's own containers are made by
/// the sandbox code, not here.
public struct ChildProcess {
    public struct Result: Sendable {
        /// Exit code, or 128 + the signal that ended it.
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Wall time from launch to exit, ns (monotonic).
        public var elapsedNanos: Int64
        public var timedOut: Bool
        public var succeeded: Bool { status == 0 && !timedOut }
        /// The last non-empty line of stderr (pip and Python put the reason there), for error messages.
        public var lastErrorLine: String {
            stderr.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }).map(String.init) ?? "exit status \(status)"
        }
    }

    /// Runs `executable` (a path) with `arguments`. `environment` replaces the inherited one when given.
    /// - Parameter timeoutSeconds: the child is killed (SIGKILL) after this long.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           currentDirectory: String? = nil, timeoutSeconds: Double = 600) throws -> Result {
        // Output goes to files, not pipes: a child that prints much cannot block on a full pipe meanwhile.
        let dir = FileManager.default.temporaryDirectory
        // Named with this process's id: if it is killed before the `defer` below, `pipsqueak cleanup` knows
        // whose they were.
        let outURL = dir.appendingPathComponent("pipsqueak-out-\(Sys.pid)-\(UUID().uuidString)")
        let errURL = dir.appendingPathComponent("pipsqueak-err-\(Sys.pid)-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        let start = DispatchTime.now().uptimeNanoseconds
        let p = try SpawnedProcess(executable, arguments, environment: environment, stdout: out.fileDescriptor,
                                   stderr: err.fileDescriptor, currentDirectory: currentDirectory)
        var timedOut = false
        if !p.wait(timeoutSeconds: timeoutSeconds) {
            timedOut = true
            p.signal(SIGKILL)
            p.wait(timeoutSeconds: 30)
        }
        let elapsed = Int64(DispatchTime.now().uptimeNanoseconds - start)
        return Result(status: p.status ?? -1,
                      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                      elapsedNanos: elapsed, timedOut: timedOut)
    }
}
