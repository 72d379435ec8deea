import XCTest
import CachePolicy
import Foundation
import Workload
@testable import Experiments

/// `trace fit`: the fitted trace, simulated on the same cores, keeps the asked share of them busy; only
/// the arrival times changed, all by one factor.
final class TraceFitTests: XCTestCase {
    func testAFittedTraceHasTheLoadAskedFor() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-fit-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SmallWorld.make(in: dir)
        for target in [0.3, 0.9] {
            var fit = TraceFit(tracePath: dir + "/mixed.csv")
            fit.cores = 2; fit.load = target; fit.packagesPath = dir + "/packages.csv"
            let out = dir + "/fit-\(target).csv"
            let r = try fit.run(out: out, command: "test")
            XCTAssertEqual(r.loadAfter, target, accuracy: 0.03 * target)
            var sim = SimulateJob()
            sim.tracePath = out; sim.packagesPath = dir + "/packages.csv"; sim.cores = 2
            let s = try sim.run()
            XCTAssertEqual(s.offeredLoad ?? 0, target, accuracy: 0.03 * target, "simulating the fitted trace gives the load it was fitted to")
            let before = Array(try TraceReader(path: dir + "/mixed.csv", handlers: try Trace(path: dir + "/mixed.csv").handlers))
            let after = Array(try TraceReader(path: out, handlers: try Trace(path: out).handlers))
            XCTAssertEqual(before.map(\.handler), after.map(\.handler), "same requests, same order")
            for (a, b) in zip(before, after).dropFirst(5).prefix(20) {
                XCTAssertEqual(Double(b.arrivalNanos), Double(a.arrivalNanos) * r.factor, accuracy: 2)
            }
        }
    }
}
