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
    public let worker: RuntimeWorker
    public let registry: HandlerRegistry
    public let options: ServeOptions
    let cores: CorePool
    let metrics = WorkerMetrics()
    /// Receives each finished request's record (the records CSV), from the core that served it.
    public var onRecord: (RequestRecord) -> Void = { _ in }

    public init(worker: RuntimeWorker, registry: HandlerRegistry, options: ServeOptions) {
        self.worker = worker
        self.registry = registry
        self.options = options
        cores = CorePool(cores: options.cores, queueLimit: options.queueLimit)
    }

    private let groupLock = NSLock()
    private var group: ServiceGroup?
    private var stopRequested = false

    /// Serves until `stop()` (or, with `signals`, SIGTERM or SIGINT), then drains: requests in flight and
    /// queued finish (new ones are refused), then the cores stop. `onRunning` gets the bound port once the
    /// server listens (`options.port` 0: one the kernel picked).
    public func run(signals: Bool = true, onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router()
        router.get("/status") { _, _ in "ready\n" }
        router.get("/stats") { [self] _, _ -> Response in
            let s = metrics.stats(cores: cores, caches: worker.cacheState(), handlers: registry.count)
            return Self.json(.ok, s)
        }
        router.get("/metrics") { [self] _, _ -> Response in
            metrics.update(cores: cores, caches: worker.cacheState())
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

    /// Drains and stops a server `run` is serving (or will: a stop before it starts is kept).
    public func stop() async {
        let g: ServiceGroup? = groupLock.withLock { stopRequested = true; return group }
        await g?.triggerGracefulShutdown()
    }

    func run(_ request: Request, name: String) async throws -> Response {
        let handler: Int32
        do { handler = try registry.lookup(name) } catch let e as HandlerRegistry.LookupError {
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
        let arrival = worker.now()
        let served: Box<RuntimeWorker.Served>
        do {
            served = try await cores.submit { [worker] in
                Box(worker.serveEvent(handler: handler, event: box.value, arrivalNanos: arrival, startNanos: worker.now()))
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

    /// The record as one JSON object (ms, and the tier and zygote the plan chose).
    static func recordHeader(_ r: RequestRecord) -> String {
        func ms(_ n: Int64) -> Double { (Double(n) / 1e3).rounded() / 1e3 }
        let o: [String: Any] = ["request": r.request, "tier": r.tier.rawValue, "zygote": r.zygote.map { NSNumber(value: $0) } ?? NSNull(),
                                "arrival_ms": ms(r.arrivalNanos), "start_ms": ms(r.startNanos), "end_ms": ms(r.endNanos),
                                "queue_ms": ms(r.queueNanos), "download_ms": ms(r.downloadNanos), "install_ms": ms(r.installNanos),
                                "create_ms": ms(r.createNanos), "fork_ms": ms(r.forkNanos), "import_ms": ms(r.importNanos),
                                "init_ms": ms(r.initNanos), "exec_ms": ms(r.execNanos), "evictions": r.evictions,
                                "estimated": r.estimated]
        let d = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: d, as: UTF8.self)
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
