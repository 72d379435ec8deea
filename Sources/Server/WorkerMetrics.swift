import CachePolicy
import Foundation
import Prometheus
import Runtime

/// What `/stats` and `/metrics` report: requests per tier, refusals, latency histograms per tier and per
/// phase (Prometheus), plus the caches' contents read from the planner when asked.
final class WorkerMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    private let lock = NSLock()
    private var perTier: [String: Int] = ["handler": 0, "import": 0, "cold": 0, "error": 0]
    private var rejected = 0
    private let requests: [String: Counter]
    private let rejectedCounter: Counter
    private let latency: [String: DurationHistogram]
    private let phases: [String: DurationHistogram]
    static let phaseNames = ["queue", "download", "install", "create", "fork", "import", "init", "exec"]
    let queueGauge: Gauge, runningGauge: Gauge
    let cacheBytes: [String: Gauge]
    let cacheEntries: [String: Gauge]

    init() {
        let buckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map { .nanoseconds(Int64($0 * 1e9)) }
        func name(_ m: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "pipsqueak", metricName: m, unitName: unit, helpText: help)
        }
        var req: [String: Counter] = [:], lat: [String: DurationHistogram] = [:]
        for t in ["handler", "import", "cold", "error"] {
            req[t] = registry.makeCounter(descriptor: name("requests", "total", "Requests served, by the tier that started them (error: failed)"), labels: [("tier", t)])
            lat[t] = registry.makeDurationHistogram(descriptor: name("request_duration", "seconds", "Latency from arrival (queueing included) to the handler's reply, by tier"),
                                                    labels: [("tier", t)], buckets: buckets)
        }
        requests = req; latency = lat
        rejectedCounter = registry.makeCounter(descriptor: name("rejected", "total", "Requests refused with 503 because the queue was full"), labels: [])
        var ph: [String: DurationHistogram] = [:]
        for p in WorkerMetrics.phaseNames {
            ph[p] = registry.makeDurationHistogram(descriptor: name("phase_duration", "seconds", "Time requests spent in each phase of a start"),
                                                   labels: [("phase", p)], buckets: buckets)
        }
        phases = ph
        queueGauge = registry.makeGauge(descriptor: name("queue", "requests", "Requests waiting for a core"), labels: [])
        runningGauge = registry.makeGauge(descriptor: name("running", "requests", "Requests running on a core"), labels: [])
        var cb: [String: Gauge] = [:], ce: [String: Gauge] = [:]
        for c in ["handler", "import", "install"] {
            cb[c] = registry.makeGauge(descriptor: name("cache", "bytes", "Memory (handler, import) or disk (install) each cache holds, as the planner counts it"), labels: [("cache", c)])
            ce[c] = registry.makeGauge(descriptor: name("cache_entries", "count", "Paused containers, zygotes, installed packages"), labels: [("cache", c)])
        }
        cacheBytes = cb; cacheEntries = ce
    }

    func record(_ r: RequestRecord, failed: Bool) {
        let tier = failed ? "error" : r.tier.rawValue
        lock.withLock { perTier[tier, default: 0] += 1 }
        requests[tier]?.increment()
        latency[tier]?.recordNanoseconds(r.latencyNanos)
        guard !failed else { return }
        let values: [Int64] = [r.queueNanos, r.downloadNanos, r.installNanos, r.createNanos, r.forkNanos, r.importNanos, r.initNanos, r.execNanos]
        for (p, v) in zip(WorkerMetrics.phaseNames, values) where v > 0 || p == "exec" || p == "queue" { phases[p]?.recordNanoseconds(v) }
    }

    func rejectedOne() {
        lock.withLock { rejected += 1 }
        rejectedCounter.increment()
    }

    func update(cores: CorePool, caches s: RuntimeWorker.CacheState) {
        queueGauge.set(Int64(cores.waiting)); runningGauge.set(Int64(cores.running))
        cacheBytes["handler"]?.set(s.pausedBytes); cacheEntries["handler"]?.set(Int64(s.pausedContainers))
        cacheBytes["import"]?.set(s.zygoteBytes); cacheEntries["import"]?.set(Int64(s.zygotes))
        cacheBytes["install"]?.set(s.installedBytes); cacheEntries["install"]?.set(Int64(s.installedPackages))
    }

    /// `/stats`: a JSON object.
    func stats(cores: CorePool, caches s: RuntimeWorker.CacheState, handlers: Int) -> [String: Any] {
        let (tiers, refused) = lock.withLock { (perTier, rejected) }
        func ratio(_ hits: Int, _ misses: Int) -> Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }
        return [
            "cores": cores.cores, "queue_limit": cores.queueLimit, "running": cores.running, "queued": cores.waiting,
            "handlers": handlers,
            "requests": tiers.merging(["rejected": refused]) { a, _ in a },
            "hit_ratio": ["handler": ratio(s.handlerHits, s.handlerMisses), "import": ratio(s.importHits, s.importMisses)],
            "caches": [
                "handler": ["paused_containers": s.pausedContainers, "memory_bytes": s.pausedBytes, "budget_bytes": s.handlerBudgetBytes],
                "import": ["zygotes": s.zygotes, "memory_bytes": s.zygoteBytes, "budget_bytes": s.importBudgetBytes],
                "install": ["packages": s.installedPackages, "disk_bytes": s.installedBytes, "budget_bytes": s.installBudgetBytes],
            ],
        ]
    }
}
