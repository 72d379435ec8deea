import CachePolicy
import Workload
import XCTest
import TestSupport
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Runtime
import Server
@testable import Experiments

/// `pipsqueak serve` as a user runs it: its own process, a registry of handlers, real HTTP (the project's HTTP/1.1 client over NIO, as `run --url` uses).
final class ServeTests: XCTestCase {
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: .fragmentsAllowed) }
        /// The request's record (the Pipsqueak-Record header).
        var record: [String: Any] { (headers["pipsqueak-record"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]) ?? [:] }
    }

    /// A worker process serving `registry`; stopped (SIGTERM) by `stop`.
    final class Worker {
        let process: SpawnedProcess
        let port: Int
        let client: HTTP1Client
        init(_ pipsqueak: PipsqueakBinary, dir: String, registry: String, extra: [String]) async throws {
            port = 20000 + Int(getpid() % 20000)
            client = try HTTP1Client(baseURL: "http://127.0.0.1:\(port)", group: MultiThreadedEventLoopGroup.singleton)
            process = try pipsqueak.start(["serve", "--registry", registry, "--port", "\(port)", "--packages", dir + "/packages.csv",
                                           "--wheelhouse", dir + "/wheelhouse", "--offline"] + extra)
            for _ in 0..<600 {
                if let r = try? await get("/status"), r.status == 200 { return }
                guard process.isRunning else { break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            await client.shutdown()
            throw XCTSkip("the worker did not start")
        }

        func get(_ path: String) async throws -> Reply { try await send(post: false, path, body: nil) }
        func post(_ path: String, _ body: String?) async throws -> Reply { try await send(post: true, path, body: body) }

        func send(post: Bool, _ path: String, body: String?) async throws -> Reply {
            let res = try await client.execute(post ? .POST : .GET, path, body: body, timeoutSeconds: 60, maxBody: 1 << 24)
            var h: [String: String] = [:]
            for f in res.headers { h[f.name.lowercased()] = f.value }
            return Reply(status: res.status, headers: h, body: res.text)
        }

        func stop() async -> Int32? {
            await client.shutdown()
            process.signal(SIGTERM)
            process.wait(timeoutSeconds: 60)
            return process.status
        }
    }

    func prerequisites() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
    }

    func write(_ registry: String, _ name: String, _ code: String, requirements: String? = nil) throws {
        try FileManager.default.createDirectory(atPath: registry + "/" + name, withIntermediateDirectories: true)
        try code.write(toFile: registry + "/\(name)/f.py", atomically: true, encoding: .utf8)
        if let r = requirements { try r.write(toFile: registry + "/\(name)/requirements.txt", atomically: true, encoding: .utf8) }
    }

    /// Every status code of the API, a handler with a requirements.txt, handlers added and changed while it
    /// runs, a hostile handler that cannot reach the API, /stats and /metrics.
    func testTheAPIsAnswers() async throws {
        try prerequisites()
        let pipsqueak = try PipsqueakBinary()
        let dir = "/tmp/pipsqueak-serve-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyWheels.make(in: dir, [("tinyy", "def shout(s):\n    return s.upper()\n", 1)])
        let reg = dir + "/registry"
        try write(reg, "hello", "def f(event):\n    return {'hi': event}\n")
        try write(reg, "boom", "def f(event):\n    raise ValueError('bad input %r' % (event,))\n")
        try write(reg, "slow", "import time\ndef f(event):\n    time.sleep(event['s'])\n    return 'slept'\n")
        try write(reg, "upper", "import tinyy\ndef f(event):\n    return tinyy.shout(event['s'])\n", requirements: "# pinned\ntinyy==1.0\n")
        try write(reg, "loose", "def f(event):\n    return 1\n", requirements: "tinyy>=1.0\n")
        try write(reg, "unknown", "def f(event):\n    return 1\n", requirements: "tinyy==2.0\n")
        // A package that keeps a cache under HOME (as matplotlib does) finds it writable: the sandbox's /tmp.
        try write(reg, "home", "import os\ndef f(event):\n    with open(os.path.expanduser('~/.cache-of-a-package'), 'w') as out:\n        out.write('x')\n    return os.environ['HOME']\n")
        // Native libraries' thread pools are capped at one thread (a request holds one core).
        try write(reg, "threads", "import os\ndef f(event):\n    return [os.environ.get(k) for k in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')]\n")
        let w = try await Worker(pipsqueak, dir: dir, registry: reg, extra: ["--cores", "2", "--request-timeout", "3", "--max-body-mb", "0.001"])

        var r = try await w.post("/run/hello", "{\"x\": 1}")
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssertEqual((r.json as? [String: Any])?["hi"] as? [String: Int], ["x": 1])
        XCTAssertEqual(r.record["tier"] as? String, "import")
        r = try await w.post("/run/hello", "[1, 2]")
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssertEqual(r.record["tier"] as? String, "handler", "the second request thaws the first's container")
        r = try await w.post("/run/hello", nil)
        XCTAssertEqual(r.body.trimmingCharacters(in: .whitespacesAndNewlines), "{\"hi\":null}", "no body: the event is None")

        r = try await w.post("/run/home", "{}")
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssertEqual(r.json as? String, "/tmp")
        r = try await w.post("/run/threads", "{}")
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssertEqual(r.json as? [String], ["1", "1", "1"])

        r = try await w.post("/run/nope", "{}")
        XCTAssertEqual(r.status, 404, r.body)
        r = try await w.post("/run/..%2Fetc", "{}")
        XCTAssertEqual(r.status, 404, r.body)
        r = try await w.post("/run/hello", "{not json")
        XCTAssertEqual(r.status, 400, r.body)
        r = try await w.post("/run/hello", "[" + String(repeating: "1,", count: 1000) + "1]")
        XCTAssertEqual(r.status, 413, r.body)

        r = try await w.post("/run/boom", "7")
        XCTAssertEqual(r.status, 500, r.body)
        let err = r.json as? [String: Any]
        XCTAssertEqual(err?["error"] as? String, "ValueError: bad input 7")
        XCTAssert((err?["traceback"] as? String)?.contains("raise ValueError") == true, r.body)
        r = try await w.post("/run/boom", "8")
        XCTAssertEqual(r.record["tier"] as? String, "handler", "a handler that raised keeps its container")

        r = try await w.post("/run/slow", "{\"s\": 30}")
        XCTAssertEqual(r.status, 504, r.body)
        r = try await w.post("/run/hello", "{}")
        XCTAssertEqual(r.status, 200, "a timed-out request takes nothing else down")

        r = try await w.post("/run/upper", "{\"s\": \"quiet\"}")
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssertEqual(r.json as? String, "QUIET")
        r = try await w.post("/run/loose", "{}")
        XCTAssertEqual(r.status, 500)
        XCTAssert(r.body.contains("requirements.txt line 1: expected an exact pin"), r.body)
        r = try await w.post("/run/unknown", "{}")
        XCTAssertEqual(r.status, 500)
        XCTAssert(r.body.contains("pins tinyy==2.0, but this worker serves tinyy 1.0"), r.body)

        // Added and changed while it runs: picked up by the next request, no restart.
        try write(reg, "late", "def f(event):\n    return 'v1'\n")
        r = try await w.post("/run/late", "{}")
        XCTAssertEqual(r.json as? String, "v1")
        try write(reg, "late", "def f(event):\n    return 'version two'\n")
        r = try await w.post("/run/late", "{}")
        XCTAssertEqual(r.json as? String, "version two", "a changed f.py is a new version, not the paused old one")

        // A hostile handler calls the worker's API: its container has no route to it.
        try write(reg, "hostile", """
            import socket
            def f(event):
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect(("127.0.0.1", \(w.port)))
                    s.sendall(b"POST /run/hello HTTP/1.0\\r\\nContent-Length: 2\\r\\n\\r\\n{}")
                    return "reached: " + s.recv(100).decode()
                except OSError as e:
                    return "blocked: " + type(e).__name__
            """)
        r = try await w.post("/run/hostile", "{}")
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssert((r.json as? String)?.hasPrefix("blocked") == true, r.body)

        r = try await w.get("/stats")
        let stats = try XCTUnwrap(r.json as? [String: Any])
        let requests = try XCTUnwrap(stats["requests"] as? [String: Int])
        XCTAssertGreaterThanOrEqual(requests["handler"] ?? 0, 2)
        XCTAssertGreaterThanOrEqual(requests["error"] ?? 0, 2)
        XCTAssertNotNil((stats["caches"] as? [String: Any])?["import"])
        r = try await w.get("/metrics")
        XCTAssert(r.body.contains("pipsqueak_requests_total{tier=\"handler\"}"), r.body)
        XCTAssert(r.body.contains("pipsqueak_phase_duration_seconds_bucket{phase=\"fork\""), r.body)

        let status = await w.stop()
        XCTAssertEqual(status, 0)
        XCTAssertEqual(try Cgroups.detect().leftovers().filter { $0.hasPrefix("run\(w.process.pid)w") }, [])
        XCTAssertEqual(Sys.mounts(under: "/run/pipsqueak/run\(w.process.pid)w"), [])
    }

    /// On cgroup v1, each core's thread that has served (both, after two requests at once) is in the worker's
    /// maintenance group at a container's weight; its HTTP threads stay in its own group.
    func assertCoresInTheMaintenanceGroup(pid: Int32) throws {
        let cg = try Cgroups.detect()
        guard cg.maintenanceGroupDir(pid: pid) != nil else { return }
        func cpuGroup(_ tid: String) throws -> String {
            let text = try Sys.readFile("/proc/\(pid)/task/\(tid)/cgroup")
            let line = try XCTUnwrap(text.split(separator: "\n").first { $0.split(separator: ":")[1].split(separator: ",").contains("cpu") })
            return String(line.split(separator: ":", maxSplits: 2)[2])
        }
        var cores = 0, others: [String] = []
        for tid in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
            let name = ((try? Sys.readFile("/proc/\(pid)/task/\(tid)/comm")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if name.hasPrefix("pipsqueak-core") {
                cores += 1
                XCTAssertEqual(try cpuGroup(tid), "/" + Cgroups.parentName + "/" + Cgroups.maintenanceGroupName(pid: pid), "core thread \(tid)")
            } else if name != RuntimeWorker.maintenanceThreadName {
                others.append(try cpuGroup(tid))
            }
        }
        XCTAssertEqual(cores, 2)
        XCTAssertEqual(Set(others), ["/" + Cgroups.parentName + "/" + Cgroups.selfGroupName(pid: pid)])
    }

    /// Requests run C at a time and overlap; the queue's bound answers 503 with Retry-After; `cleanup` leaves
    /// the live worker alone; SIGTERM lets the request in flight finish, then leaves nothing behind.
    func testConcurrencyQueueAndDrain() async throws {
        try prerequisites()
        let pipsqueak = try PipsqueakBinary()
        let dir = "/tmp/pipsqueak-serve-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyWheels.make(in: dir, [("tinyy", "V = 1\n", 1)])
        let reg = dir + "/registry"
        try write(reg, "slow", "import time\ndef f(event):\n    time.sleep(event['s'])\n    return 'slept'\n")
        let w = try await Worker(pipsqueak, dir: dir, registry: reg, extra: ["--cores", "2", "--queue", "1"])

        // Two at once overlap (each on its own container).
        async let a = w.post("/run/slow", "{\"s\": 1}")
        async let b = w.post("/run/slow", "{\"s\": 1}")
        let (ra, rb) = try await (a, b)
        XCTAssertEqual([ra.status, rb.status], [200, 200])
        let (sa, ea) = (ra.record["start_ms"] as? Double ?? 0, ra.record["end_ms"] as? Double ?? 0)
        let (sb, eb) = (rb.record["start_ms"] as? Double ?? 0, rb.record["end_ms"] as? Double ?? 0)
        XCTAssert(sa < eb && sb < ea, "the two requests ran at the same time: [\(sa), \(ea)] and [\(sb), \(eb)]")
        try assertCoresInTheMaintenanceGroup(pid: w.process.pid)

        // Two cores and one place in the queue: of four at once, one is refused.
        let replies = try await withThrowingTaskGroup(of: Reply.self) { g in
            for _ in 0..<4 { g.addTask { try await w.post("/run/slow", "{\"s\": 2}") } }
            return try await g.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(replies.map(\.status).sorted(), [200, 200, 200, 503], replies.map(\.body).joined())
        XCTAssertEqual(replies.first { $0.status == 503 }?.headers["retry-after"], "1")

        let live = try CleanupJob.run(dryRun: false, owner: w.process.pid)
        XCTAssert(live.allSatisfy { $0.hasPrefix("left alone") } && !live.isEmpty, "\(live)")

        // SIGTERM while a request runs: it still gets its answer, then everything goes.
        async let inFlight = w.post("/run/slow", "{\"s\": 2}")
        try await Task.sleep(nanoseconds: 500_000_000)
        w.process.signal(SIGTERM)
        let last = try await inFlight
        XCTAssertEqual(last.status, 200, last.body)
        let status = await w.stop()
        XCTAssertEqual(status, 0)
        XCTAssertEqual(try Cgroups.detect().leftovers().filter { $0.hasPrefix("run\(w.process.pid)w") }, [])
        XCTAssertFalse(Sys.exists("/run/pipsqueak/run\(w.process.pid)w1"))
    }
}

/// `pipsqueak run` over HTTP: a worker started in this process on loopback, the trace sent open loop, two
/// cores; records from the replies' headers, ReqBench-style timestamps beside them.
final class RunOverHTTPTests: XCTestCase {
    func testATraceReplayedOverHTTPOnTwoCores() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let dir = "/tmp/pipsqueak-runhttp-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyWheels.make(in: dir, [("alpha", "import time\ntime.sleep(0.02)\n", 20)])
        let (hs, body) = try TraceGenerator.microbenchmark(package: "alpha", handlers: 4, rate: 20, seconds: 2, seed: 1)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        var job = RunJob()
        job.tracePath = dir + "/t.csv"; job.packagesPath = dir + "/packages.csv"; job.wheelhouse = dir + "/wheelhouse"
        job.runtime.stateDirectory = dir + "/state"; job.runtime.packageDirectory = dir + "/pkgs"
        job.overHTTP = true; job.cores = 2; job.limit = 30
        job.recordsPath = dir + "/records.csv"; job.decisionsPath = dir + "/decisions.log"; job.timestampsPath = dir + "/ts.csv"
        var records: [RequestRecord] = []
        let summary = try job.run(onRecord: { records.append($0) })
        XCTAssertEqual(summary.requests, 30)
        XCTAssertEqual(summary.errors, 0, records.map(\.error).filter { !$0.isEmpty }.joined(separator: "\n"))
        XCTAssertEqual(Set(records.map(\.request)), Set(1...30), "every request once, numbered in trace order")
        XCTAssertGreaterThan(records.filter { $0.tier == .handler }.count, 0, "repeat requests thaw paused containers")
        XCTAssert(records.allSatisfy { $0.endNanos >= $0.startNanos && $0.startNanos >= $0.arrivalNanos })
        let decisions = try String(contentsOfFile: dir + "/decisions.log", encoding: .utf8)
        XCTAssertEqual(decisions.split(separator: "\n").filter { $0.hasPrefix("plan ") }.count, 30, "one plan per request in the worker's log")
        let ts = try String(contentsOfFile: dir + "/ts.csv", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(ts.first.map(String.init), "request,handler,received_ms,create_start_ms,create_end_ms,unpause_ms,import_start_ms,import_end_ms,exec_start_ms,exec_end_ms,zygote_miss,error")
        XCTAssertEqual(ts.count, 31)
        XCTAssertEqual(try Cgroups.detect().leftovers(), [], "the worker started for the run is gone")
    }
}
