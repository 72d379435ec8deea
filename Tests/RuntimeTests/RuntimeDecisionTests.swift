import XCTest
import CachePolicy
import Workload
@testable import Runtime

/// Every failure the runtime meets goes to the planner, which decides what happens; the decision log says
/// so. (Before the lifecycle redesign, the runtime handled these four on its own.)
final class RuntimeDecisionTests: XCTestCase {
    /// A container the planner kept in the handler cache cannot be frozen: the planner hears of it and
    /// drops it (it is destroyed); the next request of its handler is not a handler hit.
    func testAFailedFreezeIsReportedAndThePlannerDropsTheContainer() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"])])
        let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets["h"]!)
        defer { w.shutdown() }
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        w.faults.failNextFreeze = true
        let first = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
        XCTAssertEqual(first.error, "", "the request itself was served")
        XCTAssert(log.contains { $0.hasPrefix("idle ") && $0.contains(" pause ") }, "the planner kept it: \(log)")
        XCTAssert(log.contains { $0.hasPrefix("pausefail ") && $0.contains("evict=c") }, "the planner's answer is in the log: \(log)")
        XCTAssertEqual(w.containerIDs, [], "the container it could not pause is gone")
        XCTAssertEqual(w.planner.handlerCache!.count, 0)
        try w.planner.checkInvariants()
        let second = w.serve(handler: 0, arrivalNanos: 2, startNanos: 2)
        XCTAssertEqual(second.error, ""); XCTAssertEqual(second.tier, .cold, "nothing paused to thaw")
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 3, startNanos: 3).tier, .handler, "freezing works again")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// A zygote the planner asked for needs a package whose install just failed: the runtime installs only
    /// what plans list, so the build fails and the planner hears of it (nothing blamed for import); before,
    /// the runtime quietly installed the package itself, privately.
    func testAZygoteWhosePackageFailedToInstallFailsThroughThePlanner() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let packages = try fx.withBrokenPackage()
        let handlers = HandlerTable([Handler(id: "b", customer: "x", packages: ["broken"])])
        var config = PolicyConfig.presets["all"]!
        config.importCache.threshold = 1 // the first miss asks for a zygote holding broken
        let w = try fx.worker(handlers: handlers, config: config, packages: packages)
        defer { w.shutdown() }
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        let r = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
        XCTAssert(r.error.contains("pip install of broken 1.0 failed"), r.error)
        let plan = try XCTUnwrap(log.first { $0.hasPrefix("plan ") })
        XCTAssert(plan.contains("install=broken") && plan.contains("create=z1<z0:broken"), plan)
        XCTAssert(log.contains { $0.hasPrefix("installfail ") && $0.contains("p=broken") }, "\(log)")
        let failed = try XCTUnwrap(log.first { $0.hasPrefix("failed ") }, "the zygote's failed build is the planner's: \(log)")
        XCTAssert(failed.contains("z=1") && failed.contains("unimportable=-"), "an install failure blames no import: \(failed)")
        let broken = w.packages[Int(w.planner.catalog.id(of: "broken")!)]
        XCTAssertFalse(Sys.exists(w.store.privateDirectory(broken, owner: "z1")), "the runtime installed nothing the plan did not list")
        XCTAssertNil(w.planner.importCache![1])
        try w.planner.checkInvariants()
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// A request planned while another request's plan is still installing the packages before one it counts
    /// on waits for that install: the install is reserved when it is planned, not when its turn comes (the
    /// fidelity campaign's mixed and Azure runs lost requests to "No module named ..." before). Request 1
    /// installs fast (a sandboxed pip, hundreds of ms) then slow; request 2, planned meanwhile, needs slow,
    /// which the planner counts as installed.
    func testARequestWaitsForAnInstallAnEarlierPlanHasNotBegun() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "both", customer: "x", packages: ["fast", "slow"]),
                                     Handler(id: "slow", customer: "y", packages: ["slow"])])
        var config = PolicyConfig.presets["all"]!
        config.importCache.enabled = false; config.handlerCache.enabled = false
        let w = try fx.worker(handlers: handlers, config: config)
        defer { w.shutdown() }
        var log: [String] = []
        let logLock = NSLock()
        w.lifecycle.onDecision = { d in logLock.withLock { log.append(d) } }
        let fast = try XCTUnwrap(w.planner.catalog.id(of: "fast")), slow = try XCTUnwrap(w.planner.catalog.id(of: "slow"))
        final class Box: @unchecked Sendable { var record: RequestRecord? }
        let first = Box()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { first.record = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1); done.signal() }
        // Request 1 has its plan and is installing fast: slow's install has not begun.
        var waited = 0
        while !w.locked({ w.installing[fast] != nil }) && waited < 10_000 { Sys.sleep(micros: 1000); waited += 1 }
        XCTAssert(w.locked { w.installing[fast] != nil }, "request 1 never began installing")
        let second = w.serve(handler: 1, arrivalNanos: 2, startNanos: 2)
        done.wait()
        XCTAssertEqual(first.record?.error, "")
        XCTAssertEqual(second.error, "", "request 2 waited for slow's install instead of finding it missing")
        XCTAssertEqual(second.downloadNanos, 0, "request 2 installed nothing itself")
        XCTAssertGreaterThan(second.installNanos, 0, "its wait for request 1's install is install time")
        let plans = logLock.withLock { log.filter { $0.hasPrefix("plan ") } }
        XCTAssertEqual(plans.count, 2)
        XCTAssert(plans[0].contains("install=fast;slow"), plans[0])
        XCTAssert(plans[1].contains("install=-"), "the planner counted slow as installed: \(plans[1])")
        XCTAssertTrue(w.locked { w.installing.isEmpty }, "no reservation is left")
        XCTAssertTrue(Sys.exists(w.store.directory(w.packages[Int(slow)])))
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// A plan's reserved installs that it never carries out (an install before them failed) are released:
    /// whoever waits on them hears so instead of waiting forever.
    func testReservationsAPlanDidNotCarryOutAreReleased() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let packages = try fx.withBrokenPackage()
        let handlers = HandlerTable([Handler(id: "b", customer: "x", packages: ["broken", "slow"])])
        var config = PolicyConfig.presets["all"]!
        config.importCache.enabled = false
        let w = try fx.worker(handlers: handlers, config: config, packages: packages)
        defer { w.shutdown() }
        let r = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
        XCTAssert(r.error.contains("pip install of broken 1.0 failed"), r.error)
        XCTAssertTrue(w.locked { w.installing.isEmpty }, "slow's reservation went with the failed request")
        let again = w.serve(handler: 0, arrivalNanos: 2, startNanos: 2)
        XCTAssertNotEqual(again.error, "", "broken still cannot be installed")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// Where a process finds its packages is the plan's: without an install cache every install is the
    /// container's own copy; with one, the shared copy. Both serve (the paths are right).
    func testPackagePathsFollowThePlan() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"])])
        for preset in ["hm", "all"] {
            let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets[preset]!)
            defer { w.shutdown() }
            var log: [String] = []
            w.lifecycle.onDecision = { log.append($0) }
            let fast = w.planner.catalog.id(of: "fast")!
            let (r, _) = w.serveWithReply(handler: 0, arrivalNanos: 1, startNanos: 1)
            XCTAssertEqual(r.error, "", preset)
            let plan = try XCTUnwrap(log.first { $0.hasPrefix("plan ") })
            let privateCopy = w.store.privateDirectory(w.packages[Int(fast)], owner: "c1")
            if preset == "hm" {
                XCTAssert(plan.contains("install=fast cached=-"), plan)
                XCTAssertEqual(w.packagePath(fast, plan: StartPlan(request: 1, handler: 0, nowNanos: 1, tier: .cold, container: 1, zygote: nil,
                                                                   install: [fast], installCached: [], imports: [fast], evictions: [], createZygotes: [])),
                               privateCopy)
            } else {
                XCTAssert(plan.contains("install=fast cached=fast"), plan)
                XCTAssertEqual(w.packagePath(fast, plan: StartPlan(request: 1, handler: 0, nowNanos: 1, tier: .cold, container: 1, zygote: nil,
                                                                   install: [fast], installCached: [fast], imports: [fast], evictions: [], createZygotes: [])),
                               w.store.directory(w.packages[Int(fast)]))
            }
            w.shutdown()
            try RuntimeFixture.assertNothingLeft(w)
        }
    }

    /// The root zygote dies and its rebuild fails: the planner hears of it, requests go cold meanwhile,
    /// and the next plan asks for the root again (before, the failed rebuild was dropped silently and the
    /// planner went on forking from a root that did not exist).
    func testAFailedRootRebuildIsThePlannersToRetry() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"])])
        var config = PolicyConfig.presets["all"]!
        config.handlerCache.enabled = false
        config.importCache.threshold = 1000 // no child zygotes: every start forks from the root
        let w = try fx.worker(handlers: handlers, config: config)
        defer { w.shutdown() }
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 1, startNanos: 1).tier, .import)
        let root = try XCTUnwrap(w.zygotes[0]?.pid)
        Sys.kill(root, SIGKILL)
        for _ in 0..<2000 where !(w.zygotes[0]!.cgroup.isEmpty) { Sys.sleep(micros: 1000) }
        w.faults.failZygoteBuilds = 1
        let lost = w.serve(handler: 0, arrivalNanos: 2, startNanos: 2)
        XCTAssert(lost.error.contains("zygote z0 is gone"), lost.error)
        XCTAssert(log.contains { $0.hasPrefix("lost ") && $0.contains("z=0") && $0.contains("rebuild=z0") }, "\(log)")
        XCTAssert(log.contains { $0.hasPrefix("failed ") && $0.contains("z=0") && $0.contains("rebuild=-") }, "the failed rebuild is reported: \(log)")
        XCTAssertNil(w.planner.importCache![0])
        XCTAssertEqual(w.zygoteCount, 0)
        let retry = w.serve(handler: 0, arrivalNanos: 3, startNanos: 3)
        XCTAssertEqual(retry.error, ""); XCTAssertEqual(retry.tier, .cold, "no root to fork from")
        XCTAssert(log.last { $0.hasPrefix("plan ") }!.contains("create=z0<z-:-"), "the next plan asks for the root: \(log)")
        let back = w.serve(handler: 0, arrivalNanos: 4, startNanos: 4)
        XCTAssertEqual(back.error, ""); XCTAssertEqual(back.tier, .import); XCTAssertEqual(back.zygote, 0)
        try w.planner.checkInvariants()
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }
}
