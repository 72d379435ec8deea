import CachePolicy
import Foundation
import Results
import Simulation
import Workload

/// The job behind `pipsqueak sweep`: a grid of configurations × seeds on one trace, simulated in parallel,
/// each finished point stored at once in the results database (so a rerun skips it), and one CSV row per
/// point at the end.
public struct SweepJob {
    public var tracePath = ProjectPaths.defaultMixedTrace
    public var name = "sweep"
    public var handlerCacheMB: [Double] = [256, 1024, 4096]
    public var importCacheMB: [Double] = [0, 512, 2048]
    public var policies: [String] = ["lru", "gdsf"]
    public var trees: [String] = ["dynamic", "static"]
    public var seeds: [UInt64] = [1]
    public var jobs = ProcessInfo.processInfo.activeProcessorCount
    public var storePath = ProjectPaths.results("pipsqueak.sqlite")
    public var output: String?
    public var packagesPath = ProjectPaths.packages
    public var progress: (String) -> Void = { _ in }

    public init() {}

    public struct Point: Sendable {
        public var handlerMB: Double, importMB: Double, policy: String, tree: String, seed: UInt64
        public var config: PolicyConfig {
            var c = PolicyConfig.presets["all"]!
            c.name = "sweep"
            c.handlerCache.memoryMB = handlerMB; c.handlerCache.policy = policy
            c.importCache.enabled = importMB > 0; c.importCache.memoryMB = importMB; c.importCache.tree = tree
            return c
        }
        public func key(trace: String, costs: String = "") -> String {
            "\(trace)|h=\(Int(handlerMB))|i=\(Int(importMB))|p=\(policy)|t=\(tree)|s=\(seed)|c=\(costs)"
        }
    }

    public var points: [Point] {
        var out: [Point] = []
        for h in handlerCacheMB { for i in importCacheMB { for p in policies { for t in trees { for s in seeds {
            if i == 0 && t != trees[0] { continue } // no import cache: the tree shape does not matter
            out.append(Point(handlerMB: h, importMB: i, policy: p, tree: t, seed: s))
        } } } } }
        return out
    }

    /// Runs the points not yet stored, then writes the CSV of all points. Returns (run now, skipped, CSV path).
    public func run() throws -> (ran: Int, skipped: Int, csv: String) {
        for p in points { try p.config.validate() }
        let store = try ResultStore(path: storePath)
        let table = try PackageTable.read(path: packagesPath)
        let sj = SimulateJob()
        let runtime = try sj.runtimeCosts()
        let popular = sj.popularPackages()
        let all = points
        // Points are keyed by their inputs, the cost files included: new measurements mean new points.
        let costs = SweepJob.fingerprint([tracePath, Trace.handlersPath(for: tracePath), packagesPath, ProjectPaths.traces("runtime-costs.csv")])
        let pending = try all.filter { !(try store.has(kind: "sweep", key: $0.key(trace: tracePath, costs: costs))) }
        let skipped = all.count - pending.count
        if skipped > 0 { progress("\(skipped) of \(all.count) points already in \(storePath): skipped") }
        var traces: [UInt64: PreparedTrace] = [:]
        for s in Set(pending.map(\.seed)) { traces[s] = try PreparedTrace(tracePath: tracePath, table: table, runtime: runtime, popular: popular, seed: s) }
        let prepared = traces
        /// Shared by the point operations, under `lock`.
        final class Tally: @unchecked Sendable { var done = 0; var failure: Error? }
        let lock = NSLock(), tally = Tally()
        let start = Date()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = max(1, jobs)
        for p in pending {
            queue.addOperation {
                do {
                    let started = MachineDescription.date
                    let s = try prepared[p.seed]!.simulate(p.config, seed: p.seed)
                    lock.lock(); defer { lock.unlock() }
                    try store.save(.init(kind: "sweep", key: p.key(trace: tracePath, costs: costs), config: p.config.json, trace: tracePath, seed: p.seed,
                                         machine: MachineDescription.summary, codeVersion: CodeVersion.current, started: started,
                                         finished: MachineDescription.date),
                                   summaries: s.tierSummaries, metrics: s.metrics)
                    tally.done += 1
                    let done = tally.done
                    let elapsed = Date().timeIntervalSince(start)
                    let rate = Double(done) / max(elapsed, 1e-9)
                    let width = 30, filled = Int(Double(width) * Double(done) / Double(pending.count))
                    progress(String(format: "[%@%@] %d/%d points, %.2f points/s, about %.0f s left",
                                    String(repeating: "#", count: filled), String(repeating: ".", count: width - filled),
                                    done, pending.count, rate, Double(pending.count - done) / max(rate, 1e-9)))
                } catch {
                    lock.lock(); tally.failure = tally.failure ?? error; lock.unlock()
                }
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        if let f = tally.failure { throw f }
        let csv = output ?? ProjectPaths.results("sweep-\(name).csv")
        try export(store: store, points: all, costs: costs, to: csv)
        return (pending.count, skipped, csv)
    }

    /// FNV-1a over the bytes of `files` (missing files count as empty), as hex.
    static func fingerprint(_ files: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for f in files {
            for b in FileManager.default.contents(atPath: f) ?? Data() { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            h = (h ^ 0xff) &* 0x0000_0100_0000_01b3
        }
        return String(h, radix: 16)
    }

    func export(store: ResultStore, points: [Point], costs: String, to path: String) throws {
        try ProjectPaths.ensureParent(of: path)
        let out = try OutputFile(path: path)
        out.write("# made by: pipsqueak sweep --trace \(tracePath) --handler-mb \(handlerCacheMB.map { String(Int($0)) }.joined(separator: ",")) --import-mb \(importCacheMB.map { String(Int($0)) }.joined(separator: ",")) --policies \(policies.joined(separator: ",")) --trees \(trees.joined(separator: ",")) --seeds \(seeds.map(String.init).joined(separator: ","))\n")
        out.write("# machine: \(MachineDescription.summary)\n# store: \(storePath) (kind sweep)\n")
        out.write("handler_cache_mb,import_cache_mb,policy,tree,seed,requests,handler_ratio,import_ratio,cold_ratio,mean_ms,p50_ms,p90_ms,p99_ms,peak_memory_mb,evicted_containers,evicted_zygotes\n")
        for p in points {
            let key = p.key(trace: tracePath, costs: costs)
            guard let run = try store.runs(kind: "sweep", keyPrefix: key).first(where: { $0.key == key }) else { continue }
            let s = Dictionary(uniqueKeysWithValues: try store.summaries(run: run.id).map { ($0.tier, $0) })
            let m = try store.metrics(run: run.id)
            guard let all = s["all"] else { continue }
            out.write("\(Int(p.handlerMB)),\(Int(p.importMB)),\(p.policy),\(p.tree),\(p.seed),\(all.requests),")
            out.write(String(format: "%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%.3f,%.1f,%.0f,%.0f\n", s["handler"]?.share ?? 0, s["import"]?.share ?? 0,
                             s["cold"]?.share ?? 0, all.mean, all.p50, all.p90, all.p99, m["peak_memory_mb"] ?? 0,
                             m["evicted_containers"] ?? 0, m["evicted_zygotes"] ?? 0))
        }
        try out.commit()
    }
}
