import XCTest
import Statistics
import Workload
@testable import CachePolicy

/// Random worlds and request sequences over many seeds: the subset rule holds for every fork, budgets are
/// never exceeded, and reference counts add up, after every decision.
final class PlannerPropertyTests: XCTestCase {
    func randomWorld(_ r: RandomSource) -> (Catalog, [Handler]) {
        let n = 4 + r.uniformInt(12)
        var packages: [Package] = []
        for i in 0..<n {
            let deps = i > 0 && r.uniform() < 0.3 ? ["p\(r.uniformInt(i))"] : []
            packages.append(pkg("p\(i)", deps: deps, importMs: 1 + 200 * r.uniform(), memMB: Int64(1 + r.uniformInt(40)),
                                diskMB: Int64(1 + r.uniformInt(30))))
        }
        let handlers = (0..<(3 + r.uniformInt(20))).map { h in
            Handler(id: "h\(h)", customer: "c\(h % 3)", packages: (0..<r.uniformInt(5)).map { _ in "p\(r.uniformInt(n))" },
                    initMillis: 1, execMillis: 1, memoryBytes: Int64(r.uniformInt(8)) << 20)
        }
        return (makeCatalog(packages, handlers), handlers)
    }

    func testInvariantsAndTheSubsetRuleOverManySeeds() throws {
        let policies = HandlerEvictionRegistry.names
        for seed in UInt64(1)...60 {
            let r = RandomSource(seed: seed)
            let (cat, handlers) = randomWorld(r)
            var c = PolicyConfig.presets[["none", "h", "hm", "hs", "all"][Int(seed % 5)]]!
            c.handlerCache.memoryMB = Double(20 + r.uniformInt(300))
            c.handlerCache.policy = policies[r.uniformInt(policies.count)]
            c.handlerCache.ttlSeconds = 0.05
            c.handlerCache.countRunning = r.uniform() < 0.3
            c.importCache.memoryMB = Double(10 + r.uniformInt(200))
            c.importCache.tree = r.uniform() < 0.5 ? "static" : "dynamic"
            c.importCache.threshold = 1 + r.uniformInt(3)
            c.importCache.eviction = r.uniform() < 0.5 ? "lru" : "saved-per-byte"
            c.installCache.diskMB = Double(5 + r.uniformInt(100))
            c.installCache.preinstallTop = r.uniformInt(3)
            let p = try Planner(config: c, catalog: cat, popularPackages: (0..<cat.count).map { "p\($0)" })
            var running: [Int64] = [], building: [ZygoteSpec] = []
            var now: Int64 = 0
            for _ in 0..<400 {
                now += Int64(r.uniformInt(20_000_000))
                switch r.uniformInt(4) {
                case 0, 1:
                    let h = Int32(r.uniformInt(handlers.count))
                    let plan = p.plan(handler: h, now: now)
                    if let zid = plan.zygote {
                        let z = try XCTUnwrap(p.importCache?[zid])
                        XCTAssert(z.ready, "seed \(seed): forked a zygote that is not ready")
                        XCTAssert(z.packages.isSubset(of: cat.profile(h).closure),
                                  "seed \(seed): subset rule broken: z\(zid) has a package handler \(h) did not ask for")
                        XCTAssertEqual(Set(plan.imports), Set(cat.profile(h).closure.subtracting(z.packages).ids))
                    }
                    if plan.tier == .cold { XCTAssertEqual(Set(plan.imports), Set(cat.profile(h).closure.ids)) }
                    for z in plan.createZygotes {
                        let parent = try XCTUnwrap(p.importCache?[z.parent!], "seed \(seed): z\(z.id) asked for under z\(z.parent!), which is not in the tree (policy \(c.handlerCache.policy), tree \(c.importCache.tree))")
                        XCTAssert(parent.packages.isSubset(of: p.importCache![z.id]!.packages))
                    }
                    running.append(plan.container)
                    building.append(contentsOf: plan.createZygotes)
                case 2 where !running.isEmpty:
                    let i = r.uniformInt(running.count)
                    let cid = running.remove(at: i)
                    _ = p.finished(container: cid, now: now, memoryBytes: Int64(1 + r.uniformInt(60)) << 20)
                case 3 where !building.isEmpty:
                    let z = building.removeFirst()
                    if p.importCache?[z.id] != nil {
                        _ = p.zygoteReady(z.id, now: now, memoryBytes: z.memoryBytes + Int64(r.uniformInt(3) - 1) << 20)
                    }
                default: break
                }
                try p.checkInvariants()
            }
        }
    }

    func testSameDecisionsForTheSameInputs() throws {
        func run() throws -> [String] {
            let r = RandomSource(seed: 99)
            let (cat, handlers) = randomWorld(r)
            var c = PolicyConfig.presets["all"]!
            c.importCache.threshold = 1; c.handlerCache.memoryMB = 100; c.importCache.memoryMB = 80
            let p = try Planner(config: c, catalog: cat)
            var lines: [String] = []
            for i in 0..<300 {
                let h = Int32(r.uniformInt(handlers.count))
                let plan = p.plan(handler: h, now: Int64(i) * 1000)
                lines.append(p.logLine(plan, handlerID: handlers[Int(h)].id))
                for z in plan.createZygotes { lines.append(p.logLine(p.zygoteReady(z.id, now: Int64(i) * 1000 + 1, memoryBytes: z.memoryBytes))) }
                lines.append(p.logLine(p.finished(container: plan.container, now: Int64(i) * 1000 + 2, memoryBytes: 20 << 20)))
            }
            return lines
        }
        XCTAssertEqual(try run(), try run())
    }
}
