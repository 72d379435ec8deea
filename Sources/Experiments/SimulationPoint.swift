import CachePolicy
import Foundation
import Results
import Simulation
import Statistics
import Workload

/// One simulation of a prepared trace under one configuration: the unit that reproductions and sweeps
/// run many of, in parallel. The trace's handler table, cost model and catalog are built once and shared
/// (read-only) by every point.
public struct PreparedTrace: @unchecked Sendable {
    public let trace: Trace
    public let costs: CostModel
    public let catalog: Catalog
    public let popular: [String]

    public init(tracePath: String, table: PackageTable, runtime: RuntimeCosts, popular: [String], seed: UInt64, noiseSigma: Double = 0,
                overlap: ImportOverlap? = nil) throws {
        trace = try Trace(path: tracePath)
        costs = try CostModel(table: table, handlers: trace.handlers, runtime: runtime, noiseSigma: noiseSigma, overlap: overlap, seed: seed)
        catalog = costs.catalog(handlers: trace.handlers)
        self.popular = popular
    }

    /// Runs the trace under `config`. `observe` sees each record with the simulation (for timelines).
    /// `speed` > 1 replays it that many times faster (arrivals divided by it).
    public func simulate(_ config: PolicyConfig, seed: UInt64, cores: Int = 2, speed: Double = 1,
                         observe: ((RequestRecord, Simulation) -> Void)? = nil) throws -> SimulationSummary {
        let planner = try Planner(config: config, catalog: catalog, popularPackages: popular)
        let sim = Simulation(planner: planner, costs: costs, handlers: trace.handlers, cores: cores, seed: seed)
        if let o = observe { sim.lifecycle.onRecord = { [unowned sim] r in o(r, sim) } }
        let reader = try trace.makeReader()
        if speed == 1 { return try sim.run(reader) }
        return try sim.run(next: {
            guard var inv = try reader.nextInvocation() else { return nil }
            inv.arrivalNanos = Int64(Double(inv.arrivalNanos) / speed)
            return inv
        })
    }
}

extension SimulationSummary {
    /// Per-tier rows for the results store (ms).
    public var tierSummaries: [ResultStore.TierSummary] {
        var rows: [ResultStore.TierSummary] = []
        for t in Tier.allCases {
            let h = latencyPerTier[t] ?? LatencyHistogram()
            rows.append(.init(tier: t.rawValue, requests: perTier[t] ?? 0, share: ratio(t), mean: h.mean / 1e6,
                              p50: h.quantile(0.5) / 1e6, p90: h.quantile(0.9) / 1e6, p99: h.quantile(0.99) / 1e6))
        }
        if errors > 0 { // failed requests: their own row, no latencies
            rows.append(.init(tier: "error", requests: errors, share: Double(errors) / Double(requests), mean: .nan, p50: .nan, p90: .nan, p99: .nan))
        }
        rows.append(.init(tier: "all", requests: requests, share: 1, mean: latency.mean / 1e6, p50: latency.quantile(0.5) / 1e6,
                          p90: latency.quantile(0.9) / 1e6, p99: latency.quantile(0.99) / 1e6))
        return rows
    }

    public var metrics: [String: Double] {
        ["evicted_containers": Double(evictedContainers), "evicted_zygotes": Double(evictedZygotes),
         "evicted_packages": Double(evictedPackages), "zygotes_created": Double(zygotesCreated),
         "peak_memory_mb": Bytes.mb(peakMemoryBytes), "requests_estimated": Double(requestsTouchingEstimated)]
    }
}

extension PolicyConfig {
    /// The config as JSON (for the results store).
    public var json: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return (try? enc.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

public enum CodeVersion {
    /// `git rev-parse --short HEAD` of the checkout, with `-dirty` when its code (`Sources`, `Package.swift`,
    /// `scripts`) has changes; "unknown" outside git. Changed results, traces or prose do not count: a job
    /// that writes several CSVs would otherwise call its own code dirty after the first.
    public static let current: String = {
        let root = ProjectPaths.root
        guard let r = try? Runtime.ChildProcess.run("/usr/bin/env", ["git", "-C", root, "rev-parse", "--short", "HEAD"], timeoutSeconds: 10),
              r.succeeded else { return "unknown" }
        let head = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let dirty = (try? Runtime.ChildProcess.run("/usr/bin/env", ["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift", "scripts"], timeoutSeconds: 10))?.stdout.isEmpty == false
        return head + (dirty ? "-dirty" : "")
    }()
}

import Runtime
