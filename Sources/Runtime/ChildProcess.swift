import Foundation

/// Runs a program to completion and captures what it printed, timing it with the monotonic clock.
/// Used for helper programs (pip, Python measurement scripts); the runtime's own containers are made by
/// the sandbox code, not here.
public struct ChildProcess {
    public struct Result: Sendable {
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

    /// Runs `executable` with `arguments`. `environment` replaces the inherited one when given.
    /// - Parameter timeoutSeconds: the child is killed (SIGKILL) after this long.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           currentDirectory: String? = nil, timeoutSeconds: Double = 600) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let e = environment { p.environment = e }
        if let d = currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: d) }
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("pipsqueak-out-\(UUID().uuidString)")
        let errURL = dir.appendingPathComponent("pipsqueak-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let start = DispatchTime.now().uptimeNanoseconds
        try p.run()
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        var timedOut = false
        if done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            timedOut = true
            Sys.kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        p.waitUntilExit()
        let elapsed = Int64(DispatchTime.now().uptimeNanoseconds - start)
        try? out.close(); try? err.close()
        return Result(status: p.terminationStatus,
                      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                      elapsedNanos: elapsed, timedOut: timedOut)
    }
}
