import XCTest
import Foundation

/// The built `pipsqueak` command, started as its own process from the project root (tests that kill it
/// with SIGKILL need a real process, not the job in this one).
struct PipsqueakBinary {
    let root: URL
    let path: String

    /// Skips the test when the debug build of the command is missing.
    init() throws {
        root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        path = root.appendingPathComponent(".build/debug/pipsqueak").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("\(path) is not built") }
    }

    /// Starts `pipsqueak ARGS` with its output discarded.
    func start(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        p.currentDirectoryURL = root
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits (up to `seconds`) until `ready()` holds or `process` has ended, then kills it with SIGKILL and
    /// reaps it. Returns whether `ready()` held.
    @discardableResult
    func kill(_ process: Process, when ready: () -> Bool, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var held = false
        while Date() < deadline {
            held = ready()
            if held || !process.isRunning { break }
            usleep(5_000)
        }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return held
    }
}
