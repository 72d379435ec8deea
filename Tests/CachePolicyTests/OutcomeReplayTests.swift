import XCTest
import Workload
@testable import CachePolicy

/// `compare` hands the real run's outcomes to the simulation by what they are about, not in the order they
/// came: under concurrency requests complete in another order in each executor.
final class OutcomeReplayTests: XCTestCase {
    func testOutcomesGoToTheContainerOrZygoteTheyAreAbout() {
        let r = OutcomeReplay([.container(id: 1, memoryBytes: 10, failed: false), .zygoteReady(id: 1, memoryBytes: 7),
                               .container(id: 2, memoryBytes: 20, failed: true), .installFailed(package: 0),
                               .container(id: 1, memoryBytes: 30, failed: false), .zygoteFailed(id: 2, packages: [])])
        // Container 2 ends first in the simulation: it still gets its own outcome.
        XCTAssertEqual(r.next(matching: .container(id: 2, memoryBytes: 0, failed: false)), .container(id: 2, memoryBytes: 20, failed: true))
        // Container 1's ends, in their order; then none is left.
        XCTAssertEqual(r.next(matching: .container(id: 1, memoryBytes: 0, failed: false)), .container(id: 1, memoryBytes: 10, failed: false))
        XCTAssertEqual(r.next(matching: .container(id: 1, memoryBytes: 0, failed: false)), .container(id: 1, memoryBytes: 30, failed: false))
        XCTAssertNil(r.next(matching: .container(id: 1, memoryBytes: 0, failed: false)))
        XCTAssertNil(r.next(matching: .container(id: 3, memoryBytes: 0, failed: false)), "a container the real run never ended")
        // Zygotes: ready or failed, by id, in any order.
        XCTAssertEqual(r.next(matching: .zygoteReady(id: 2, memoryBytes: 0)), .zygoteFailed(id: 2, packages: []))
        XCTAssertEqual(r.next(matching: .zygoteReady(id: 1, memoryBytes: 0)), .zygoteReady(id: 1, memoryBytes: 7))
        XCTAssertNil(r.next(matching: .zygoteReady(id: 1, memoryBytes: 0)))
        XCTAssertNil(r.next(matching: .installFailed(package: 0)), "only container ends and zygote builds are replayed")
    }

    /// With the real run's decision log, a container's end goes to the simulated container of the same handler
    /// forked from a zygote holding the same packages, whatever number either planner gave it (the numbers of
    /// evicted containers are reused, and differ between the runs once one start differs); a zygote's build goes
    /// to the zygote holding the same packages.
    func testWithTheDecisionLogOutcomesGoByHandlerAndZygote() {
        let log = ["plan t=1.0 req=1 h=ha tier=import c=1 z=0 install=- cached=- import=1 evict=- create=z2<z0:numpy",
                   "ready t=1.1 z=2 keep evict=-",
                   "plan t=1.2 req=2 h=hb tier=import c=2 z=0 install=- cached=- import=1 evict=- create=-",
                   "plan t=1.3 req=3 h=ha tier=handler c=1 z=- install=- cached=- import=0 evict=- create=-",
                   "idle t=1.4 c=1 pause evict=c1",
                   // Container number 1 again, now hc's, forked from the numpy zygote.
                   "plan t=1.5 req=4 h=hc tier=import c=1 z=2 install=- cached=- import=0 evict=- create=z3<z2:scipy",
                   "plan t=1.6 req=5 h=hd tier=cold c=3 z=- install=- cached=- import=0 evict=- create=-"]
        let outcomes: [Outcome] = [.container(id: 1, memoryBytes: 100, failed: false), .zygoteReady(id: 2, memoryBytes: 50),
                                   .container(id: 2, memoryBytes: 200, failed: false), .container(id: 1, memoryBytes: 110, failed: true),
                                   .container(id: 1, memoryBytes: 300, failed: false), .zygoteFailed(id: 3, packages: []),
                                   .container(id: 3, memoryBytes: 400, failed: false)]
        let r = OutcomeReplay(outcomes, decisions: log)
        XCTAssertTrue(r.byMeaning)
        typealias K = OutcomeReplay.ContainerKind
        // hc's end, though the simulation numbered its container 7: the real one's memory.
        XCTAssertEqual(r.container(K(handler: "hc", zygote: "numpy")), .container(id: 1, memoryBytes: 300, failed: false))
        // ha's two ends in their order; a third (the simulation ended it once more) gets the last memory, not its failure.
        XCTAssertEqual(r.container(K(handler: "ha", zygote: "")), .container(id: 1, memoryBytes: 100, failed: false))
        XCTAssertEqual(r.container(K(handler: "ha", zygote: "")), .container(id: 1, memoryBytes: 110, failed: true))
        XCTAssertEqual(r.container(K(handler: "ha", zygote: "")), .container(id: 1, memoryBytes: 110, failed: false))
        XCTAssertEqual(r.container(K(handler: "hb", zygote: "")), .container(id: 2, memoryBytes: 200, failed: false))
        XCTAssertEqual(r.container(K(handler: "hd", zygote: "cold")), .container(id: 3, memoryBytes: 400, failed: false))
        XCTAssertNil(r.container(K(handler: "hb", zygote: "numpy")), "a kind the real run never ended: the simulator's own")
        // Zygotes by their whole package set (a child holds its parent's).
        XCTAssertEqual(r.zygote(holding: "numpy;scipy"), .zygoteFailed(id: 3, packages: []))
        XCTAssertEqual(r.zygote(holding: "numpy"), .zygoteReady(id: 2, memoryBytes: 50))
        XCTAssertNil(r.zygote(holding: "numpy"))
        // Nothing left by number: every outcome went by meaning.
        XCTAssertNil(r.next(matching: .container(id: 1, memoryBytes: 0, failed: false)))
        XCTAssertFalse(OutcomeReplay(outcomes).byMeaning)
    }

    /// The tracker follows one executor's starts: a handler-cache hit keeps its container's kind; a number
    /// reused by another handler is that handler's; a zygote the log does not describe is named by number.
    func testTheTrackerNamesEachStartsKind() {
        var t = OutcomeReplay.Tracker()
        XCTAssertEqual(t.zygote(4, parent: 0, imports: ["b", "a"]), "a;b")
        XCTAssertEqual(t.zygote(5, parent: 4, imports: ["c"]), "a;b;c")
        XCTAssertEqual(t.start(handler: "h1", reused: false, container: 9, zygote: 5), .init(handler: "h1", zygote: "a;b;c"))
        XCTAssertEqual(t.start(handler: "h1", reused: true, container: 9, zygote: nil), .init(handler: "h1", zygote: "a;b;c"))
        XCTAssertEqual(t.start(handler: "h2", reused: false, container: 9, zygote: 1), .init(handler: "h2", zygote: "z1"))
        XCTAssertEqual(t.start(handler: "h3", reused: false, container: 2, zygote: nil), .init(handler: "h3", zygote: "cold"))
    }

    /// A lifecycle replaying a real run by meaning: each end takes the real memory of the same handler and zygote
    /// whatever number its container has; a start the real run never made takes the executor's modeled memory
    /// scaled by real over modeled so far; a handler-cache hit on it keeps the planner's figure.
    func testALifecycleTakesTheRealMemoryByKindAndScalesTheRest() throws {
        let handlers = (0..<3).map { Handler(id: "h\($0)", customer: "c", packages: ["a"], memoryBytes: 0) }
        let cat = makeCatalog([pkg("a")], handlers)
        let config = PolicyConfig.presets["h"]!
        let real = PlanLifecycle(planner: try Planner(config: config, catalog: cat), handlers: HandlerTable(handlers))
        var log: [String] = []
        real.keepsOutcomes = true
        real.onDecision = { log.append($0) }
        for (h, mb) in [(Int32(0), Int64(7)), (1, 14)] {
            let (plan, record) = real.start(handler: h, arrivalNanos: 0, now: 0)
            real.finish(record, container: plan.container, memoryBytes: mb << 20, failed: false, now: 1)
        }
        let sim = PlanLifecycle(planner: try Planner(config: config, catalog: cat), handlers: HandlerTable(handlers))
        sim.keepsOutcomes = true
        sim.replay = OutcomeReplay(real.outcomes, decisions: log)
        func run(_ h: Int32, modeledMB: Int64) -> Int64 {
            let (plan, record) = sim.start(handler: h, arrivalNanos: 0, now: 2)
            sim.finish(record, container: plan.container, memoryBytes: modeledMB << 20, failed: false, now: 3)
            guard case .container(_, let b, _)? = sim.outcomes.last else { return -1 }
            return b
        }
        // Another order than the real run's: h1's container gets the number h0's had there.
        XCTAssertEqual(run(1, modeledMB: 30), 14 << 20)
        XCTAssertEqual(run(0, modeledMB: 20), 7 << 20)
        // h2 never ran for real: its modeled 10 MB × (14 + 7) / (30 + 20).
        XCTAssertEqual(run(2, modeledMB: 10), Int64((Double(10 << 20) * 21 / 50).rounded()))
        // A handler-cache hit on it: what the executor reports (the planner's figure from its first end) stands.
        XCTAssertEqual(run(2, modeledMB: 4), 4 << 20)
        XCTAssertEqual(sim.replayedMemory.real, 2); XCTAssertEqual(sim.replayedMemory.scaled, 1)
        XCTAssertEqual(sim.replayedMemory.unscaled, 0); XCTAssertEqual(sim.replayedMemory.kept, 1)
        XCTAssertEqual(try XCTUnwrap(sim.replayedMemory.ratio), 21.0 / 50, accuracy: 1e-12)
    }
}
