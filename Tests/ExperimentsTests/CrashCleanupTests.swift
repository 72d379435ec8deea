import XCTest
import TestSupport
import CachePolicy
import Foundation
import Runtime
import Workload
@testable import Experiments

/// The runtime killed with SIGKILL mid-run leaves processes, cgroups and directories; `cleanup` removes
/// them all and the next run starts clean.
final class CrashCleanupTests: XCTestCase {
    func testCleanupAfterSIGKILL() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let pipsqueak = try PipsqueakBinary()
        let dir = "/tmp/pipsqueak-crash-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheelhouse = dir + "/wheelhouse"
        try TinyWheels.make(in: dir, [("tiny", "V = 1\n", 1)])
        let (hs, body) = try TraceGenerator.microbenchmark(package: "tiny", handlers: 20, rate: 20, seconds: 60, seed: 1)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])

        func run(_ extra: [String]) throws -> SpawnedProcess {
            try pipsqueak.start(["run", "--trace", dir + "/t.csv", "--preset", "all", "--packages", dir + "/packages.csv",
                                 "--wheelhouse", wheelhouse] + extra)
        }
        let cg = try Cgroups.detect()
        let victim = try run([])
        let prefix = "run\(victim.pid)w"
        // Wait until it has containers (frozen ones included), then kill it outright.
        let seen = pipsqueak.kill(victim, when: { cg.leftovers().filter { $0.hasPrefix(prefix) && $0.contains("-c") }.count >= 3 },
                                  seconds: 6)
        XCTAssert(seen, "the run started containers")
        XCTAssertFalse(cg.leftovers().filter { $0.hasPrefix(prefix) }.isEmpty, "a killed run leaves cgroups behind")
        XCTAssert(cg.leftovers().contains(Cgroups.selfGroupName(pid: victim.pid)), "and its process's own CPU group")

        let removed = try CleanupJob.run()
        XCTAssert(removed.contains { $0.contains(prefix) }, "\(removed)")
        XCTAssertEqual(cg.leftovers(), [])
        XCTAssertEqual(Sys.mounts(under: "/run/pipsqueak"), [])
        XCTAssertFalse(Sys.exists("/run/pipsqueak/run\(victim.pid)"))
        var survivors: [String] = []
        for e in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(e), Sys.isAlive(pid) else { continue }
            if let cmd = try? Sys.readFile("/proc/\(pid)/cmdline"), cmd.contains("run\(victim.pid)/") { survivors.append(e) }
        }
        XCTAssertEqual(survivors, [], "no process of the killed run survives cleanup")

        // The next run starts clean and ends clean.
        let next = try run(["--limit", "5", "--speed", "20"])
        XCTAssertEqual(pipsqueak.finish(next), 0)
        XCTAssertEqual(cg.leftovers(), [])
    }

    /// A worker's own process's CPU group (`worker-<pid>`) is never killed, not even with --force (it holds
    /// the worker itself); once its process is gone, cleanup removes it.
    func testCleanupNeverKillsAWorkersOwnProcess() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        let cg: Cgroups
        do { cg = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        try cg.ensureParent()
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try sleeper.run()
        let pid = sleeper.processIdentifier
        defer { if sleeper.isRunning { sleeper.terminate() } }
        let dir = cg.selfGroupDir(pid: pid)
        try Sys.mkdir(dir)
        try Sys.writeFile(dir + "/cgroup.procs", String(pid))
        let name = Cgroups.selfGroupName(pid: pid)
        let done = try CleanupJob.run(force: true, owner: pid)
        XCTAssert(done.contains { $0.hasPrefix("left alone cgroup pipsqueak/\(name)") }, "\(done)")
        XCTAssert(sleeper.isRunning, "the worker's own process lives")
        XCTAssert(cg.leftovers().contains(name))
        sleeper.terminate()
        sleeper.waitUntilExit()
        let after = try CleanupJob.run(owner: pid)
        XCTAssert(after.contains("removed cgroup pipsqueak/\(name)"), "\(after)")
        XCTAssertFalse(cg.leftovers().contains(name))
        if cg.leftovers().isEmpty { cg.removeParent() }
    }

    /// A process killed while a child process ran leaves that child's output files (and `calibrate` its
    /// workbench) in the temporary directory: `cleanup` removes those of processes that are gone, and never a
    /// live process's (this one's included) nor a name it cannot read a pid from.
    func testCleanupRemovesTheTemporaryFilesOfProcessesThatAreGone() throws {
        XCTAssertEqual(CleanupJob.temporaryOwner(of: "pipsqueak-out-123-0A95462D"), 123)
        XCTAssertEqual(CleanupJob.temporaryOwner(of: "pipsqueak-calibrate-77"), 77)
        XCTAssertEqual(CleanupJob.temporaryOwner(of: "pipsqueak-reproduce-real-2773"), 2773)
        XCTAssertEqual(CleanupJob.temporaryOwner(of: "pipsqueak-reproduce-13173"), 13173)
        XCTAssertNil(CleanupJob.temporaryOwner(of: "pipsqueak-out-03AB4FA1-B7FF"), "a UUID's first group is no pid")
        XCTAssertNil(CleanupJob.temporaryOwner(of: "pipsqueak-notebook-test-8H76wk"))
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let gone = exited.processIdentifier, tag = UUID().uuidString
        let tmp = FileManager.default.temporaryDirectory.path
        let removed = ["pipsqueak-out-\(gone)-\(tag)", "pipsqueak-err-\(gone)-\(tag)", "pipsqueak-calibrate-\(gone)", "pipsqueak-reproduce-real-\(gone)"]
        let kept = ["pipsqueak-out-1-\(tag)", "pipsqueak-err-\(Sys.pid)-\(tag)", "pipsqueak-out-0A\(tag)"]
        for n in removed + kept { XCTAssert(FileManager.default.createFile(atPath: tmp + "/" + n, contents: Data("x".utf8)), n) }
        try? FileManager.default.removeItem(atPath: tmp + "/" + removed[2])
        try FileManager.default.createDirectory(atPath: tmp + "/" + removed[2] + "/wheelhouse", withIntermediateDirectories: true)
        defer { for n in removed + kept { try? FileManager.default.removeItem(atPath: tmp + "/" + n) } }
        let dry = try CleanupJob.run(dryRun: true, owner: gone)
        for n in removed { XCTAssert(dry.contains("would remove \(tmp)/\(n)"), "\(n): \(dry)") }
        XCTAssert(removed.allSatisfy { FileManager.default.fileExists(atPath: tmp + "/" + $0) }, "a dry run removes nothing")
        let done = try CleanupJob.run()
        for n in removed {
            XCTAssert(done.contains("removed \(tmp)/\(n)"), "\(n): \(done)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/" + n), n)
        }
        for n in kept { XCTAssert(FileManager.default.fileExists(atPath: tmp + "/" + n), "\(n) was removed") }
    }

    /// A killed calibration leaves its containers' views mounted in its workbench (read-only binds of /usr and
    /// the interpreter, devices): `cleanup` detaches them before it removes the directory, never removes through
    /// a mount (the mount's source keeps its files), and says removed only when it was.
    func testCleanupDetachesTheMountsInAGoneProcesssWorkbenchBeforeRemovingIt() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting needs root") }
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let gone = exited.processIdentifier
        let bench = "/tmp/pipsqueak-calibrate-\(gone)", source = NSTemporaryDirectory() + "cleanup-source-\(UUID().uuidString)"
        let view = bench + "/state/run\(gone)w1/roots/base/usr"
        try FileManager.default.createDirectory(atPath: view, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        XCTAssert(FileManager.default.createFile(atPath: source + "/kept", contents: Data("x".utf8)))
        defer { Sys.unmount(view); try? FileManager.default.removeItem(atPath: bench); try? FileManager.default.removeItem(atPath: source) }
        try Sys.bindMount(source, view, writable: false)
        XCTAssertEqual(Sys.mounts(under: bench + "/"), [view])
        let dry = try CleanupJob.run(dryRun: true, owner: gone)
        XCTAssert(dry.contains("would remove mount \(view)") && dry.contains("would remove \(bench)"), "\(dry)")
        let done = try CleanupJob.run(owner: gone)
        XCTAssert(done.contains("removed mount \(view)") && done.contains("removed \(bench)"), "\(done)")
        XCTAssertEqual(Sys.mounts(under: bench + "/"), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: bench))
        XCTAssert(FileManager.default.fileExists(atPath: source + "/kept"), "removed through the mount")
    }
}
