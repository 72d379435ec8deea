import XCTest
import Statistics
import Workload
@testable import CachePolicy

/// A small world: packages with known costs and handlers over them.
func makeCatalog(_ packages: [Package], _ handlers: [Handler]) -> Catalog {
    Catalog(packages: packages, handlers: HandlerTable(handlers), interpreterMemoryBytes: 10 << 20,
            containerMemoryBytes: 1 << 20, interpreterStartNanos: 10_000_000)
}

func pkg(_ name: String, deps: [String] = [], importMs: Double = 10, memMB: Int64 = 10, diskMB: Int64 = 5) -> Package {
    Package(name: name, version: "1", dependencies: deps, transitiveDependencies: deps, wheelBytes: diskMB << 20,
            installedBytes: diskMB << 20, downloadMillis: 100, installMillis: 200, importMillis: importMs,
            importMemoryBytes: memMB << 20)
}

final class PlannerTests: XCTestCase {
    func config(_ preset: String, _ edit: (inout PolicyConfig) -> Void = { _ in }) -> PolicyConfig {
        var c = PolicyConfig.presets[preset]!
        edit(&c)
        return c
    }

    func testHandlerCacheHitAfterPauseAndLRUEviction() throws {
        let cat = makeCatalog([pkg("a")], (0..<3).map { Handler(id: "h\($0)", customer: "c", packages: ["a"], memoryBytes: 0) })
        // Each container: 1 MB container + 10 MB interpreter + 10 MB of a = 21 MB; room for two.
        let p = try Planner(config: config("h") { $0.handlerCache.memoryMB = 45 }, catalog: cat)
        let s0 = p.plan(handler: 0, now: 0)
        XCTAssertEqual(s0.tier, .cold)
        XCTAssertEqual(p.finished(container: s0.container, now: 1, memoryBytes: 21 << 20).paused, true)
        let s1 = p.plan(handler: 1, now: 2)
        _ = p.finished(container: s1.container, now: 3, memoryBytes: 21 << 20)
        let hit = p.plan(handler: 0, now: 4)
        XCTAssertEqual(hit.tier, .handler)
        XCTAssertEqual(hit.container, s0.container)
        _ = p.finished(container: hit.container, now: 5, memoryBytes: 21 << 20) // h0 now most recent
        let s2 = p.plan(handler: 2, now: 6)
        let idle = p.finished(container: s2.container, now: 7, memoryBytes: 21 << 20)
        XCTAssertEqual(idle.evictions, [.container(id: s1.container, handler: 1)], "LRU evicts h1's container")
        try p.checkInvariants()
        XCTAssertEqual(p.plan(handler: 1, now: 8).tier, .cold)
    }

    /// The executor's failure reports: a zygote whose import failed leaves the tree and its package is
    /// never put in a zygote again (a handler over it still gets one without it); a failed install leaves
    /// the install cache and every holder, so the next request installs it again.
    func testFailureReportsChangeLaterDecisions() throws {
        let cat = makeCatalog([pkg("bad"), pkg("good")], [Handler(id: "b", customer: "c", packages: ["bad"]),
                                                            Handler(id: "bg", customer: "c", packages: ["bad", "good"]),
                                                            Handler(id: "g", customer: "c", packages: ["good"])])
        let p = try Planner(config: config("all") { $0.importCache.threshold = 1; $0.handlerCache.enabled = false }, catalog: cat)
        let bad = cat.id(of: "bad")!
        let s = p.plan(handler: 0, now: 1)
        let z = try XCTUnwrap(s.createZygotes.first)
        XCTAssertEqual(z.imports, [bad])
        _ = p.finished(container: s.container, now: 2, memoryBytes: 1 << 20, failed: true)
        let (ev, rebuild) = p.zygoteFailed(z.id, now: 3)
        XCTAssertEqual(ev, [.zygote(id: z.id)]); XCTAssertNil(rebuild, "only a failed root is rebuilt")
        XCTAssert(p.unimportable.contains(bad))
        try p.checkInvariants()
        let again = p.plan(handler: 0, now: 4)
        XCTAssertEqual(again.zygote, 0, "the root, not a zygote holding bad")
        XCTAssertEqual(again.createZygotes, [], "no zygote for a set holding an unimportable package")
        _ = p.finished(container: again.container, now: 5, memoryBytes: 1 << 20)
        let both = p.plan(handler: 1, now: 6)
        XCTAssertEqual(both.createZygotes, [])
        _ = p.finished(container: both.container, now: 7, memoryBytes: 1 << 20)
        XCTAssertEqual(p.plan(handler: 2, now: 8).createZygotes.count, 1, "good alone still gets its zygote")
        // A failed install: gone from the cache and from its holders; the next request installs it again.
        XCTAssertTrue(p.installCache!.isInstalled(bad))
        p.installFailed(bad)
        XCTAssertFalse(p.installCache!.isInstalled(bad))
        try p.checkInvariants()
        let reinstall = p.plan(handler: 0, now: 9)
        XCTAssertEqual(reinstall.install, [bad])
        try p.checkInvariants()
        _ = p.finished(container: reinstall.container, now: 10, memoryBytes: 1 << 20)
        // A root that fails to build is not put back at once (it would fail again, for ever): requests go
        // cold, and the next plan asks for it again.
        let (rootGone, root) = p.zygoteFailed(0, now: 11, packages: [])
        XCTAssertNil(root)
        XCTAssert(rootGone.contains(.zygote(id: 0)))
        XCTAssertNil(p.importCache![0])
        try p.checkInvariants()
        let retry = p.plan(handler: 0, now: 12)
        XCTAssertEqual(retry.tier, .cold, "no zygote to fork while the root is missing")
        XCTAssertEqual(retry.createZygotes.first?.id, 0, "the next plan asks for the root again")
        XCTAssertNotNil(p.importCache![0])
        try p.checkInvariants()
        // A zygote died: the root comes back at once (its rebuild is asked for in the answer).
        _ = p.finished(container: retry.container, now: 13, memoryBytes: 1 << 20)
        let (_, lostRoot) = p.zygoteLost(0, now: 14)
        XCTAssertEqual(lostRoot?.id, 0)
        try p.checkInvariants()
    }

    /// A container the executor could not pause leaves the handler cache (the planner's answer destroys it);
    /// a container that was not kept is not touched.
    func testAPauseThatFailedDropsTheContainer() throws {
        let cat = makeCatalog([pkg("a")], [Handler(id: "h", customer: "c", packages: ["a"])])
        let p = try Planner(config: config("h"), catalog: cat)
        let s = p.plan(handler: 0, now: 1)
        XCTAssertTrue(p.finished(container: s.container, now: 2, memoryBytes: 1 << 20).paused)
        XCTAssertEqual(p.handlerCache!.count, 1)
        XCTAssertEqual(p.pauseFailed(container: s.container), [.container(id: s.container, handler: 0)])
        XCTAssertEqual(p.handlerCache!.count, 0)
        try p.checkInvariants()
        XCTAssertEqual(p.plan(handler: 0, now: 3).tier, .cold, "no paused container to thaw")
        XCTAssertEqual(p.pauseFailed(container: 99), [])
    }

    func testKeepAliveExpires() throws {
        let cat = makeCatalog([pkg("a")], [Handler(id: "h", customer: "c", packages: ["a"])])
        let p = try Planner(config: config("h") { $0.handlerCache.policy = "ttl"; $0.handlerCache.ttlSeconds = 10 }, catalog: cat)
        let s = p.plan(handler: 0, now: 0)
        _ = p.finished(container: s.container, now: 1_000_000_000, memoryBytes: 1 << 20)
        XCTAssertEqual(p.plan(handler: 0, now: 5_000_000_000).tier, .handler)
        _ = p.finished(container: s.container, now: 6_000_000_000, memoryBytes: 1 << 20)
        let late = p.plan(handler: 0, now: 17_000_000_000)
        XCTAssertEqual(late.tier, .cold)
        XCTAssertEqual(late.evictions, [.container(id: s.container, handler: 0)])
        try p.checkInvariants()
    }

    func testLFUAndGDSFChooseTheirVictims() {
        var lfu = HandlerCache(budgetBytes: 30, policy: LFUEviction())
        for _ in 0..<3 { _ = lfu.take(handler: 1) }   // handler 1 is popular
        _ = lfu.take(handler: 2)
        _ = lfu.insert(container: 1, handler: 1, memoryBytes: 10, coldCostNanos: 1, now: 0)
        _ = lfu.insert(container: 2, handler: 2, memoryBytes: 10, coldCostNanos: 1, now: 1)
        _ = lfu.insert(container: 3, handler: 3, memoryBytes: 10, coldCostNanos: 1, now: 2)
        let r = lfu.insert(container: 4, handler: 4, memoryBytes: 10, coldCostNanos: 1, now: 3)
        XCTAssertEqual(r.evicted.map(\.container), [3], "least frequent (handler 3, never requested) goes first")
        XCTAssertNoThrow(try lfu.checkInvariants())

        var g = HandlerCache(budgetBytes: 30, policy: GDSFEviction())
        for h: Int32 in 1...4 { _ = g.take(handler: h) } // one request each
        _ = g.insert(container: 1, handler: 1, memoryBytes: 10, coldCostNanos: 1000, now: 0) // costly to rebuild
        _ = g.insert(container: 2, handler: 2, memoryBytes: 10, coldCostNanos: 10, now: 1)
        _ = g.insert(container: 3, handler: 3, memoryBytes: 10, coldCostNanos: 500, now: 2)
        let e = g.insert(container: 4, handler: 4, memoryBytes: 10, coldCostNanos: 100, now: 3)
        XCTAssertEqual(e.evicted.map(\.container), [2], "GDSF evicts the lowest cost per byte")
        XCTAssertNoThrow(try g.checkInvariants())
    }

    func testTooBigForTheBudgetIsDestroyedNotKept() throws {
        let cat = makeCatalog([pkg("a")], [Handler(id: "h", customer: "c", packages: ["a"])])
        let p = try Planner(config: config("h") { $0.handlerCache.memoryMB = 1 }, catalog: cat)
        let s = p.plan(handler: 0, now: 0)
        XCTAssertFalse(p.finished(container: s.container, now: 1, memoryBytes: 2 << 20).paused)
        try p.checkInvariants()
    }

    func testZygoteChoiceFollowsTheSubsetRuleAndSavesMost() throws {
        let cat = makeCatalog([pkg("a", importMs: 100), pkg("b", importMs: 50), pkg("c", importMs: 300)],
                              [Handler(id: "ab", customer: "x", packages: ["a", "b"]),
                               Handler(id: "c", customer: "y", packages: ["c"]),
                               Handler(id: "abc", customer: "z", packages: ["a", "b", "c"])])
        let p = try Planner(config: config("all") { $0.importCache.threshold = 1; $0.handlerCache.enabled = false }, catalog: cat)
        let s0 = p.plan(handler: 0, now: 0)
        XCTAssertEqual(s0.tier, .import); XCTAssertEqual(s0.zygote, 0, "only the root exists yet")
        XCTAssertEqual(s0.createZygotes.map(\.imports), [[cat.id(of: "a")!, cat.id(of: "b")!]])
        let z1 = s0.createZygotes[0].id
        // Not ready yet: the next request still forks the root.
        XCTAssertEqual(p.plan(handler: 0, now: 1).zygote, 0)
        XCTAssertTrue(p.zygoteReady(z1, now: 2, memoryBytes: 20 << 20).kept)
        let s2 = p.plan(handler: 0, now: 3)
        XCTAssertEqual(s2.zygote, z1); XCTAssertEqual(s2.imports, [])
        // Handler c must never fork the {a,b} zygote.
        let s3 = p.plan(handler: 1, now: 4)
        XCTAssertEqual(s3.zygote, 0)
        XCTAssertEqual(s3.imports, [cat.id(of: "c")!])
        // Handler abc forks {a,b} (saves 150 ms) and imports c.
        let s4 = p.plan(handler: 2, now: 5)
        XCTAssertEqual(s4.zygote, z1); XCTAssertEqual(s4.imports, [cat.id(of: "c")!])
        let zc = try XCTUnwrap(s3.createZygotes.first?.id)
        XCTAssertEqual(s4.createZygotes.first?.parent, zc, "the new {a,b,c} zygote grows from {c}: it saves 300 ms, {a,b} only 150")
        try p.checkInvariants()
    }

    func testAZygoteWithChildrenOutlivesThem() throws {
        let cat = makeCatalog([pkg("a", memMB: 10), pkg("b", memMB: 10), pkg("c", memMB: 10)],
                              [Handler(id: "a", customer: "x", packages: ["a"]), Handler(id: "ab", customer: "x", packages: ["a", "b"]),
                               Handler(id: "c", customer: "y", packages: ["c"])])
        // Root 10 MB + {a} 10 + {a,b} 10 = 30; a zygote for {c} needs 10 more than the budget's 30.
        let p = try Planner(config: config("all") { $0.importCache.threshold = 1; $0.handlerCache.enabled = false; $0.importCache.memoryMB = 30 }, catalog: cat)
        let a = p.plan(handler: 0, now: 0).createZygotes[0]
        _ = p.zygoteReady(a.id, now: 1, memoryBytes: a.memoryBytes)
        let ab = p.plan(handler: 1, now: 2).createZygotes[0]
        XCTAssertEqual(ab.parent, a.id)
        _ = p.zygoteReady(ab.id, now: 3, memoryBytes: ab.memoryBytes)
        _ = p.plan(handler: 0, now: 4) // {a} is now the most recently used
        let c = p.plan(handler: 2, now: 5)
        XCTAssertEqual(c.evictions, [.zygote(id: ab.id)], "the leaf {a,b} goes; its parent {a} is kept while it has a child")
        try p.checkInvariants()
    }

    func testInstallCacheEvictsLRUButNeverWhatIsInUse() throws {
        let cat = makeCatalog([pkg("a", diskMB: 6), pkg("b", diskMB: 6)],
                              [Handler(id: "a", customer: "x", packages: ["a"]), Handler(id: "b", customer: "y", packages: ["b"])])
        let p = try Planner(config: config("hs") { $0.installCache.diskMB = 10 }, catalog: cat)
        let s0 = p.plan(handler: 0, now: 0)
        XCTAssertEqual(s0.installCached, [cat.id(of: "a")!])
        // a is held by the running container: b cannot evict it and is installed privately.
        let s1 = p.plan(handler: 1, now: 1)
        XCTAssertEqual(s1.install, [cat.id(of: "b")!]); XCTAssertEqual(s1.installCached, [])
        try p.checkInvariants()
        _ = p.finished(container: s0.container, now: 2, memoryBytes: 1 << 20)
        _ = p.finished(container: s1.container, now: 3, memoryBytes: 1 << 20)
        try p.checkInvariants()
    }

    func testUnknownNamesListTheKnown() {
        var c = PolicyConfig.presets["all"]!
        c.handlerCache.policy = "random"
        XCTAssertThrowsError(try c.validate()) { XCTAssertEqual("\($0)", "unknown handler-cache eviction policy 'random'; known: lru, lfu, gdsf-lifetime, faascache, ttl") }
        XCTAssertThrowsError(try PolicyConfig.preset("hx")) { XCTAssert("\($0)".contains("known: none, h, hm, hs, all")) }
        c = PolicyConfig.presets["all"]!
        c.importCache.tree = "forest"
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("known: static, dynamic")) }
    }

    func testConfigFilesAreReadAndCheckedByName() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-config-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ s: String) -> String { let p = dir + "/c.json"; try! s.write(toFile: p, atomically: true, encoding: .utf8); return p }
        let c = try PolicyConfig.parse(Data(contentsOf: URL(fileURLWithPath: write(#"{"preset": "hm", "handlerCache": {"policy": "gdsf", "memoryMB": 512}}"#))), path: "config.json")
        XCTAssertEqual(c.name, "hm"); XCTAssertEqual(c.handlerCache.policy, "gdsf"); XCTAssertEqual(c.handlerCache.memoryMB, 512)
        XCTAssertFalse(c.installCache.enabled)
        for (text, expected) in [(#"{"handlerCache": {"memoryMB": "big"}}"#, "'handlerCache.memoryMB' must be a number"),
                                 (#"{"importCache": {"colour": 1}}"#, "unknown key 'importCache.colour'"),
                                 (#"{"handlerCache": {"policy": "mru"}}"#, "unknown handler-cache eviction policy 'mru'"),
                                 ("{\n\"a\": ,\n}", "not valid JSON: line 2, column 6"),
                                 (#"{"importCache": {"topK": 2.7}}"#, "'importCache.topK' must be a whole number, found 2.7"),
                                 (#"{"installCache": {"diskMB": -1}}"#, "must be >= 0")] {
            XCTAssertThrowsError(try PolicyConfig.parse(Data(contentsOf: URL(fileURLWithPath: write(text))), path: "config.json")) { XCTAssert("\($0)".contains(expected), "\($0)") }
        }
    }

    /// Every preset printed as JSON (what `pipsqueak config show` prints) reads back as itself: counts of 0
    /// and 1 are numbers, not booleans (on Linux they parse as NSNumbers that also say `is Bool`), and a
    /// boolean key given a number is refused.
    func testPresetsRoundTripThroughTheirJSON() throws {
        for (name, preset) in PolicyConfig.presets {
            let back = try PolicyConfig.parse(Data(preset.prettyJSON.utf8), path: "\(name).json")
            XCTAssertEqual(back, preset, name)
        }
        XCTAssertEqual(try PolicyConfig.parse(Data(#"{"importCache": {"threshold": 1, "topK": 0}}"#.utf8), path: "c.json").importCache.threshold, 1)
        XCTAssertThrowsError(try PolicyConfig.parse(Data(#"{"importCache": {"enabled": 1}}"#.utf8), path: "c.json")) {
            XCTAssert("\($0)".contains("must be true or false"), "\($0)")
        }
        XCTAssertEqual(Set(PolicyConfig.keyDescriptions.map(\.key)).count, PolicyConfig.keyDescriptions.count)
    }

    func testStaticTreeAndPreinstallFromPopularity() throws {
        let cat = makeCatalog([pkg("a"), pkg("b", deps: ["a"]), pkg("c")], [Handler(id: "h", customer: "x", packages: ["b"])])
        let p = try Planner(config: config("all") { $0.importCache.tree = "static"; $0.importCache.topK = 2; $0.installCache.preinstallTop = 1 },
                            catalog: cat, popularPackages: ["b", "c", "a"])
        XCTAssertEqual(p.initialZygotes.count, 3, "root, {a,b}, {c}")
        XCTAssertEqual(p.initialInstalls, [cat.id(of: "a")!, cat.id(of: "b")!], "b and its dependency")
        let s = p.plan(handler: 0, now: 0)
        XCTAssertEqual(s.zygote, p.initialZygotes[1].id)
        XCTAssertEqual(s.install, [])
        try p.checkInvariants()
    }
}
