import CachePolicy
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Runtime
import ServiceLifecycle
import Workload

/// Settings of `pipsqueak serve`'s HTTP side.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 5000
    /// Requests running at once (each on its own core's thread).
    public var cores = ProcessInfo.processInfo.activeProcessorCount
    /// Requests that may wait for a core; one more is refused with 503.
    public var queueLimit = 64
    /// The largest request body (the event), bytes; a larger one is refused with 413.
    public var maxBodyBytes = 6 * 1024 * 1024
    /// Seconds a client is told to wait (`Retry-After`) when the queue is full.
    public var retryAfterSeconds = 1
    public init() {}
}

/// `pipsqueak serve`: OpenLambda's worker API over Hummingbird, on a `RuntimeWorker`.
///
/// | route | answer |
/// |---|---|
/// | `POST /run/<name>` | the handler's JSON result (200); 404 no such handler, 400 body not JSON, 413 body too large, 500 the handler raised (`error`, `traceback`) or could not start, 503 queue full (`Retry-After`), 504 past the request timeout |
/// | `GET /status` | `ready` |
/// | `GET /stats` | JSON: requests per tier, hit ratios, cache contents, cores, queue |
/// | `GET /metrics` | Prometheus text: counters and latency histograms per tier and phase, cache gauges |
///
/// Every reply to `/run` carries the request's record in the `Pipsqueak-Record` header (JSON: tier, zygote,
/// arrival and each phase, ms), which `pipsqueak run --url` collects.
public final class WorkerServer: @unchecked Sendable {
    let backend: any ServeBackend
    public let options: ServeOptions
    let cores: CorePool
    let metrics = WorkerMetrics()
    /// Receives each finished request's record (the records CSV), from the core that served it.
    public var onRecord: (RequestRecord) -> Void = { _ in }

    /// A server whose requests `backend` carries out (`RuntimeWorker` and its registry, or a benchmark's floor).
    public init(backend: any ServeBackend, options: ServeOptions) {
        self.backend = backend
        self.options = options
        cores = CorePool(cores: options.cores, queueLimit: options.queueLimit)
    }

    /// The worker's server: requests planned by its lifecycle, handlers from `registry`.
    public convenience init(worker: RuntimeWorker, registry: HandlerRegistry, options: ServeOptions) {
        self.init(backend: WorkerBackend(worker: worker, registry: registry), options: options)
    }

    private let groupLock = NSLock()
    /// Entered while `run` runs; `stop` waits for it.
    private let running = DispatchGroup()
    private var group: ServiceGroup?
    private var stopRequested = false

    /// Serves until `stop()` (or, with `signals`, SIGTERM or SIGINT), then drains: requests in flight and
    /// queued finish (new ones are refused), then the cores stop. `onRunning` gets the bound port once the
    /// server listens (`options.port` 0: one the kernel picked).
    public func run(signals: Bool = true, onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        running.enter()
        defer { running.leave() }
        cores.start(prologue: { [backend] in backend.coreThreadStarted() })
        let router = Router()
        router.get("/status") { _, _ in "ready\n" }
        router.get("/stats") { [self] _, _ -> Response in
            let s = metrics.stats(cores: cores, caches: backend.cacheState(), handlers: backend.handlerCount)
            return Self.json(.ok, s)
        }
        router.get("/metrics") { [self] _, _ -> Response in
            metrics.update(cores: cores, caches: backend.cacheState())
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        router.post("/run/:name") { [self] request, context -> Response in
            try await run(request, name: context.parameters.get("name") ?? "")
        }
        var logger = Logger(label: "pipsqueak.serve")
        logger.logLevel = .warning
        let app = Application(router: router,
                              configuration: .init(address: .hostname(options.host, port: options.port), serverName: "pipsqueak"),
                              onServerRunning: { ch in onRunning(ch.localAddress?.port ?? 0) },
                              logger: logger)
        let g = ServiceGroup(services: [app], gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [], logger: logger)
        let stopNow: Bool = groupLock.withLock { group = g; return stopRequested }
        if stopNow { await g.triggerGracefulShutdown() }
        try await g.run()
        cores.stop()
    }

    /// Drains and stops a server `run` is serving (or will: a stop before it starts is kept), and returns
    /// once `run` has: every request done, the cores stopped.
    public func stop() async {
        let g: ServiceGroup? = groupLock.withLock { stopRequested = true; return group }
        await g?.triggerGracefulShutdown()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in running.notify(queue: .global()) { c.resume() } }
    }

    /// For synchronous callers: serves in the background (no signal handling) and returns the bound port once
    /// it listens. - Throws: the server's error when it cannot start (a port in use).
    public func startInBackground() throws -> Int {
        let ready = DispatchSemaphore(value: 0)
        let result = Outcome()
        Task.detached { [self] in
            do { try await run(signals: false) { p in result.port = p; ready.signal() } } catch { result.error = error; ready.signal() }
        }
        ready.wait()
        if let e = result.error { throw e }
        return result.port
    }

    /// For synchronous callers: serves until SIGTERM or SIGINT, then drains (see `run`); returns after.
    public func runUntilSignalled(onRunning: @escaping @Sendable (Int) -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let result = Outcome()
        Task.detached { [self] in
            do { try await run(signals: true, onRunning: onRunning) } catch { result.error = error }
            done.signal()
        }
        done.wait()
        if let e = result.error { throw e }
    }

    /// For synchronous callers: `stop`, waiting for the drain.
    public func stopAndWait() {
        let done = DispatchSemaphore(value: 0)
        Task.detached { [self] in await stop(); done.signal() }
        done.wait()
    }

    /// What a background run reports to the synchronous caller waiting for it.
    private final class Outcome: @unchecked Sendable {
        var port = 0
        var error: Error?
    }

    func run(_ request: Request, name: String) async throws -> Response {
        let handler: Int32
        do { handler = try backend.lookup(name) } catch let e as HandlerRegistry.LookupError {
            switch e {
            case .notFound(let m): return Self.json(.notFound, ["error": m])
            case .invalid(let m): return Self.json(.internalServerError, ["error": m])
            }
        }
        var req = request
        let body: ByteBuffer
        do { body = try await req.collectBody(upTo: options.maxBodyBytes) } catch {
            return Self.json(.contentTooLarge, ["error": "the request body is larger than \(options.maxBodyBytes) bytes (serve --max-body-mb)"])
        }
        let event: Any
        if body.readableBytes == 0 {
            event = NSNull() // no body: the handler gets None
        } else {
            do { event = try JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: .fragmentsAllowed) } catch {
                return Self.json(.badRequest, ["error": "the request body is not JSON: \(error.localizedDescription)"])
            }
        }
        let box = Box(event)
        let arrival = backend.now()
        let served: Box<RuntimeWorker.Served>
        do {
            served = try await cores.submit { [backend] in
                Box(backend.serve(handler: handler, event: box.value, arrivalNanos: arrival))
            }
        } catch is CorePool.Full {
            metrics.rejectedOne()
            var headers = HTTPFields()
            headers[.retryAfter] = "\(options.retryAfterSeconds)"
            headers[.contentType] = "application/json"
            return Response(status: .serviceUnavailable, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: "{\"error\": \"the queue is full (\(options.queueLimit) waiting for \(options.cores) cores)\"}\n")))
        }
        let s = served.value
        metrics.record(s.record, failed: s.failure != nil)
        onRecord(s.record)
        var headers = HTTPFields()
        headers[WorkerServer.recordField] = Self.recordHeader(s.record)
        switch s.failure {
        case nil:
            return Self.json(.ok, s.reply?["result"] ?? NSNull(), headers: headers)
        case .raised:
            return Self.json(.internalServerError, ["error": s.record.error, "traceback": s.reply?["traceback"] ?? NSNull()], headers: headers)
        case .timedOut:
            return Self.json(.gatewayTimeout, ["error": "the handler did not reply within the request timeout: \(s.record.error)"], headers: headers)
        case .failed:
            return Self.json(.internalServerError, ["error": s.record.error], headers: headers)
        }
    }

    static let recordField = HTTPField.Name("Pipsqueak-Record")!

    /// The record as one JSON object (ms to the µs, and the tier and zygote the plan chose), keys sorted.
    /// Written by hand: every reply carries one, and `JSONSerialization` over a dictionary of 16 boxed values
    /// (dynamic casts, a sort of the keys) was 13% of the server's CPU in a burst of cold starts (`perf`).
    static func recordHeader(_ r: RequestRecord) -> String {
        var out = "{"
        out.reserveCapacity(360)
        func ms(_ key: String, _ n: Int64) {
            out += "\"" + key + "\":"
            appendMillis(n, to: &out)
            out += ","
        }
        ms("arrival_ms", r.arrivalNanos); ms("create_ms", r.createNanos); ms("download_ms", r.downloadNanos)
        ms("end_ms", r.endNanos)
        out += "\"estimated\":" + (r.estimated ? "true" : "false") + ",\"evictions\":" + String(r.evictions) + ","
        ms("exec_ms", r.execNanos); ms("fork_ms", r.forkNanos)
        if let n = r.importCPUNanos { ms("import_cpu_ms", n) }
        ms("import_ms", r.importNanos)
        if let n = r.initCPUNanos { ms("init_cpu_ms", n) }
        ms("init_ms", r.initNanos)
        ms("install_ms", r.installNanos); ms("queue_ms", r.queueNanos)
        if let n = r.readyCPUNanos { ms("ready_cpu_ms", n) }
        if let n = r.readyWaitNanos { ms("ready_wait_ms", n) }
        out += "\"request\":" + String(r.request) + ","
        ms("start_ms", r.startNanos)
        // A tier's raw value is a plain word (no character JSON would escape).
        out += "\"tier\":\"" + r.tier.rawValue + "\",\"zygote\":" + (r.zygote.map { String($0) } ?? "null") + "}"
        return out
    }

    /// `n` ns as ms with three decimals (rounded to the µs, half away from zero): 1234567 → 1.235.
    static func appendMillis(_ n: Int64, to out: inout String) {
        let us = n >= 0 ? (n + 500) / 1000 : -((-n + 500) / 1000)
        if us < 0 { out += "-" }
        let m = us.magnitude
        out += String(m / 1000)
        let frac = m % 1000
        out += frac < 10 ? ".00" : frac < 100 ? ".0" : "."
        out += String(frac)
    }

    static func json(_ status: HTTPResponse.Status, _ value: Any, headers: HTTPFields = HTTPFields()) -> Response {
        var h = headers
        h[.contentType] = "application/json"
        var data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
        data.append(10)
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Carries a value that is not `Sendable` (JSON from `JSONSerialization`) to the core that uses it; only
/// one side touches it at a time.
final class Box<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

/// What carries out a server's requests.
public protocol ServeBackend: AnyObject, Sendable {
    /// The handler to run for `/run/<name>`. - Throws: `HandlerRegistry.LookupError`.
    func lookup(_ name: String) throws -> Int32
    /// Serves one request now, on the calling core's thread.
    func serve(handler: Int32, event: Any?, arrivalNanos: Int64) -> RuntimeWorker.Served
    /// ns since the backend's origin (records are relative to it).
    func now() -> Int64
    var handlerCount: Int { get }
    func cacheState() -> RuntimeWorker.CacheState
    /// Called on each core's thread before its first request.
    func coreThreadStarted()
}

extension ServeBackend {
    public func coreThreadStarted() {}
}

/// The real worker: the registry names handlers, the runtime's lifecycle plans every request.
public final class WorkerBackend: ServeBackend, @unchecked Sendable {
    let worker: RuntimeWorker
    let registry: HandlerRegistry
    public init(worker: RuntimeWorker, registry: HandlerRegistry) { self.worker = worker; self.registry = registry }
    public func lookup(_ name: String) throws -> Int32 { try registry.lookup(name) }
    public func serve(handler: Int32, event: Any?, arrivalNanos: Int64) -> RuntimeWorker.Served {
        worker.serveEvent(handler: handler, event: event, arrivalNanos: arrivalNanos, startNanos: worker.now())
    }
    public func now() -> Int64 { worker.now() }
    public var handlerCount: Int { registry.count }
    public func cacheState() -> RuntimeWorker.CacheState { worker.cacheState() }
    /// A core's thread serves requests on the containers' behalf: it goes where the maintenance thread is.
    public func coreThreadStarted() { worker.enterThreadGroup() }
}

/// `bench-serve`'s floor: one plain interpreter per core runs the handler's `f(event)` over the same channel
/// a container uses; no containers, no caches, no planner. Records carry only the execution phase.
public final class BareBackend: ServeBackend, @unchecked Sendable {
    let lock = NSLock()
    var idle: [BareHandlerProcess]
    let origin = DispatchTime.now().uptimeNanoseconds
    var served: Int64 = 0

    /// - Parameter processes: one per core (each request takes an idle one).
    public init(processes: [BareHandlerProcess]) { idle = processes }

    public func lookup(_ name: String) throws -> Int32 { 0 }
    public func now() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds - origin) }
    public var handlerCount: Int { 1 }
    public func cacheState() -> RuntimeWorker.CacheState { RuntimeWorker.CacheState() }

    public func serve(handler: Int32, event: Any?, arrivalNanos: Int64) -> RuntimeWorker.Served {
        let (p, n): (BareHandlerProcess, Int64) = lock.withLock { served += 1; return (idle.removeLast(), served) }
        defer { lock.withLock { idle.append(p) } }
        let start = now()
        var r = RequestRecord(request: n, handler: handler, arrivalNanos: arrivalNanos, startNanos: start, endNanos: start, tier: .handler, zygote: nil)
        do {
            let reply = try p.invoke(event ?? NSNull())
            r.execNanos = now() - start
            r.endNanos = start + r.execNanos
            if let e = reply["error"] as? String { r.error = e; return .init(record: r, reply: reply, failure: .raised) }
            return .init(record: r, reply: reply, failure: nil)
        } catch {
            r.error = "\(error)"
            return .init(record: r, reply: nil, failure: .failed)
        }
    }
}
