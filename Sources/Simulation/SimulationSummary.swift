import CachePolicy
import Foundation
import Statistics
import Workload

/// Aggregates of a run, in fixed memory however long the trace: counts and latency histograms per tier.
public struct SimulationSummary: Sendable {
    /// Requests served, failed ones included (`errors`).
    public var requests = 0
    /// Requests that failed: counted here and only here (no tier, no latency statistics).
    public var errors = 0
    public var perTier: [Tier: Int] = [:]
    public var latency = LatencyHistogram()
    public var latencyPerTier: [Tier: LatencyHistogram] = [:]
    /// Everything but queueing.
    public var startup = LatencyHistogram()
    public var evictedContainers = 0
    public var evictedZygotes = 0
    public var evictedPackages = 0
    public var zygotesCreated = 0
    /// Import starts that forked from a standby child, and those that found none (the zygote forked on the
    /// request's path); both 0 when standby children are not modeled.
    public var standbyForks = 0, directForks = 0
    /// Each zygote build, from when the builder took it up until it was ready, its installs left out (as the
    /// worker times its builds), ns.
    public var zygoteBuilds = LatencyHistogram()
    /// Real runs: zygote builds, pauses and installs that failed (the planner heard of each).
    public var zygotesFailed = 0, pausesFailed = 0, installsFailed = 0
    /// Requests that waited for a free core, and the most that waited at once.
    public var queued = 0, maxWaiting = 0
    /// Requests refused because the queue was full (no record, no tier: the worker answers them 503).
    public var rejected = 0
    public var peakMemoryBytes: Int64 = 0
    public var requestsTouchingEstimated = 0
    public var estimatedPackages = 0
    public var events = 0
    public var simulatedSeconds = 0.0
    /// Cores the requests ran on (for the load: set by whoever ran them), and the time requests held a
    /// core (start to end, served ones), with the span of their arrivals.
    public var cores = 1
    public var busyNanos: Int64 = 0
    /// Core time each served request takes beyond its own start to end (`RuntimeCosts.dispatchMillis`),
    /// counted in `busyNanos`; set before adding records.
    public var dispatchNanos: Int64 = 0
    public var firstArrivalNanos: Int64 = .max, lastArrivalNanos: Int64 = .min

    public init() {}

    public mutating func add(_ r: RequestRecord) {
        requests += 1
        if r.arrivalNanos < firstArrivalNanos { firstArrivalNanos = r.arrivalNanos }
        if r.arrivalNanos > lastArrivalNanos { lastArrivalNanos = r.arrivalNanos }
        if !r.error.isEmpty {
            errors += 1
            return
        }
        perTier[r.tier, default: 0] += 1
        latency.record(r.latencyNanos)
        latencyPerTier[r.tier, default: LatencyHistogram()].record(r.latencyNanos)
        startup.record(r.startupNanos)
        busyNanos += r.startupNanos + dispatchNanos
        if r.estimated { requestsTouchingEstimated += 1 }
    }

    public func ratio(_ t: Tier) -> Double { requests == 0 ? 0 : Double(perTier[t] ?? 0) / Double(requests) }

    /// Requests served without error.
    public var served: Int { requests - errors }

    /// The load the requests put on the cores: their time on a core (start to end, and the dispatch after) over the span of their
    /// arrivals times the cores. Above 1 the cores cannot keep up: requests queue without bound and their
    /// latencies are mostly queueing. nil: fewer than two arrivals.
    public var offeredLoad: Double? {
        guard requests > 1, lastArrivalNanos > firstArrivalNanos else { return nil }
        return Double(busyNanos) / (Double(lastArrivalNanos - firstArrivalNanos) * Double(max(1, cores)))
    }

    /// The terminal table. `real`: a run on the real runtime (wall time, no simulator figures). Shares are of
    /// all requests; a failed request has its own row, without latencies.
    public func report(title: String, real: Bool = false) -> String {
        var s = title + "\n"
        if real {
            s += String(format: "requests %d (%d failed) over %.1f s of wall time\n", requests, errors, simulatedSeconds)
        } else {
            s += String(format: "requests %d over %.1f simulated s; %d events\n", requests, simulatedSeconds, events)
        }
        s += "tier      share    count      mean ms     p50 ms     p90 ms     p99 ms\n"
        func row(_ name: String, _ n: Int, _ h: LatencyHistogram) {
            let share = requests == 0 ? 0 : 100 * Double(n) / Double(requests)
            s += name.padding(toLength: 8, withPad: " ", startingAt: 0)
            s += String(format: " %5.1f%% %8d %11.3f %10.3f %10.3f %10.3f\n", share, n, h.mean / 1e6, h.quantile(0.5) / 1e6,
                        h.quantile(0.9) / 1e6, h.quantile(0.99) / 1e6)
        }
        for t in Tier.allCases { row(t.rawValue, perTier[t] ?? 0, latencyPerTier[t] ?? LatencyHistogram()) }
        if errors > 0 || real {
            s += "error".padding(toLength: 8, withPad: " ", startingAt: 0)
            s += String(format: " %5.1f%% %8d", requests == 0 ? 0 : 100 * Double(errors) / Double(requests), errors)
            s += "           -          -          -          -\n"
        }
        row(errors > 0 ? "served" : "all", served, latency)
        if let load = offeredLoad {
            s += String(format: "load: %.0f%% of %d core%@ (requests' time on a core over the %.1f s their arrivals span)\n",
                        100 * load, cores, cores == 1 ? "" : "s", Double(lastArrivalNanos - firstArrivalNanos) / 1e9)
            if load > 1 {
                s += String(format: "warning: saturated: the requests need %.1f cores' time and there %@ %d, so they queue without bound and their latencies are mostly queueing, not starts (the run took %.1f s for %.1f s of arrivals)\n",
                            load * Double(cores), cores == 1 ? "is" : "are", cores, simulatedSeconds, Double(lastArrivalNanos - firstArrivalNanos) / 1e9)
            }
        }
        if rejected > 0 {
            s += String(format: "%d requests refused: the queue was full (503)\n", rejected)
        }
        if queued > 0 {
            s += String(format: "%d requests waited for a free core (at most %d at once)\n", queued, maxWaiting)
        }
        if real {
            s += String(format: "zygotes created %d (%d failed); pauses failed %d; installs failed %d\n",
                        zygotesCreated, zygotesFailed, pausesFailed, installsFailed)
        } else {
            s += String(format: "evictions: %d containers, %d zygotes, %d packages; zygotes created %d\n",
                        evictedContainers, evictedZygotes, evictedPackages, zygotesCreated)
            s += String(format: "peak memory (paused + running containers + zygotes): %.1f MB\n", Bytes.mb(peakMemoryBytes))
        }
        if estimatedPackages > 0 {
            s += String(format: "estimated costs: %d packages had no measurement; %d requests (%.1f%%) touched one\n",
                        estimatedPackages, requestsTouchingEstimated, 100 * Double(requestsTouchingEstimated) / Double(max(1, requests)))
        }
        return s
    }
}
