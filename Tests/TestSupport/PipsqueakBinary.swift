import XCTest
import Foundation
import Runtime

/// The built `pipsqueak` command, started as its own process from the project root (tests that kill it
/// with SIGKILL need a real process, not the job in this one).
public struct PipsqueakBinary {
    public let root: URL
    public let path: String

    /// Skips the test when the debug build of the command is missing.
    public init() throws {
        root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() // Tests/TestSupport/ → the project
        path = root.appendingPathComponent(".build/debug/pipsqueak").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("\(path) is not built") }
    }

    /// Runs `pipsqueak ARGS` to its end (from `directory`, default the project root); returns its status and output.
    public func run(_ arguments: [String], in directory: String? = nil, seconds: Double = 600) throws -> ChildProcess.Result {
        try ChildProcess.run(path, arguments, currentDirectory: directory ?? root.path, timeoutSeconds: seconds)
    }

    /// Starts `pipsqueak ARGS` with its output discarded.
    public func start(_ arguments: [String]) throws -> SpawnedProcess {
        try SpawnedProcess(path, arguments, currentDirectory: root.path)
    }

    /// Waits (up to `seconds`, then fails the test) for `process` to end; returns its exit status.
    public func finish(_ process: SpawnedProcess, seconds: Double = 600, file: StaticString = #filePath, line: UInt = #line) -> Int32? {
        if !process.wait(timeoutSeconds: seconds) {
            XCTFail("pipsqueak \(process.pid) still runs after \(seconds) s", file: file, line: line)
            process.signal(SIGKILL)
            process.wait(timeoutSeconds: 30)
        }
        return process.status
    }

    /// Waits (up to `seconds`) until `ready()` holds or `process` has ended, then kills it with SIGKILL and
    /// reaps it. Returns whether `ready()` held.
    @discardableResult
    public func kill(_ process: SpawnedProcess, when ready: () -> Bool, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var held = false
        while Date() < deadline {
            held = ready()
            if held || !process.isRunning { break }
            usleep(5_000)
        }
        process.signal(SIGKILL)
        process.wait(timeoutSeconds: 30)
        return held
    }
}
