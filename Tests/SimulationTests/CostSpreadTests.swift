import XCTest
import CachePolicy
import Statistics
import Workload
@testable import Simulation

/// Calibrated primitives as distributions: quantiles, the draws the simulator makes from them, the file
/// that carries them, and contention.
final class CostSpreadTests: XCTestCase {
    func testQuantilesOfSamplesAndTheRatioDrawnFromThem() {
        let s = CostSpread(samples: (0...100).map(Double.init)) // 0, 1, ..., 100
        XCTAssertEqual(s.quantiles, [0, 10, 25, 50, 75, 90, 95, 99, 100])
        XCTAssertEqual(s.median, 50); XCTAssertEqual(s.p90, 90); XCTAssertEqual(s.p99, 99)
        XCTAssertEqual(s.ratio(at: 0.5), 1, accuracy: 1e-12)
        XCTAssertEqual(s.ratio(at: 0), 0, accuracy: 1e-12)
        XCTAssertEqual(s.ratio(at: 0.97), 97.0 / 50, accuracy: 1e-12, "between p95 and p99, linearly")
        XCTAssertEqual(s.ratio(at: 0.999), 99.9 / 50, accuracy: 1e-9)
        XCTAssertEqual(CostSpread(quantiles: [0, 0, 0, 0, 0, 0, 0, 0, 1]).ratio(at: 0.999), 1, "a zero median scales nothing")
        // A skewed tail, as the hand-off to a core is: the p95 keeps a twentieth of the draws near it, where a
        // line from the p90 to the p99 put them far above.
        let samples: [Double] = (0..<1000).map { (i: Int) -> Double in i < 960 ? 0.05 + Double(i) / 4000 : 2 + Double(i - 960) / 10 }
        let skewed = CostSpread(samples: samples)
        XCTAssertLessThan(skewed.value(at: 0.95), 0.3)
        XCTAssertGreaterThan(skewed.p99, 2)
    }

    func testSpreadsAndContentionRoundTripThroughTheFileAndBadOnesAreNamed() throws {
        var c = RuntimeCosts()
        c.thawMillis = 0.2
        c.spreads["thaw_ms"] = CostSpread(quantiles: [0.1, 0.15, 0.18, 0.2, 0.25, 0.3, 0.35, 0.5, 0.9])
        c.contendedSpreads["thaw_ms"] = CostSpread(quantiles: [0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5])
        c.contentionCores = 2
        let p = NSTemporaryDirectory() + "rc-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: p) }
        try c.write(path: p, comments: ["test"])
        let r = try RuntimeCosts.read(path: p)
        XCTAssertEqual(r.spreads["thaw_ms"], c.spreads["thaw_ms"])
        XCTAssertEqual(r.contendedSpreads, c.contendedSpreads)
        XCTAssertEqual(r.contentionCores, 2)
        XCTAssertNil(r.spreads["fork_ms"], "a row without quantiles has no spread")
        // A file written before the p95 level reads with its p95 on the line from its p90 to its p99: drawn as then.
        try "primitive,value,unit,min,p10,p25,p75,p90,p99,max\nthaw_ms,0.2,ms,0.1,0.15,0.18,0.25,0.3,1.2,2\n"
            .write(toFile: p, atomically: true, encoding: .utf8)
        let old = try XCTUnwrap(try RuntimeCosts.read(path: p).spreads["thaw_ms"])
        XCTAssertEqual(old.quantiles[6], 0.3 + 0.9 * 5 / 9, accuracy: 1e-12)
        XCTAssertEqual(old.value(at: 0.93), 0.3 + 0.9 * 3 / 9, accuracy: 1e-12)
        try "primitive,value,unit,min,p10,p25,p75,p90,p95,p99,max\nthaw_ms,0.2,ms,0.1,0.15,0.3,0.25,0.3,0.4,0.5,0.9\n"
            .write(toFile: p, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: p)) { XCTAssert("\($0)".contains(":2: the quantiles of 'thaw_ms'"), "\($0)") }
    }

    func sim(_ runtime: RuntimeCosts, cores: Int = 1, seed: UInt64 = 1, draws: Bool = true, model: Simulation.CPUModel = .share,
             arrivals: [Double]) throws -> [RequestRecord] {
        let table = PackageTable([Package(name: "a", version: "1", installedBytes: 1 << 20, downloadMillis: 10, installMillis: 10, importMillis: 10, importMemoryBytes: 1 << 20)])
        let hs = HandlerTable([Handler(id: "h", customer: "x", packages: ["a"], initMillis: 0, execMillis: 10)])
        let costs = try CostModel(table: table, handlers: hs, runtime: runtime, seed: seed)
        let planner = try Planner(config: PolicyConfig.presets["h"]!, catalog: costs.catalog(handlers: hs), popularPackages: [])
        let s = Simulation(planner: planner, costs: costs, handlers: hs, cores: cores, seed: seed)
        s.drawsSpreads = draws
        s.cpuModel = model
        var out: [RequestRecord] = []
        s.lifecycle.onRecord = { out.append($0) }
        var it = arrivals.makeIterator()
        try s.run { it.next().map { Invocation(arrivalNanos: Nanos.fromSeconds($0), handler: 0) } }
        return out.sorted { $0.request < $1.request }
    }

    func testHandlerHitsAreDrawnFromTheSpreadSeededAndTheMedianWithoutIt() throws {
        var rt = RuntimeCosts()
        rt.thawMillis = 1
        rt.spreads["thaw_ms"] = CostSpread(quantiles: [0.5, 0.6, 0.8, 1, 1.2, 2, 3.5, 5, 8])
        let arrivals = (0..<2000).map { Double($0) }
        let hits = try sim(rt, arrivals: arrivals).filter { $0.tier == .handler }.map { Nanos.millis($0.createNanos) }
        let s = Summary(hits)
        XCTAssertEqual(s.p50, 1, accuracy: 0.1)
        XCTAssertEqual(s.p99, 5, accuracy: 0.6, "p99 follows the calibrated p99, not the median")
        XCTAssertGreaterThanOrEqual(hits.min()!, 0.5); XCTAssertLessThanOrEqual(hits.max()!, 8)
        XCTAssertEqual(try sim(rt, arrivals: arrivals).map(\.createNanos), try sim(rt, arrivals: arrivals).map(\.createNanos), "seeded")
        XCTAssertNotEqual(try sim(rt, seed: 2, arrivals: arrivals).map(\.createNanos), try sim(rt, arrivals: arrivals).map(\.createNanos))
        let flat = try sim(rt, draws: false, arrivals: arrivals).filter { $0.tier == .handler }
        XCTAssert(flat.allSatisfy { $0.createNanos == Nanos.fromMillis(1) }, "without draws every hit pays the median")
    }

    /// With the cores held (`--cpu-model hold`), a request that starts beside others draws from the contended
    /// spread; shared, never (the sharing itself slows it).
    func testABusyCoreDrawsFromTheContendedSpread() throws {
        var rt = RuntimeCosts()
        rt.thawMillis = 1
        rt.spreads["thaw_ms"] = CostSpread(quantiles: Array(repeating: 1, count: 9))
        rt.contendedSpreads["thaw_ms"] = CostSpread(quantiles: Array(repeating: 3, count: 9))
        rt.contentionCores = 2
        // At t=100 s two arrive together: a hit on the first request's container and a cold start; at
        // t=200 s two at once again, both hits: the first starts with the other core idle, the second with
        // it busy (all of the calibration's other cores busy: always the contended spread).
        let r = try sim(rt, cores: 2, model: .hold, arrivals: [0, 100, 100, 200, 200])
        let hits = r.filter { $0.tier == .handler && $0.arrivalNanos == Nanos.fromSeconds(200) }.map { Nanos.millis($0.createNanos) }
        XCTAssertEqual(hits, [1, 3])
        let shared = try sim(rt, cores: 2, arrivals: [0, 100, 100, 200, 200])
        XCTAssertEqual(shared.filter { $0.tier == .handler && $0.arrivalNanos == Nanos.fromSeconds(200) }.map { Nanos.millis($0.createNanos) }, [1, 1])
        // Three cores against a two-core calibration: one other busy is already all of its others.
        var three = rt
        three.contentionCores = 3
        let mixed = try sim(three, cores: 2, model: .hold, arrivals: [0] + (1...400).flatMap { [Double($0) * 10, Double($0) * 10] })
            .filter { $0.tier == .handler }.map { Nanos.millis($0.createNanos) }
        let share = Double(mixed.filter { $0 == 3 }.count) / Double(mixed.count)
        XCTAssertEqual(share, 0.25, accuracy: 0.05, "half the hits start with 1 of 2 other cores busy: drawn contended half the time")
    }
}
