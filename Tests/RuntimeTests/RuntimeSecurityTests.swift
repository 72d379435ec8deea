import XCTest
import CachePolicy
import Workload
@testable import Runtime

final class RuntimeSecurityTests: XCTestCase {
    /// A handler forked for [slow] never holds `other`, even when a zygote with {slow, other} exists and
    /// would save it more import time.
    func testSubsetRuleHoldsForRealProcesses() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "so", customer: "x", packages: ["slow", "other"]),
                                     Handler(id: "s", customer: "y", packages: ["slow"])])
        var c = PolicyConfig.presets["all"]!
        c.importCache.threshold = 1
        c.handlerCache.enabled = false
        let w = try fx.worker(handlers: handlers, config: c)
        defer { w.shutdown() }
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        let r1 = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)   // builds the {slow, other} zygote
        XCTAssertEqual(r1.error, "")
        let zso = try XCTUnwrap(w.planner.importCache?.zygotes.first { $0.id != 0 })
        XCTAssertTrue(zso.ready)
        // An import-cache hit with nothing left to import.
        let again = w.serve(handler: 0, arrivalNanos: 2, startNanos: 2)
        XCTAssertEqual(again.error, ""); XCTAssertEqual(again.zygote, zso.id)
        XCTAssertEqual(RuntimeFixture.importsOfLastPlan(log), 0, "slow and other came from the zygote")
        // Keep the next container alive to inspect it: a handler cache lets it be frozen, not destroyed.
        var c2 = c
        c2.handlerCache.enabled = true
        let w2 = try fx.worker(handlers: handlers, config: c2)
        defer { w2.shutdown() }
        _ = w2.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
        let r = w2.serve(handler: 1, arrivalNanos: 2, startNanos: 2)
        XCTAssertEqual(r.error, "")
        XCTAssertEqual(r.zygote, 0, "the {slow, other} zygote is not a subset of [slow]")
        let mods = try w2.modules(ofContainer: try XCTUnwrap(w2.containerIDs.last))
        XCTAssert(mods.contains("slow"))
        XCTAssertFalse(mods.contains("other"), "a package the handler did not ask for is in its process")
        w.shutdown(); w2.shutdown()
        try RuntimeFixture.assertNothingLeft(w); try RuntimeFixture.assertNothingLeft(w2)
    }

    /// A hostile handler tries to read other handlers' code, the host's secrets and the runtime's state,
    /// to write to its root, and to climb out of its chroot; each attempt's outcome is returned and checked.
    func testAHandlerSeesOnlyItsOwnReadOnlyWorld() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let stateDir = fx.dir + "/state"
        let victimCode = try fx.writeHandlers([("victim", "SECRET = 'victim-code'\ndef f(event):\n    return 'ok'\n")]) + "/victim/f.py"
        let spy = RuntimeFixture.attackPrelude + """
        def climb():
            for _ in range(20):
                os.chdir("..")
            return sorted(os.listdir("."))
        def f(event):
            return {
                "own_code": attempt(lambda: read("/handler/f.py")),
                "victim_code": attempt(lambda: read(\(String(reflecting: victimCode)))),
                "shadow": attempt(lambda: read("/etc/shadow")),
                "etc": attempt(lambda: sorted(os.listdir("/etc"))),
                "state_dir": attempt(lambda: os.listdir(\(String(reflecting: stateDir)))),
                "root_cache": attempt(lambda: os.listdir("/root/.cache")),
                "write_root": attempt(lambda: write("/evil")),
                "write_handler": attempt(lambda: write("/handler/evil")),
                "write_usr": attempt(lambda: write("/usr/evil")),
                "write_tmp": attempt(lambda: write("/tmp/fine")),
                "climb": attempt(climb),
                "pid": os.getpid(),
            }
        """
        let sources = try fx.writeHandlers([("spy", spy)])
        let handlers = HandlerTable([Handler(id: "spy", customer: "evil", packages: ["fast"]),
                                     Handler(id: "victim", customer: "good", packages: ["fast"])])
        for preset in ["all", "none"] { // through a zygote fork, and through a cold start
            let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets[preset]!, handlerSources: sources)
            defer { w.shutdown() }
            XCTAssertEqual(w.serve(handler: 1, arrivalNanos: 1, startNanos: 1).error, "")
            let (record, result) = try w.serveReturningResult(handler: 0, now: 2)
            XCTAssertEqual(record.error, "", preset)
            let out = try XCTUnwrap(result as? [String: Any], preset)
            XCTAssert((out["own_code"] as? String ?? "").hasPrefix("allowed:" + RuntimeFixture.attackPrelude.prefix(10)), preset)
            for k in ["victim_code", "shadow", "state_dir", "root_cache"] {
                XCTAssertEqual(out[k] as? String, "denied:FileNotFoundError", "\(preset) \(k)")
            }
            for k in ["write_root", "write_handler", "write_usr"] {
                XCTAssertEqual(out[k] as? String, "denied:OSError", "\(preset) \(k): the root is read-only")
            }
            XCTAssertEqual(out["write_tmp"] as? String, "allowed:/tmp/fine", preset)
            let top = (out["climb"] as? String) ?? ""
            XCTAssert(top.contains("'handler'") && !top.contains("'var'") && !top.contains("'home'"), "\(preset): climbed to \(top)")
            // Of the host's /etc, only its font configuration (read-only).
            XCTAssertEqual(out["etc"] as? String, FileManager.default.fileExists(atPath: "/etc/fonts") ? "allowed:['fonts']" : "denied:FileNotFoundError", preset)
            XCTAssertEqual(out["pid"] as? Int, 1, "\(preset): pid 1 of its own pid namespace")
            w.shutdown()
            try RuntimeFixture.assertNothingLeft(w)
        }
    }

    func testColdStartsAndEvictionOnRealProcesses() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["slow"]), Handler(id: "b", customer: "y", packages: ["slow", "fast"])])
        var c = PolicyConfig.presets["hs"]!
        c.handlerCache.memoryMB = 40 // room for one paused container holding slow's 20 MB, not two
        let w = try fx.worker(handlers: handlers, config: c)
        defer { w.shutdown() }
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        let r1 = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
        XCTAssertEqual(r1.error, ""); XCTAssertEqual(r1.tier, .cold)
        XCTAssertEqual(RuntimeFixture.importsOfLastPlan(log), 1, "a cold start imports slow itself")
        XCTAssertEqual(w.containerIDs.count, 1, "paused")
        let first = w.containerIDs[0]
        let cg = try XCTUnwrap(w.containers[first]?.cgroup)
        XCTAssertGreaterThan(cg.memoryBytes(), 20 << 20, "the container's cgroup holds slow's 20 MB")
        let r2 = w.serve(handler: 1, arrivalNanos: 2, startNanos: 2)
        XCTAssertEqual(r2.error, ""); XCTAssertEqual(r2.tier, .cold)
        XCTAssertEqual(w.containerIDs.count, 1, "a's frozen container was evicted (killed, cgroup removed) to make room for b's")
        XCTAssertFalse(cg.dirs.contains(where: Sys.exists), "the evicted container's cgroup is gone")
        let r3 = w.serve(handler: 0, arrivalNanos: 3, startNanos: 3)
        XCTAssertEqual(r3.tier, .cold)
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// Without an install cache each container installs privately: a new container's install never
    /// replaces the files under a frozen one, and a destroyed container's copies go with it.
    func testPrivateInstallsBelongToTheirContainer() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"]), Handler(id: "b", customer: "y", packages: ["fast"])])
        var c = PolicyConfig.presets["h"]!
        c.handlerCache.memoryMB = 1024
        let w = try fx.worker(handlers: handlers, config: c)
        defer { w.shutdown() }
        let fast = try XCTUnwrap(fx.packages["fast"])
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 1, startNanos: 1).error, "")
        let first = try XCTUnwrap(w.containerIDs.first)
        let firstCopy = w.store.privateDirectory(fast, owner: "c\(first)")
        XCTAssert(Sys.exists(firstCopy + "/fast.py"))
        XCTAssertFalse(Sys.exists(w.store.directory(fast)), "nothing in the shared install cache")
        XCTAssertEqual(w.serve(handler: 1, arrivalNanos: 2, startNanos: 2).error, "")
        XCTAssertEqual(w.containerIDs.count, 2)
        for id in w.containerIDs { XCTAssert(Sys.exists(w.store.privateDirectory(fast, owner: "c\(id)") + "/fast.py")) }
        w.destroyContainer(first)
        XCTAssertFalse(Sys.exists(firstCopy))
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }
}
