import CachePolicy
import Foundation
import XCTest
@testable import Server

/// The `Pipsqueak-Record` header, written by hand by the server and read back by the load generator: valid
/// JSON with the same fields and values `JSONSerialization` gives, and the record it came from (to the µs).
final class RecordHeaderTests: XCTestCase {
    func testTheHeaderIsJSONAndReadsBackAsItsRecord() throws {
        let nanos: [Int64] = [0, 1, 499, 500, 999, 1_000, 1_499_999, 1_500_000, 1_234_567, 98_765_432_109, 3_600_000_000_000]
        var rng = SystemRandomNumberGenerator()
        for k in 0..<200 {
            func n() -> Int64 { k < nanos.count ? nanos[k] : Int64.random(in: 0...5_000_000_000, using: &rng) }
            let arrival = n()
            var r = RequestRecord(request: Int64(k + 1), handler: 3, arrivalNanos: arrival, startNanos: arrival + n(),
                                  endNanos: arrival + n() + n(), tier: Tier.allCases[k % 3], zygote: k % 4 == 0 ? nil : Int64(k))
            r.downloadNanos = n(); r.installNanos = n(); r.createNanos = n(); r.forkNanos = n()
            r.importNanos = n(); r.initNanos = n(); r.execNanos = n(); r.evictions = k % 5; r.estimated = k % 2 == 0
            // A started container reports its imports' and init's time on a core; a handler-cache hit does not.
            let onCPU = k % 3 != 0
            if onCPU { r.importCPUNanos = n(); r.initCPUNanos = n() }
            // and its processes' time on a core and waiting for one until ready, where the worker read them.
            let sched = onCPU && k % 4 != 1
            if sched { r.readyCPUNanos = n(); r.readyWaitNanos = n() }
            let header = WorkerServer.recordHeader(r)
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any], header)
            XCTAssertEqual(Set(o.keys), Set(["arrival_ms", "create_ms", "download_ms", "end_ms", "estimated", "evictions", "exec_ms",
                                             "fork_ms", "import_ms", "init_ms", "install_ms", "queue_ms", "request", "start_ms", "tier", "zygote"]
                                            + (onCPU ? ["import_cpu_ms", "init_cpu_ms"] : []) + (sched ? ["ready_cpu_ms", "ready_wait_ms"] : [])))
            if let v = r.importCPUNanos, let w = r.initCPUNanos {
                XCTAssertEqual((o["import_cpu_ms"] as? NSNumber)?.doubleValue ?? -1, (Double(v) / 1e3).rounded() / 1e3, accuracy: 1e-9)
                XCTAssertEqual((o["init_cpu_ms"] as? NSNumber)?.doubleValue ?? -1, (Double(w) / 1e3).rounded() / 1e3, accuracy: 1e-9)
            }
            if let v = r.readyCPUNanos, let w = r.readyWaitNanos {
                XCTAssertEqual((o["ready_cpu_ms"] as? NSNumber)?.doubleValue ?? -1, (Double(v) / 1e3).rounded() / 1e3, accuracy: 1e-9)
                XCTAssertEqual((o["ready_wait_ms"] as? NSNumber)?.doubleValue ?? -1, (Double(w) / 1e3).rounded() / 1e3, accuracy: 1e-9)
            }
            func ms(_ v: Int64) -> Double { (Double(v) / 1e3).rounded() / 1e3 }
            for (key, v) in [("arrival_ms", r.arrivalNanos), ("start_ms", r.startNanos), ("end_ms", r.endNanos), ("queue_ms", r.queueNanos),
                             ("download_ms", r.downloadNanos), ("install_ms", r.installNanos), ("create_ms", r.createNanos),
                             ("fork_ms", r.forkNanos), ("import_ms", r.importNanos), ("init_ms", r.initNanos), ("exec_ms", r.execNanos)] {
                XCTAssertEqual((o[key] as? NSNumber)?.doubleValue ?? -1, ms(v), accuracy: 1e-9, "\(key) in \(header)")
            }
            XCTAssertEqual(o["tier"] as? String, r.tier.rawValue)
            XCTAssertEqual((o["zygote"] as? NSNumber)?.int64Value, r.zygote)
            XCTAssertEqual(o["evictions"] as? Int, r.evictions)
            XCTAssertEqual(o["estimated"] as? Bool, r.estimated)
            // Read back: the record to the µs, the same as through JSONSerialization.
            func us(_ v: Int64) -> Int64 { (v + 500) / 1000 * 1000 }
            var want = RequestRecord(request: 7, handler: 2, arrivalNanos: us(r.arrivalNanos), startNanos: us(r.startNanos),
                                     endNanos: us(r.endNanos), tier: r.tier, zygote: r.zygote)
            want.downloadNanos = us(r.downloadNanos); want.installNanos = us(r.installNanos); want.createNanos = us(r.createNanos)
            want.forkNanos = us(r.forkNanos); want.importNanos = us(r.importNanos); want.initNanos = us(r.initNanos)
            want.execNanos = us(r.execNanos); want.evictions = r.evictions; want.estimated = r.estimated
            want.importCPUNanos = r.importCPUNanos.map(us); want.initCPUNanos = r.initCPUNanos.map(us)
            want.readyCPUNanos = r.readyCPUNanos.map(us); want.readyWaitNanos = r.readyWaitNanos.map(us)
            XCTAssertEqual(OpenLoopClient.record(header, request: 7, handler: 2), want, header)
            XCTAssertEqual(OpenLoopClient.recordFromJSON(header, request: 7, handler: 2), want, header)
        }
    }

    /// What the direct reader does not take goes through `JSONSerialization`; what is not a record is nil.
    func testHeadersTheDirectReaderLeavesAlone() {
        XCTAssertNil(OpenLoopClient.flatFields(#"{"a":{"b":1}}"#))
        XCTAssertNil(OpenLoopClient.flatFields(#"{"a":"x\"y"}"#))
        XCTAssertNil(OpenLoopClient.flatFields(#"{"a":[1]}"#))
        XCTAssertNil(OpenLoopClient.flatFields(#"{"a":1"#))
        XCTAssertNil(OpenLoopClient.flatFields(#"{"a":1} x"#))
        XCTAssertNil(OpenLoopClient.flatFields(#"{"a":one}"#))
        XCTAssertEqual(OpenLoopClient.flatFields(#" { "a" : 1.5 , "b":"w", "c":null, "d":true } "#), ["a": "1.5", "b": "w", "c": "null", "d": "true"])
        XCTAssertEqual(OpenLoopClient.flatFields("{}"), [:])
        let escaped = #"{"tier": "import", "zygote": 2, "start_ms": 1.5, "end_ms": 2.25, "arrival_ms": 1, "note": "a\"b", "extra": [1]}"#
        let r = OpenLoopClient.record(escaped, request: 1, handler: 0)
        XCTAssertEqual(r?.tier, .import)
        XCTAssertEqual(r?.zygote, 2)
        XCTAssertEqual(r?.endNanos, 2_250_000)
        XCTAssertNil(OpenLoopClient.record(#"{"tier":"warm"}"#, request: 1, handler: 0))
        XCTAssertNil(OpenLoopClient.record("not json", request: 1, handler: 0))
    }
}
