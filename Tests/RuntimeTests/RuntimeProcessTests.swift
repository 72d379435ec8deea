import XCTest
import Foundation
@testable import Runtime

/// How the runtime starts, waits for and reaps its helper processes. A run once hung for ever in CI: a
/// cgroup kill reaped a child that Foundation's `Process` still meant to reap, the pid was reused, and
/// Foundation's one manager thread blocked in waitpid on the stranger, so no later exit was ever seen.
/// These tests force that pid reuse and check that every waiter still gets its own child's status.
final class RuntimeProcessTests: XCTestCase {
    /// The mounts under a path are the path itself and those below it, deepest first; a sibling that only
    /// shares the prefix (another container's root, `root-10` for `root-1`) is never among them, so removing
    /// one root never detaches another's mounts. With a trailing slash, only those below.
    func testMountsUnderAPathNeverIncludeASiblingSharingItsPrefix() {
        let table = """
        proc /proc proc rw 0 0
        tmpfs /s/root-1 tmpfs rw 0 0
        /dev/sda1 /s/root-1/usr ext4 ro 0 0
        tmpfs /s/root-1/tmp/a\\040b tmpfs rw 0 0
        tmpfs /s/root-10 tmpfs rw 0 0
        /dev/sda1 /s/root-10/usr ext4 ro 0 0
        """
        XCTAssertEqual(Sys.mounts(in: table, under: "/s/root-1"), ["/s/root-1/tmp/a b", "/s/root-1/usr", "/s/root-1"])
        XCTAssertEqual(Sys.mounts(in: table, under: "/s/root-1/"), ["/s/root-1/tmp/a b", "/s/root-1/usr"])
        XCTAssertEqual(Sys.mounts(in: table, under: "/s/root-10"), ["/s/root-10/usr", "/s/root-10"])
        XCTAssertEqual(Sys.mounts(in: table, under: "/s/root"), [])
    }

    func testExitStatusesTimeoutsAndSignalsAreReported() throws {
        XCTAssertEqual(try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 7"]).status, 7)
        let r = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2"])
        XCTAssertEqual(r.stdout, "out\n")
        XCTAssertEqual(r.stderr, "err\n")
        XCTAssertTrue(r.succeeded)
        let slow = try ChildProcess.run("/bin/sleep", ["30"], timeoutSeconds: 0.2)
        XCTAssertTrue(slow.timedOut)
        XCTAssertEqual(slow.status, 128 + SIGKILL)
        // Nothing but 0, 1 and 2 is inherited.
        let fds = try ChildProcess.run("/bin/ls", ["/proc/self/fd"]).stdout.split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(fds.filter { $0 > 3 }, [], "only stdio (and ls's own directory descriptor)")
        XCTAssertThrowsError(try ChildProcess.run("/no/such/program", []))
    }

    /// A child someone awaits keeps its status even when the zombie reaper runs and its pid is a reused one.
    func testAnAwaitedChildIsNeverReapedByTheReaperEvenOnAReusedPid() throws {
        // A child nobody awaits exits and is reaped by the reaper.
        let loose = try SpawnedProcess("/bin/true", [], awaited: false)
        let deadline = Date().addingTimeInterval(10)
        while Sys.state(of: loose.pid) != "Z" && Date() < deadline { usleep(1000) }
        XCTAssertGreaterThanOrEqual(Sys.reapZombieChildren(), 1)
        XCTAssertNil(Sys.state(of: loose.pid), "reaped")
        // Its pid again, for a child that is awaited (when this process may set the next pid).
        var awaited = try SpawnedProcess("/bin/sh", ["-c", "exit 7"])
        if geteuid() == 0 {
            for _ in 0..<50 where awaited.pid != loose.pid {
                awaited.wait()
                try? "\(loose.pid - 1)".write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8)
                awaited = try SpawnedProcess("/bin/sh", ["-c", "sleep 0.2; exit 7"])
            }
        }
        print("RuntimeProcessTests: the awaited child has pid \(awaited.pid); the reaped one had \(loose.pid)")
        // The reaper runs while it lives and after it exits: it must leave it to its waiter.
        let end = Date().addingTimeInterval(1)
        while Date() < end { Sys.reapZombieChildren(); usleep(2000) }
        XCTAssertTrue(awaited.wait(timeoutSeconds: 30))
        XCTAssertEqual(awaited.status, 7, "the waiter got its child's own status (pid \(awaited.pid), reused: \(awaited.pid == loose.pid))")
        XCTAssertFalse(awaited.isRunning)
        // And a helper still completes at once afterwards.
        XCTAssertTrue(try ChildProcess.run("/bin/true", [], timeoutSeconds: 30).succeeded)
    }

    /// A server that accepts nothing: connecting fails within its bound instead of blocking for ever.
    func testConnectingToAServerThatNeverAcceptsFailsWithinItsBound() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-connect-\(getpid())"
        try Sys.mkdirs(dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.sock"
        let srv = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { Sys.close(srv) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(srv, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(srv, 0), 0)
        var open: [Int32] = []
        defer { open.forEach(Sys.close) }
        var refused: Error?
        for _ in 0..<64 {
            do { open.append(try Sys.connectUnix(path, timeoutSeconds: 0.3)) } catch { refused = error; break }
        }
        let e = try XCTUnwrap(refused, "the backlog filled and a connect was refused")
        XCTAssertTrue("\(e)".contains("accepts no connection"), "\(e)")
    }
}
