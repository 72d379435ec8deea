import XCTest
@testable import CachePolicy
import Workload

/// Each handler-cache policy on one hand-worked sequence where their definitions disagree.
///
/// Budget 1.5 MB, every cold cost the same. Handler A's container c1 serves four requests and is then
/// dropped (A's lifetime count stays 4, its pool count goes to 0); c2 of B (0.5 MB) is paused; A gets a
/// new container c4 (1 MB, one use: lifetime 5, pool 1); c2 serves again (B: lifetime 2, pool 2) and is
/// paused last. Pausing c3 of C (0.5 MB) needs one of c4 and c2 to go:
///
/// | policy | priority of c4 (A) | of c2 (B) | evicts |
/// |---|---|---|---|
/// | lru, ttl | paused at 7 | paused at 8 | A (older) |
/// | lfu | lifetime 5 | lifetime 2 | B |
/// | gdsf-lifetime | 5 × cost / 1 MB | 2 × cost / 0.5 MB = 4 × cost / MB | B |
/// | faascache | 1 × cost / 1 MB (pool count) | 2 × cost / 0.5 MB | A |
final class HandlerEvictionTests: XCTestCase {
    let mb = Int64(1 << 20)
    let cost: Int64 = 1_000_000

    func evicted(_ policy: String) throws -> Int32 {
        var c = HandlerCache(budgetBytes: mb + mb / 2, policy: try HandlerEvictionRegistry.make(policy, ttlNanos: 1_000_000_000_000))
        let A: Int32 = 0, B: Int32 = 1, C: Int32 = 2
        XCTAssertNil(c.take(handler: A))
        XCTAssertTrue(c.insert(container: 1, handler: A, memoryBytes: mb, coldCostNanos: cost, now: 1).kept)
        for t in 2...4 as ClosedRange<Int64> {
            XCTAssertEqual(c.take(handler: A)?.container, 1)
            XCTAssertTrue(c.insert(container: 1, handler: A, memoryBytes: mb, coldCostNanos: cost, now: t).kept)
        }
        XCTAssertNil(c.take(handler: B))
        XCTAssertEqual(c.insert(container: 2, handler: B, memoryBytes: mb / 2, coldCostNanos: cost, now: 5).evicted.count, 0)
        XCTAssertNotNil(c.drop(container: 1)) // A's only container leaves (its pool count with it)
        c.forget(container: 1)
        XCTAssertNil(c.take(handler: A))
        XCTAssertEqual(c.insert(container: 4, handler: A, memoryBytes: mb, coldCostNanos: cost, now: 7).evicted.count, 0)
        XCTAssertEqual(c.take(handler: B)?.container, 2)
        XCTAssertEqual(c.insert(container: 2, handler: B, memoryBytes: mb / 2, coldCostNanos: cost, now: 8).evicted.count, 0)
        try c.checkInvariants()
        XCTAssertNil(c.take(handler: C))
        let (kept, gone) = c.insert(container: 3, handler: C, memoryBytes: mb / 2, coldCostNanos: cost, now: 9)
        XCTAssertTrue(kept)
        XCTAssertEqual(gone.count, 1, policy)
        try c.checkInvariants()
        return gone.first?.handler ?? -1
    }

    func testLRUEvictsTheLeastRecentlyPaused() throws { XCTAssertEqual(try evicted("lru"), 0) }
    func testTTLEvictsLikeLRUWhenSpaceRunsOut() throws { XCTAssertEqual(try evicted("ttl"), 0) }
    func testLFUEvictsTheLeastRequestedHandler() throws { XCTAssertEqual(try evicted("lfu"), 1) }
    func testLifetimeGDSFCountsEveryRequestEver() throws {
        XCTAssertEqual(try evicted("gdsf-lifetime"), 1)
        XCTAssertEqual(try evicted("gdsf"), 1, "gdsf is the old name of gdsf-lifetime")
    }
    func testFaasCacheCountsOnlyContainersInThePool() throws { XCTAssertEqual(try evicted("faascache"), 0) }

    /// FaasCache's clock rises to the priority of what it evicts, so later entries start above it.
    func testFaasCacheClockRisesWithEvictions() throws {
        var p = FaasCacheEviction()
        let e = EntryStats(lastUsedNanos: 0, frequency: 1, sizeBytes: mb, coldCostNanos: cost, containerUses: 1, poolUses: 3)
        let first = p.priority(e)
        XCTAssertEqual(first, 3 * Double(cost) / Double(mb))
        p.evicted(priority: first)
        XCTAssertEqual(p.priority(e), 2 * first)
    }

    /// With `countRunning` (FaasCache's accounting), a start makes room for itself among the paused
    /// containers; without it (the paper's), paused containers stay while others run.
    func testCountingRunningContainersEvictsAtStart() throws {
        let cat = makeEvictionCatalog()
        for countRunning in [false, true] {
            var c = PolicyConfig.presets["h"]!
            c.handlerCache.memoryMB = 100; c.handlerCache.countRunning = countRunning
            let p = try Planner(config: c, catalog: cat)
            let a = p.plan(handler: 0, now: 1)
            _ = p.finished(container: a.container, now: 2, memoryBytes: 60 << 20) // a paused, 60 MB
            let b = p.plan(handler: 1, now: 3) // b starts: modeled at about 60 MB (memory of its handler)
            XCTAssertEqual(b.evictions.isEmpty, !countRunning, "countRunning \(countRunning): \(b.evictions)")
            try p.checkInvariants()
            _ = p.finished(container: b.container, now: 4, memoryBytes: 60 << 20)
            try p.checkInvariants()
            XCTAssertEqual(p.handlerCache!.runningBytes, 0)
        }
    }

    func makeEvictionCatalog() -> Catalog {
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: [], memoryBytes: 60 << 20),
                                     Handler(id: "b", customer: "y", packages: [], memoryBytes: 60 << 20)])
        return Catalog(packages: [], handlers: handlers)
    }
}
