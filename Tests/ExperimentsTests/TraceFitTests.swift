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

    /// `--thin`: arrival times kept, requests dropped (a subsequence of the trace), the load near the one asked
    /// or a warning naming the closest; asking for more load than the trace has is an error.
    func testAThinnedTraceKeepsItsTimesAndDropsRequests() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-thin-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SmallWorld.make(in: dir)
        var probe = TraceFit(tracePath: dir + "/mixed.csv")
        probe.cores = 2; probe.packagesPath = dir + "/packages.csv"; probe.load = 0.5
        let full = try probe.run(out: dir + "/probe.csv", command: "test").loadBefore // the trace's own load
        probe.thin = true
        var warned: [String] = []
        probe.progress = { if $0.hasPrefix("warning:") { warned.append($0) } }
        var fit = probe
        fit.load = full / 3
        let out = dir + "/thin.csv"
        let r = try fit.run(out: out, command: "test")
        XCTAssertEqual(r.factor, 1)
        XCTAssertLessThan(r.kept, 1)
        XCTAssert(abs(r.loadAfter / fit.load - 1) <= 0.03 || !warned.isEmpty, "near the load asked, or said how near")
        let before = Array(try TraceReader(path: dir + "/mixed.csv", handlers: try Trace(path: dir + "/mixed.csv").handlers))
        let after = Array(try TraceReader(path: out, handlers: try Trace(path: out).handlers))
        XCTAssertLessThan(after.count, before.count)
        // A subsequence: every kept request is one of the trace's, at its own time, in order.
        var i = before.startIndex
        for a in after {
            while i < before.endIndex && !(before[i].arrivalNanos == a.arrivalNanos && before[i].handler == a.handler) { i += 1 }
            XCTAssertLessThan(i, before.endIndex, "request at \(a.arrivalNanos) is the trace's")
            i += 1
        }
        var more = probe
        more.load = full * 2
        XCTAssertThrowsError(try more.run(out: dir + "/more.csv", command: "test")) { XCTAssert("\($0)".contains("thinning only removes requests"), "\($0)") }
    }
}
