import XCTest
import Foundation
import Runtime
import Simulation
import CachePolicy
import Workload
@testable import Experiments

/// `pipsqueak calibrate` on the real runtime: every timed primitive gets its spread, and with two cores its
/// contended spread; the file it writes reads back as what the simulator uses.
final class CalibrateTests: XCTestCase {
    func testACalibrationKeepsSpreadsAndContendedSpreads() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let out = NSTemporaryDirectory() + "pipsqueak-calibrate-\(UUID().uuidString.prefix(8)).csv"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var job = CalibrateJob()
        job.repeats = 5; job.cores = 2; job.output = out
        let before = Set(try Cgroups.detect().leftovers())
        let costs = try job.run()
        let read = try RuntimeCosts.read(path: out)
        XCTAssertEqual(read.contentionCores, 2)
        for p in ["thaw_ms", "fork_ms", "container_create_ms", "interpreter_start_ms", "invoke_overhead_ms", "thawed_invoke_overhead_ms", "init_overhead_ms"] {
            let s = try XCTUnwrap(read.spreads[p], p)
            XCTAssertEqual(s.quantiles, s.quantiles.sorted(), p)
            XCTAssertEqual(s.median, read.rows.first { $0.0 == p }!.1, accuracy: 1e-4, "\(p): the spread's median is the value")
            XCTAssertNotNil(read.contendedSpreads[p], p)
        }
        XCTAssertEqual(Set(read.spreads.keys), Set(costs.spreads.keys))
        // Serving over HTTP (server and client in this process) costs the cores more than serving directly.
        XCTAssertGreaterThan(read.dispatchMillis, 0)
        XCTAssertEqual(read.dispatchMillis, costs.dispatchMillis, accuracy: 1e-4)
        XCTAssert(try String(contentsOfFile: out, encoding: .utf8).contains("made by: pipsqueak calibrate --repeat 5 --cores 2"))
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups the calibration left")
    }

    /// Hits served over HTTP: those that overlapped no other request give thaw and invoke their median and
    /// spread, those beside another their contended spread; too few of either leaves the direct figures.
    func testServedHitsGiveThawAndInvokeAloneAndBesideAnother() throws {
        func hit(_ n: Int64, _ start: Double, _ end: Double, thaw: Double, exec: Double) -> RequestRecord {
            var r = RequestRecord(request: n, handler: 0, arrivalNanos: Nanos.fromMillis(start), startNanos: Nanos.fromMillis(start),
                                  endNanos: Nanos.fromMillis(end), tier: .handler, zygote: nil)
            r.createNanos = Nanos.fromMillis(thaw); r.execNanos = Nanos.fromMillis(exec)
            return r
        }
        // 1 and 2 overlap; 3 is alone; 4 starts as 3 ends (not an overlap); 5 lies inside 6.
        let few = [hit(1, 0, 10, thaw: 1, exec: 2), hit(2, 5, 15, thaw: 1, exec: 2), hit(3, 20, 30, thaw: 1, exec: 2),
                   hit(4, 30, 35, thaw: 1, exec: 2), hit(6, 40, 60, thaw: 1, exec: 2), hit(5, 45, 50, thaw: 1, exec: 2)]
        XCTAssertEqual(CalibrateJob.servedAlone(few).map(\.request), [3, 4])
        var costs = RuntimeCosts()
        costs.thawMillis = 0.1; costs.thawedInvokeOverheadMillis = 0.5
        XCTAssertFalse(CalibrateJob.useServedHits(few, in: &costs, log: { _ in }))
        XCTAssertEqual(costs.thawMillis, 0.1)
        // 100 alone (thaw 0.05, invoke 1.2 with the 1 ms of work), then 100 in overlapping pairs (thaw 0.08, invoke 1.9).
        var rs: [RequestRecord] = []
        for i in 0..<100 { rs.append(hit(Int64(i), Double(i) * 10, Double(i) * 10 + 2, thaw: 0.05, exec: 1.2)) }
        for i in 0..<50 {
            let t = 2000 + Double(i) * 10
            rs.append(hit(Int64(100 + 2 * i), t, t + 3, thaw: 0.08, exec: 1.9))
            rs.append(hit(Int64(101 + 2 * i), t + 1, t + 4, thaw: 0.08, exec: 1.9))
        }
        XCTAssertTrue(CalibrateJob.useServedHits(rs.shuffled(), in: &costs, log: { _ in }))
        XCTAssertEqual(costs.thawMillis, 0.05, accuracy: 1e-9)
        XCTAssertEqual(costs.thawedInvokeOverheadMillis, 0.2, accuracy: 1e-9)
        XCTAssertEqual(costs.spreads["thawed_invoke_overhead_ms"]?.median ?? 0, 0.2, accuracy: 1e-9)
        XCTAssertEqual(costs.contendedSpreads["thaw_ms"]?.median ?? 0, 0.08, accuracy: 1e-9)
        XCTAssertEqual(costs.contendedSpreads["thawed_invoke_overhead_ms"]?.median ?? 0, 0.9, accuracy: 1e-9)
    }
}
