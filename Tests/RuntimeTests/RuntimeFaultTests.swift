import XCTest
import CachePolicy
import Workload
@testable import Runtime

/// The runtime's own parts failing: a paused container whose process died, a full disk during an install,
/// a broken wheel, a cgroup that cannot be created. Each gives the request a clear error; the worker goes
/// on serving, and nothing is left behind.
final class RuntimeFaultTests: XCTestCase {
    func testAPausedContainerWhoseProcessDiedGivesAClearError() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"])])
        let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets["hs"]!)
        defer { w.shutdown() }
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 1, startNanos: 1).error, "")
        let c = try XCTUnwrap(w.containers[try XCTUnwrap(w.containerIDs.first)])
        // SIGKILL while frozen: the kill lands when the freezer lets go. Let it land and the process be gone
        // before the request, so the worker writes to a dead peer every time (once, in CI, that write's
        // SIGPIPE killed the whole test process; now it must be an EPIPE error).
        for p in c.cgroup.pids() { Sys.kill(p, SIGKILL) }
        try c.cgroup.thaw()
        for _ in 0..<2000 where !c.cgroup.isEmpty { Sys.sleep(micros: 1000) }
        try c.cgroup.freeze()
        let r = w.serve(handler: 0, arrivalNanos: 2, startNanos: 2)
        XCTAssertEqual(r.tier, .handler)
        XCTAssert(r.error.contains("died while it was paused") || r.error.contains("closed the connection"), r.error)
        XCTAssertEqual(w.containerIDs, [], "the dead container left the handler cache")
        try w.planner.checkInvariants()
        let again = w.serve(handler: 0, arrivalNanos: 3, startNanos: 3)
        XCTAssertEqual(again.error, ""); XCTAssertEqual(again.tier, .cold)
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// The install cache lives on a 4 MB tmpfs: a 3 MB wheel is staged there, and installing it needs 3 MB more. The install fails with the
    /// disk's error, the package leaves the install cache, and small packages still install and run.
    func testAFullDiskAndABrokenWheelFailTheirRequestsOnly() throws {
        try RuntimeFixture.requireRuntime()
        var noise = ""
        var g = SystemRandomNumberGenerator()
        for _ in 0..<(3 << 20) / 16 { noise += String(format: "%016llx", g.next() as UInt64) }
        let fx = try RuntimeFixture(extra: [("big", "DATA = '\(noise)'\n")])
        // A wheel that is not a zip at all.
        let packages = try fx.withBrokenPackage()
        let small = fx.dir + "/small-disk"
        try Sys.mkdirs(small)
        do { try Sys.mountTmpfs(small, megabytes: 4) } catch { throw XCTSkip("cannot mount a tmpfs here: \(error)") }
        defer { Sys.unmount(small) }
        let handlers = HandlerTable([Handler(id: "big", customer: "x", packages: ["big"]), Handler(id: "ok", customer: "y", packages: ["fast"]),
                                     Handler(id: "broken", customer: "z", packages: ["broken"])])
        let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets["all"]!, packages: packages) { $0.packageDirectory = small }
        defer { w.shutdown() }
        let catalog = w.planner.catalog
        let full = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
        XCTAssert(full.error.contains("No space left on device"), full.error)
        XCTAssertFalse(w.planner.installCache!.isInstalled(catalog.id(of: "big")!), "a failed install leaves the install cache")
        try w.planner.checkInvariants()
        XCTAssertEqual(w.serve(handler: 1, arrivalNanos: 2, startNanos: 2).error, "", "a small package still fits")
        let broken = w.serve(handler: 2, arrivalNanos: 3, startNanos: 3)
        XCTAssert(broken.error.contains("pip install of broken 1.0 failed"), broken.error)
        XCTAssertFalse(w.planner.installCache!.isInstalled(catalog.id(of: "broken")!))
        // The failed package is tried again (and fails again) on its next request: no stale belief.
        XCTAssert(w.serve(handler: 0, arrivalNanos: 4, startNanos: 4).error.contains("No space left on device"))
        XCTAssertEqual(w.serve(handler: 1, arrivalNanos: 5, startNanos: 5).error, "")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// Groups with the names the worker will use next already exist (made by someone else): creation
    /// fails with a clear error, the worker never adopts or removes them, and it goes on with new names.
    func testACgroupThatCannotBeCreatedFailsOneRequestAndIsNotAdopted() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"])])
        let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets["none"]!)
        defer { w.shutdown() }
        // The pool holds c1 and c2; squat on c3…c12 in one hierarchy (each refill that fails uses up a name).
        let cg = w.cgroups
        let squatted = (3...12).map { cg.group("\(w.runID)-c\($0)").dirs[0] }
        for d in squatted { try Sys.mkdir(d) }
        defer { for d in squatted { try? Sys.rmdir(d) } }
        var errors: [String] = []
        for i in 1...8 {
            let r = w.serve(handler: 0, arrivalNanos: Int64(i), startNanos: Int64(i))
            if !r.error.isEmpty { errors.append(r.error) }
        }
        XCTAssertFalse(errors.isEmpty, "a request met the squatted names")
        for e in errors { XCTAssert(e.contains("cannot create cgroup") && e.contains("File exists"), e) }
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 9, startNanos: 9).error, "", "the worker goes on with fresh names")
        for d in squatted { XCTAssert(Sys.exists(d), "a group the worker did not create is left alone: \(d)") }
        // Nothing was half-made: no other hierarchy has the squatted names.
        for n in 3...12 { for d in cg.group("\(w.runID)-c\(n)").dirs.dropFirst() { XCTAssertFalse(Sys.exists(d), d) } }
        w.shutdown()
        for d in squatted { try Sys.rmdir(d) }
        try RuntimeFixture.assertNothingLeft(w)
    }
}
