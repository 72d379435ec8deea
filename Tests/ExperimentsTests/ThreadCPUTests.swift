import Foundation
import Runtime
import XCTest
@testable import Experiments
@testable import Server

/// This process's CPU by kind of thread: each thread's own account from /proc, told apart by name.
final class ThreadCPUTests: XCTestCase {
    func testKindsByName() {
        XCTAssertEqual(ThreadCPU.kind(of: "pipsqueak-core-"), "cores")
        XCTAssertEqual(ThreadCPU.kind(of: "pipsqueak-maint"), "maintenance")
        XCTAssertEqual(ThreadCPU.kind(of: "NIO-ELT-3-#1"), "load generator")
        XCTAssertEqual(ThreadCPU.kind(of: "loadgen-0"), "load generator")
        XCTAssertEqual(ThreadCPU.kind(of: "NIO-SGLTN-1-#0"), "server")
        XCTAssertEqual(ThreadCPU.kind(of: "oot.default-qos"), "other")
    }

    /// Between two readings: each live thread's difference (one begun since counts whole; one whose id now
    /// names another thread counts whole too), summed by kind in the reported order.
    func testBetweenTwoReadings() throws {
        func t(_ tid: Int32, _ name: String, _ cpu: Int64, _ wait: Int64) -> Sys.ThreadTimes {
            Sys.ThreadTimes(tid: tid, name: name, cpuNanos: cpu, waitNanos: wait)
        }
        let before = [t(1, "pipsqueak", 100, 10), t(2, "NIO-SGLTN-1-#0", 50, 5), t(3, "loadgen-0", 20, 2), t(9, "gone", 7, 7)]
        let after = [t(1, "pipsqueak", 130, 12), t(2, "NIO-SGLTN-1-#0", 80, 9), t(3, "NIO-ELT-2-#0", 40, 4),
                     t(4, "loadgen-1", 15, 1), t(5, "pipsqueak-core-", 60, 6), t(6, "pipsqueak-maint", 8, 3)]
        let c = try XCTUnwrap(ThreadCPU.between(before, after))
        XCTAssertEqual(c.kinds.map(\.kind), ["cores", "maintenance", "load generator", "server", "other"])
        XCTAssertEqual(c.kinds.map(\.cpuNanos), [60, 8, 55, 30, 30])
        XCTAssertEqual(c.kinds.map(\.waitNanos), [6, 3, 5, 4, 2])
        XCTAssertEqual(c.kinds.map(\.threads), [1, 1, 2, 1, 1])
        XCTAssertEqual(c.cpuNanos, 183)
        XCTAssert(c.describe(served: 5, processNanos: 200).contains("threads gone by the end 0.00 s"))
        XCTAssertNil(ThreadCPU.between(before, []))
    }

    /// The real thing: work run on a `ThreadExecutor` is on its named threads' account in /proc, and so the
    /// load generator's.
    func testAnExecutorsThreadsCarryItsWork() async throws {
        guard !Sys.threadTimes().isEmpty else { throw XCTSkip("no /proc/self/task/*/schedstat here") }
        let e = ThreadExecutor(name: "loadgen", threads: 1)
        let before = Sys.threadTimes()
        let spun = await withTaskExecutorPreference(e) { () async -> Int64 in
            let c0 = Sys.threadCPUNanos()
            var x: UInt64 = 1
            while Sys.threadCPUNanos() - c0 < 30_000_000 { x = x &* 6364136223846793005 &+ 1 }
            return x == 0 ? -1 : Sys.threadCPUNanos() - c0
        }
        let c = try XCTUnwrap(ThreadCPU.between(before, Sys.threadTimes()))
        let load = try XCTUnwrap(c.kinds.first { $0.kind == "load generator" })
        XCTAssertGreaterThanOrEqual(load.cpuNanos, 25_000_000, "the spin's \(spun) ns on the executor's thread: \(c)")
        XCTAssert(Sys.threadTimes().contains { $0.name == "loadgen-0" })
        e.shutdown()
        var left = true
        for _ in 0..<100 where left { left = Sys.threadTimes().contains { $0.name == "loadgen-0" }; if left { Sys.sleep(micros: 10_000) } }
        XCTAssertFalse(left, "its thread is gone")
    }

    /// The worker's cores on the same named threads: one core and a queue of one take two requests, a third
    /// is refused at once; stopping lets both finish.
    func testTheCorePoolsBoundOnItsNamedThreads() async throws {
        let pool = CorePool(cores: 1, queueLimit: 1)
        do { _ = try await pool.submit { 0 }; XCTFail("a pool not started refuses") } catch is CorePool.Full {}
        pool.start()
        let gate = DispatchSemaphore(value: 0)
        async let first = pool.submit { () -> String in
            gate.wait()
            return ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        while pool.running == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        async let second = pool.submit { 2 }
        while pool.waiting == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        do { _ = try await pool.submit { 3 }; XCTFail("the queue is full") } catch is CorePool.Full {}
        gate.signal()
        let name = try await first
        XCTAssertEqual(name, "pipsqueak-core-", "the kernel's name for a core's thread (15 bytes)")
        XCTAssertEqual(ThreadCPU.kind(of: name), "cores")
        let two = try await second
        XCTAssertEqual(two, 2)
        pool.stop()
        do { _ = try await pool.submit { 4 }; XCTFail("a stopped pool refuses") } catch is CorePool.Full {}
    }
}
