import CachePolicy
import Foundation
import Results
import Runtime
import Server
import Simulation
import Workload

extension RunJob {
    /// `run` over HTTP: the trace's requests go, open loop, to a worker's `/run/<handler>`, either the one at
    /// `url` or one started here (loopback, a port the kernel picks) with the trace's handlers generated in
    /// the registry layout. Records come from each reply's `Pipsqueak-Record` header, so both cases write the
    /// same records; the decision log only when the worker is this process's.
    func runOverHTTP(onRecord: @escaping (RequestRecord) -> Void, onDecision: @escaping (String) -> Void,
                     onStart: (RuntimeWorker) -> Void, observe: (RuntimeWorker) -> Void) throws -> SimulationSummary {
        let trace = try Trace(path: tracePath, handlersPath: handlersPath)
        var worker: RuntimeWorker?
        var server: WorkerServer?
        var decisions: DecisionLog?
        var header = ["made by: " + Provenance.madeBy("pipsqueak run --trace \(tracePath) --speed \(speed) --seed \(seed)\(limit.map { " --limit \($0)" } ?? "")\(url.map { " --url \($0)" } ?? " --cores \(cores) --queue \(queueLimit)")"),
                      "machine: \(MachineDescription.summary)"]
        let base: String
        if let u = url {
            base = u
            header.append("worker: \(u) (its configuration is its own)")
        } else {
            let (w, python) = try makeWorker(trace, cores: cores)
            worker = w
            // One core: zygotes are built before the next request (as the simulator's one-core model has it);
            // more: off the request path.
            w.backgroundMaintenance = cores > 1
            header += ["config: \(config.summary)", "python: \(python.version)"]
            if let d = decisionsPath { try ProjectPaths.ensureParent(of: d); decisions = try DecisionLog(path: d, comments: header) }
            w.lifecycle.onDecision = { decisions?.append($0); onDecision($0) }
            let registry = HandlerRegistry(root: "/nonexistent", worker: w)
            for h in 0..<trace.handlers.count { registry.preregister(trace.handlers[Int32(h)].id, id: Int32(h)) }
            var serve = ServeOptions()
            serve.port = 0; serve.cores = cores; serve.queueLimit = queueLimit
            let s = WorkerServer(worker: w, registry: registry, options: serve)
            server = s
            let port: Int
            do { port = try s.startInBackground() } catch { w.shutdown(); throw error }
            base = "http://127.0.0.1:\(port)"
            onStart(w)
        }
        defer {
            server?.stopAndWait()
            if let w = worker { observe(w); w.shutdown() }
        }
        let records = try recordsPath.map { r in
            try ProjectPaths.ensureParent(of: r)
            return try RecordWriter(path: r, handlers: trace.handlers, comments: header)
        }
        let stamps = try timestampsPath.map { t in
            try ProjectPaths.ensureParent(of: t)
            return try ReqBenchTimestamps(path: t, handlers: trace.handlers, comments: header)
        }
        let collected = Collected()
        let client = try OpenLoopClient(baseURL: base, timeoutSeconds: runtime.requestTimeoutSeconds + 60)
        let reader = try trace.makeReader()
        let names = trace.handlers.handlers.map(\.id)
        let start = Sys.monotonicNanos()
        var n = 0
        let limit = self.limit, speed = self.speed, progress = self.progress, onReplayed = self.onReplayed
        // The reader is used on the replay's task only; records go to the writers under `collected`'s lock.
        let next = { () throws -> Invocation? in
            guard limit.map({ n < $0 }) ?? true, let inv = try reader.nextInvocation() else { return nil }
            n += 1
            return inv
        }
        let warm = warmUp ? Array(Set(names)).sorted() : []
        let workerCores: Int = try waitFor {
            // The worker's cores (for the load the summary reports), from its own /stats.
            let cores = ((await client.stats())?["cores"] as? Int) ?? 0
            defer { Task { await client.shutdown() } }
            for (i, h) in warm.enumerated() {
                let status = await client.call(h)
                progress("warm-up \(i + 1)/\(warm.count): \(h) → \(status)")
            }
            try await client.replay(names: names, speed: speed, next: next, shouldStop: { RunJob.interrupted }) { o in
                collected.add(o) { s in
                    records?.append(o.record)
                    stamps?.append(o.record)
                    onRecord(o.record)
                    if !o.record.error.isEmpty { progress("request \(o.record.request) (\(names[Int(o.record.handler)])): \(o.record.error)") }
                    if s.requests % 50 == 0 {
                        progress(String(format: "[%d] %.1f s; handler %.0f%%, import %.0f%%, cold %.0f%%; %d errors", s.requests,
                                        Double(Sys.monotonicNanos() - start) / 1e9, 100 * s.ratio(.handler), 100 * s.ratio(.import),
                                        100 * s.ratio(.cold), s.errors))
                    }
                }
            }
            onReplayed()
            return cores
        }
        var summary = collected.summary
        // The load counts the calibrated dispatch per served request, as the simulator's does.
        summary.dispatchNanos = Nanos.fromMillis(try SimulateJob().runtimeCosts().dispatchMillis)
        summary.busyNanos += summary.dispatchNanos * Int64(summary.served)
        summary.simulatedSeconds = Double(Sys.monotonicNanos() - start) / 1e9
        if let w = worker {
            summary.zygotesCreated = w.lifecycle.zygotesReady
            summary.zygotesFailed = w.lifecycle.zygotesFailed
            summary.pausesFailed = w.lifecycle.pausesFailed
            summary.installsFailed = w.lifecycle.installsFailed
        }
        summary.rejected = collected.rejected
        summary.cores = workerCores > 0 ? workerCores : cores
        try records?.commit()
        try stamps?.commit()
        try decisions?.commit()
        return summary
    }
}

/// Outcomes as they come back, from the client's threads: the summary, and refusals counted.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var summary = SimulationSummary()
    private(set) var rejected = 0
    func add(_ o: OpenLoopClient.Outcome, then body: (SimulationSummary) -> Void) {
        lock.withLock {
            summary.add(o.record)
            if o.status == 503 { rejected += 1 }
            body(summary)
        }
    }
}

/// Runs `body` to its end from synchronous code (a job runs on its own thread, not in a task) and returns
/// its value or throws its error. The body's captures are used by it alone while the caller waits.
func waitFor<T>(_ body: @escaping () async throws -> T) throws -> T {
    let box = AsyncOutcome(body)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await box.body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

final class AsyncOutcome<T>: @unchecked Sendable {
    let body: () async throws -> T
    var result: Result<T, Error>?
    init(_ body: @escaping () async throws -> T) { self.body = body }
}

/// Phase timestamps per request, as OpenLambda's ReqBench adapter records them: when the worker received
/// it, created its container (start, end), unpaused it, imported, executed, and whether no zygote served it.
/// ms since the run's origin, derived from the record's phases (which follow each other in this order).
final class ReqBenchTimestamps {
    let writer: OutputFile
    let handlers: HandlerTable
    static let header = "request,handler,received_ms,create_start_ms,create_end_ms,unpause_ms,import_start_ms,import_end_ms,exec_start_ms,exec_end_ms,zygote_miss,error"

    init(path: String, handlers: HandlerTable, comments: [String]) throws {
        writer = try OutputFile(path: path)
        self.handlers = handlers
        for c in comments { writer.write("# \(c)\n") }
        writer.write(Self.header + "\n")
    }

    func append(_ r: RequestRecord) {
        func ms(_ n: Int64) -> String { String(format: "%.3f", Double(n) / 1e6) }
        if !r.error.isEmpty {
            writer.write("\(r.request),\(handlers[r.handler].id),\(ms(r.arrivalNanos)),,,,,,,,,\(CSVReader.escape(r.error))\n")
            return
        }
        let createStart = r.startNanos + r.downloadNanos + r.installNanos
        let createEnd = createStart + r.createNanos + r.forkNanos
        let importEnd = createEnd + r.importNanos
        let execStart = importEnd + r.initNanos
        let unpause = r.tier == .handler ? ms(createStart) : ""
        writer.write("\(r.request),\(handlers[r.handler].id),\(ms(r.arrivalNanos)),\(ms(createStart)),\(ms(createEnd)),\(unpause),\(ms(createEnd)),\(ms(importEnd)),\(ms(execStart)),\(ms(execStart + r.execNanos)),\(r.tier == .cold ? 1 : 0),\n")
    }

    func commit() throws { try writer.commit() }
}
