import CachePolicy
import Foundation
import Results
import Runtime
import Simulation
import Statistics
import Workload

/// The job behind `pipsqueak reproduce`: the paper's results from this machine's measured costs, simulated,
/// as CSV in `results/` (each with its command, seed and machine in its header), and stored in the results
/// database.
public struct ReproduceJob {
    public var seed: UInt64 = 1
    public var outputDirectory = ProjectPaths.root + "/results"
    public var storePath = ProjectPaths.results("pipsqueak.sqlite")
    public var packagesPath = ProjectPaths.packages
    public var mixedTrace = ProjectPaths.defaultMixedTrace
    /// Limit the single-package benchmark to these packages (nil: every measured package).
    public var packages: [String]?
    /// Microbenchmark shape (the paper's: 100 handlers, 2 req/s, 10 minutes).
    public var handlers = 100
    public var rate = 2.0
    public var seconds = 600.0
    public var jobs = ProcessInfo.processInfo.activeProcessorCount
    public var progress: (String) -> Void = { _ in }
    /// Also measure the microbenchmark on the real runtime (root) for `packages` (default numpy and pyyaml):
    /// the first `realLimit` requests of each trace, replayed `realSpeed` times faster.
    public var real = false
    public var realLimit = 200
    public var realSpeed = 10.0
    /// Question 2 (cache interaction): the total memory both configurations get, MB, and how much faster than
    /// the paper's 2 req/s its trace is replayed (simulated and, with `real`, measured at the same speed).
    public var interactionMemoryMB = 768.0
    public var interactionSpeed = 1.0
    /// The package every handler of Question 2's microbenchmark imports (the paper's: numpy).
    public var interactionPackage = "numpy"

    public init() {}

    static let presets = ["none", "h", "hm", "hs", "all"]

    var header: [String] {
        ["made by: pipsqueak reproduce --seed \(seed)\(packages.map { " --packages " + $0.joined(separator: ",") } ?? "")",
         "seed: \(seed)", "machine: \(MachineDescription.summary)", "code: \(CodeVersion.current)", "date: \(MachineDescription.date)",
         "costs: \(ProjectPaths.relative(packagesPath)) (measured), runtime primitives: \(ProjectPaths.relative((try? SimulateJob().runtimeCosts().source) ?? "defaults"))"]
    }

    public func run() throws -> [String] {
        let table = try PackageTable.read(path: packagesPath)
        let overlap = try ImportOverlap.beside(packagesPath: packagesPath)
        if let asked = packages {
            let unknown = asked.filter { table[PackageName.canonical($0)] == nil }
            if !unknown.isEmpty {
                throw InputError(file: "--packages", line: 0, "\(unknown.count) not measured in \(packagesPath): \(unknown.joined(separator: ", ")) (`pipsqueak measure NAME` measures one)")
            }
        }
        let store = try ResultStore(path: storePath)
        let sj = SimulateJob()
        let runtime = try sj.runtimeCosts()
        let popular = sj.popularPackages()
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        var written: [String] = []

        // startup-costs.csv
        let sc = outputDirectory + "/startup-costs.csv"
        try StartupCosts.write(table: table, to: sc, comments: ["made by: pipsqueak reproduce (from \(ProjectPaths.relative(packagesPath)), measured by pipsqueak measure)",
                                                                "machine: \(MachineDescription.summary)"])
        written.append(sc)

        written.append(try speedup(table: table, overlap: overlap, runtime: runtime, popular: popular, store: store))
        let mixed = try PreparedTrace(tracePath: mixedTrace, table: table, runtime: runtime, popular: popular, seed: seed, overlap: overlap)
        written.append(try cacheInteraction(table: table, overlap: overlap, runtime: runtime, popular: popular, store: store))
        written.append(try importCacheSize(mixed, store: store))
        written.append(try latencyCDF(mixed, store: store))
        if real { written.append(try realSpeedup(table: table)) }
        return written
    }

    /// The microbenchmark on the real runtime: the same traces, the first `realLimit` requests, per preset.
    func realSpeedup(table: PackageTable) throws -> String {
        let names = (packages ?? ["numpy", "pyyaml"]).map(PackageName.canonical).filter { table[$0] != nil }
        let dir = NSTemporaryDirectory() + "pipsqueak-reproduce-real-\(Sys.pid)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var lines: [String] = []
        for n in names {
            let (hs, body) = try TraceGenerator.microbenchmark(package: n, handlers: handlers, rate: rate, seconds: seconds, seed: seed)
            let path = dir + "/\(n).csv"
            try TraceJobs.write(table: hs, body: body, to: path, comments: [])
            var means: [String: (latency: Double, startup: Double, miss: Double)] = [:]
            for preset in ReproduceJob.presets {
                progress("real \(n) \(preset): \(realLimit) requests at speed \(realSpeed)")
                var job = RunJob()
                job.tracePath = path; job.config = PolicyConfig.presets[preset]!; job.seed = seed
                job.speed = realSpeed; job.limit = realLimit; job.packagesPath = packagesPath
                var lat: [Double] = [], st: [Double] = [], miss: [Double] = [], errors = 0
                _ = try job.run(onRecord: { r in
                    if !r.error.isEmpty { errors += 1 }
                    lat.append(Double(r.latencyNanos) / 1e6); st.append(Double(r.startupNanos) / 1e6)
                    if r.tier != .handler { miss.append(Double(r.startupNanos) / 1e6) }
                })
                try RunJob.stopIfInterrupted(unwritten: "speedup-real.csv")
                let sl = Summary(lat), ss = Summary(st), sm = Summary(miss)
                means[preset] = (sl.mean, ss.mean, sm.count > 0 ? sm.mean : .nan)
                lines.append("\(n),\(preset),\(lat.count),\(errors)," + String(format: "%.3f,%.3f,%.3f,%.3f,%d,%.3f", sl.mean, sl.p50, sl.p99, ss.mean, miss.count, sm.count > 0 ? sm.mean : .nan))
            }
            let a = means["all"]!, h = means["h"]!, none = means["none"]!
            lines.append("\(n),speedup,,," + String(format: "%.2f,,,%.2f,,%.2f", h.latency / a.latency, none.startup / a.startup, h.miss / a.miss))
        }
        let path = outputDirectory + "/speedup-real.csv"
        let out = try OutputFile(path: path)
        for c in header.map({ $0.replacingOccurrences(of: "pipsqueak reproduce", with: "pipsqueak reproduce --real --real-limit \(realLimit) --real-speed \(realSpeed)") })
            + ["measured on the real runtime: the first \(realLimit) requests of each microbenchmark trace, replayed \(realSpeed)x faster",
               "speedup rows: latency h/all, startup none/all, miss startup h/all"] {
            out.write("# \(c)\n")
        }
        out.write("package,preset,requests,errors,mean_ms,p50_ms,p99_ms,startup_mean_ms,misses,miss_startup_ms\n")
        for l in lines { out.write(l + "\n") }
        try out.commitIfChanged() // the same results: the committed file (and its header) stays as it is
        return path
    }

    func save(_ store: ResultStore, key: String, config: PolicyConfig, trace: String, summary: SimulationSummary, started: String) throws {
        try store.db.query("DELETE FROM runs WHERE kind = 'reproduce' AND key = ?", [.text(key)])
        try store.save(.init(kind: "reproduce", key: key, config: config.json, trace: trace, seed: seed, machine: MachineDescription.summary,
                             codeVersion: CodeVersion.current, started: started, finished: MachineDescription.date),
                       summaries: summary.tierSummaries, metrics: summary.metrics)
    }

    /// The single-package microbenchmark for every measured package under every preset.
    func speedup(table: PackageTable, overlap: ImportOverlap?, runtime: RuntimeCosts, popular: [String], store: ResultStore) throws -> String {
        let names = (packages ?? table.names).map(PackageName.canonical).filter { table[$0] != nil }
        let dir = NSTemporaryDirectory() + "pipsqueak-reproduce-\(Sys.pid)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        struct Row {
            var mean = 0.0, p50 = 0.0, p99 = 0.0, startupMean = 0.0, missMean = 0.0, missStartup = 0.0, misses = 0, requests = 0, load = 0.0
            var summary = SimulationSummary()
        }
        /// Shared by the package operations, under `lock`.
        final class Tally: @unchecked Sendable {
            var results: [[Row]]; var done = 0; var failure: Error?
            init(_ r: [[Row]]) { results = r }
        }
        let tally = Tally([[Row]](repeating: [Row](repeating: Row(), count: ReproduceJob.presets.count), count: names.count))
        let lock = NSLock()
        let started = MachineDescription.date
        let work = names.count
        // `jobs` packages at a time, each simulated under every preset.
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = max(1, jobs)
        for i in 0..<work { queue.addOperation {
            do {
                let (hs, body) = try TraceGenerator.microbenchmark(package: names[i], handlers: handlers, rate: rate, seconds: seconds, seed: seed)
                let path = dir + "/\(names[i]).csv"
                try TraceJobs.write(table: hs, body: body, to: path, comments: [])
                let prepared = try PreparedTrace(tracePath: path, table: table, runtime: runtime, popular: popular, seed: seed, overlap: overlap)
                var mine: [Row] = []
                for preset in ReproduceJob.presets {
                    var missSum = 0.0, missStartup = 0.0, misses = 0
                    let s = try prepared.simulate(PolicyConfig.presets[preset]!, seed: seed) { r, _ in
                        if r.tier != .handler {
                            missSum += Double(r.latencyNanos) / 1e6; missStartup += Double(r.startupNanos) / 1e6; misses += 1
                        }
                    }
                    mine.append(Row(mean: s.latency.mean / 1e6, p50: s.latency.quantile(0.5) / 1e6, p99: s.latency.quantile(0.99) / 1e6,
                                    startupMean: s.startup.mean / 1e6, missMean: misses > 0 ? missSum / Double(misses) : .nan,
                                    missStartup: misses > 0 ? missStartup / Double(misses) : .nan, misses: misses, requests: s.requests,
                                    load: s.offeredLoad ?? 0, summary: s))
                }
                lock.lock(); tally.results[i] = mine; tally.done += 1; let d = tally.done; lock.unlock()
                if d % 10 == 0 || d == work { progress("speedup: \(d)/\(work) packages") }
            } catch {
                lock.lock(); tally.failure = tally.failure ?? error; lock.unlock()
            }
        } }
        queue.waitUntilAllOperationsAreFinished()
        if let f = tally.failure { throw f }
        let results = tally.results
        for (i, n) in names.enumerated() {
            for (j, p) in ReproduceJob.presets.enumerated() {
                try save(store, key: "speedup/\(n)/\(p)", config: PolicyConfig.presets[p]!, trace: "micro \(n) \(handlers) handlers \(rate)/s \(seconds) s",
                         summary: results[i][j].summary, started: started)
            }
        }
        let path = outputDirectory + "/speedup.csv"
        let out = try OutputFile(path: path)
        for c in header + ["microbenchmark: \(handlers) handlers all importing one package, Poisson \(rate) req/s for \(seconds) s, default budgets, 2 cores",
                           "latency = queueing + start + execution; startup = latency without queueing (what a start costs)",
                           "load: the share of the 2 cores the requests kept busy (time on a core over the arrivals' span); above 1 the preset is saturated and its latency is mostly queueing",
                           "miss_*: handler-cache misses only; speedups are ratios of means: h/all and none/all, of latency and of startup"] {
            out.write("# \(c)\n")
        }
        out.write("package,preset,requests,load,mean_ms,p50_ms,p99_ms,startup_mean_ms,misses,miss_mean_ms,miss_startup_ms,speedup_all_over_h,speedup_all_over_none,startup_speedup_all_over_h,startup_speedup_all_over_none,miss_startup_speedup_all_over_h,miss_startup_speedup_all_over_none\n")
        let iH = 1, iNone = 0, iAll = 4
        for (i, n) in names.enumerated() {
            let all = results[i][iAll]
            for (j, p) in ReproduceJob.presets.enumerated() {
                let r = results[i][j]
                var line = "\(n),\(p),\(r.requests)," + String(format: "%.3f,%.3f,%.3f,%.3f,%.3f,%d,%.3f,%.3f", r.load, r.mean, r.p50, r.p99, r.startupMean,
                                                                     r.misses, r.missMean, r.missStartup)
                if p == "all" {
                    line += String(format: ",%.2f,%.2f,%.2f,%.2f,%.2f,%.2f", results[i][iH].mean / all.mean, results[i][iNone].mean / all.mean,
                                   results[i][iH].startupMean / all.startupMean, results[i][iNone].startupMean / all.startupMean,
                                   results[i][iH].missStartup / all.missStartup, results[i][iNone].missStartup / all.missStartup)
                } else { line += ",,,,,," }
                out.write(line + "\n")
            }
        }
        try out.commitIfChanged() // the same results: the committed file (and its header) stays as it is
        return path
    }

    /// The two configurations of Question 2 at the same total memory: the handler cache alone (`hs`: with the
    /// install cache, so that a miss is a start, not a pip install, as in the paper's measurement, where the
    /// packages were local) against handler + import cache (`all`), the import cache sized to the zygotes
    /// the trace needs (the root and numpy's, with a quarter more), the handler cache getting the rest.
    static func interactionConfigs(totalMB: Double, catalog: Catalog, package: String) -> [(String, PolicyConfig)] {
        var h = PolicyConfig.presets["hs"]!
        h.handlerCache.memoryMB = totalMB
        let p = catalog.id(of: package).map { catalog[$0].memoryBytes } ?? 0
        let zygotes = (2 * Double(catalog.interpreterMemoryBytes) + Double(p)) * 1.25 / Double(Bytes.perMB)
        let importMB = min(totalMB / 2, (zygotes / 8).rounded(.up) * 8)
        var hm = PolicyConfig.presets["all"]!
        hm.importCache.memoryMB = importMB
        hm.handlerCache.memoryMB = totalMB - importMB
        return [("h", h), ("hm", hm)]
    }

    /// Question 2 as the paper set it up: one worker, the numpy microbenchmark (100 handlers, 2 req/s, 10 min),
    /// the handler cache alone against handler + import cache at the same total memory. Per minute of the trace:
    /// handler-cache hit ratio, misses and their latency, and memory at the minute's end split into shared
    /// package memory (zygotes) and handler-specific memory (paused containers). Simulated on one core; with
    /// `real`, also measured on the real worker (one request at a time), at the same speed.
    func cacheInteraction(table: PackageTable, overlap: ImportOverlap?, runtime: RuntimeCosts, popular: [String], store: ResultStore) throws -> String {
        let package = PackageName.canonical(interactionPackage)
        let dir = NSTemporaryDirectory() + "pipsqueak-interaction-\(Sys.pid)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (hs, body) = try TraceGenerator.microbenchmark(package: package, handlers: handlers, rate: rate, seconds: seconds, seed: seed)
        let path = dir + "/micro-\(package).csv"
        try TraceJobs.write(table: hs, body: body, to: path, comments: [])
        let prepared = try PreparedTrace(tracePath: path, table: table, runtime: runtime, popular: popular, seed: seed, overlap: overlap)
        let configs = ReproduceJob.interactionConfigs(totalMB: interactionMemoryMB, catalog: prepared.catalog, package: package)
        let window = Int64(60 / interactionSpeed * 1e9) // a minute of the trace at this speed
        let shape = "micro \(package) \(handlers) handlers \(rate)/s \(seconds) s"
        struct W { var requests = 0, hits = 0, misses = 0, errors = 0; var missSum = 0.0; var zygoteBytes: Int64 = 0, handlerCacheBytes: Int64 = 0 }
        func note(_ windows: inout [Int64: W], _ r: RequestRecord, _ planner: Planner) {
            let k = r.arrivalNanos / window
            var w = windows[k] ?? W()
            w.requests += 1
            if !r.error.isEmpty { w.errors += 1 } // a failed request is no tier and has no latency
            else if r.tier == .handler { w.hits += 1 } else { w.misses += 1; w.missSum += Double(r.latencyNanos) / 1e6 }
            w.zygoteBytes = planner.importCache?.usedBytes ?? 0
            w.handlerCacheBytes = planner.handlerCache?.usedBytes ?? 0
            windows[k] = w
        }
        var rows: [(executor: String, config: String, windows: [Int64: W])] = []
        var loads: [String] = []
        for (name, c) in configs {
            var windows: [Int64: W] = [:]
            let started = MachineDescription.date
            let s = try prepared.simulate(c, seed: seed, cores: 1, speed: interactionSpeed) { r, sim in note(&windows, r, sim.planner) }
            try save(store, key: "cache-interaction/\(name)", config: c, trace: shape, summary: s, started: started)
            rows.append(("simulated", name, windows))
            loads.append(String(format: "%@ %.0f%%", name, 100 * (s.offeredLoad ?? 0)))
            progress("cache interaction: \(name) simulated")
        }
        if real {
            for (name, c) in configs {
                progress("cache interaction: \(name) on the real worker, \(Int(seconds / interactionSpeed)) s")
                var job = RunJob()
                job.tracePath = path; job.config = c; job.seed = seed; job.speed = interactionSpeed; job.packagesPath = packagesPath
                var windows: [Int64: W] = [:]
                var worker: RuntimeWorker?
                _ = try job.run(onRecord: { r in if let w = worker { note(&windows, r, w.planner) } }, onStart: { worker = $0 })
                try RunJob.stopIfInterrupted(unwritten: "cache-interaction.csv")
                rows.append(("measured", name, windows))
            }
        }
        let out = outputDirectory + "/cache-interaction.csv"
        // Without --real the measured rows of the committed file would be lost: it is kept unless asked.
        if !real, let text = try? String(contentsOfFile: out, encoding: .utf8), text.contains(",measured,") {
            progress("cache interaction: \(ProjectPaths.relative(out)) holds rows measured by reproduce --real: kept (reproduce --real rewrites it)")
            return out
        }
        let file = try OutputFile(path: out)
        let madeBy = (real ? "pipsqueak reproduce --real" : "pipsqueak reproduce") + (interactionSpeed == 1 ? "" : " --interaction-speed \(interactionSpeed)")
        let (h, hm) = (configs[0].1, configs[1].1)
        for c in header.map({ $0.replacingOccurrences(of: "pipsqueak reproduce", with: madeBy) }) + [
            String(format: "trace: the %@ microbenchmark (%d handlers, Poisson %.3g req/s, %.0f s, seed %llu)%@; one worker, one core", package, handlers, rate, seconds, seed,
                   interactionSpeed == 1 ? "" : String(format: ", replayed %.3gx faster", interactionSpeed)),
            String(format: "the same total memory, %.0f MB: h = handler cache %.0f MB (with the install cache); hm = handler cache %.0f MB + import cache %.0f MB (and the install cache)",
                   interactionMemoryMB, h.handlerCache.memoryMB, hm.handlerCache.memoryMB, hm.importCache.memoryMB),
            "load (simulated, of the one core): " + loads.joined(separator: ", "),
            "per minute of the trace; zygote_mb (shared package memory) and handler_cache_mb (handler-specific: paused containers) at the minute's end,",
            "as the planner accounts them (simulated: modeled; measured: what the worker measured of each process); errors are failed requests, in no tier",
        ] { file.write("# \(c)\n") }
        file.write("minute,executor,config,requests,errors,handler_hit_ratio,misses,miss_mean_ms,zygote_mb,handler_cache_mb\n")
        let minutes = Set(rows.flatMap { $0.windows.keys }).sorted()
        for row in rows {
            var last = W()
            for m in minutes {
                var x = row.windows[m] ?? W(zygoteBytes: last.zygoteBytes, handlerCacheBytes: last.handlerCacheBytes)
                if row.windows[m] == nil { x.requests = 0 }
                last = x
                let served = x.hits + x.misses
                file.write("\(m),\(row.executor),\(row.config),\(x.requests),\(x.errors)," + String(format: "%.4f,%d,%.3f,%.1f,%.1f",
                    served > 0 ? Double(x.hits) / Double(served) : 0.0, x.misses, x.misses > 0 ? x.missSum / Double(x.misses) : 0.0,
                    Bytes.mb(x.zygoteBytes), Bytes.mb(x.handlerCacheBytes)) + "\n")
            }
        }
        try file.commitIfChanged()
        return out
    }

    /// Hit ratio and latency against the import cache's size on the mixed workload.
    func importCacheSize(_ t: PreparedTrace, store: ResultStore) throws -> String {
        let sizes: [Double] = [0, 128, 512, 1024, 5120]
        var lines: [String] = []
        for mb in sizes {
            var c = PolicyConfig.presets["all"]!
            c.handlerCache.memoryMB = 1024
            c.importCache.memoryMB = mb
            c.importCache.enabled = mb > 0
            let started = MachineDescription.date
            let s = try t.simulate(c, seed: seed)
            try save(store, key: "import-cache-size/\(Int(mb))", config: c, trace: t.trace.path, summary: s, started: started)
            let imp = s.latencyPerTier[.import] ?? LatencyHistogram()
            lines.append("\(Int(mb))," + String(format: "%.3f,%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%.3f,%d,%d", s.offeredLoad ?? 0, s.ratio(.handler), s.ratio(.import), s.ratio(.cold),
                                                s.latency.mean / 1e6, s.latency.quantile(0.5) / 1e6, s.latency.quantile(0.99) / 1e6,
                                                imp.mean / 1e6, s.zygotesCreated, s.evictedZygotes))
            progress("import cache size \(Int(mb)) MB done")
        }
        let path = outputDirectory + "/import-cache-size.csv"
        let out = try OutputFile(path: path)
        for c in header + ["trace: \(ProjectPaths.relative(t.trace.path)); preset all with a 1024 MB handler cache; import cache 0 means disabled",
                           "load: the share of the 2 cores the requests kept busy (above 1: saturated, latencies mostly queueing)"] { out.write("# \(c)\n") }
        out.write("import_cache_mb,load,handler_ratio,import_ratio,cold_ratio,mean_ms,p50_ms,p99_ms,import_mean_ms,zygotes_created,zygotes_evicted\n")
        for l in lines { out.write(l + "\n") }
        try out.commitIfChanged() // the same results: the committed file (and its header) stays as it is
        return path
    }

    /// Latency quantiles per preset on the mixed workload (for the CDF figure).
    func latencyCDF(_ t: PreparedTrace, store: ResultStore) throws -> String {
        let path = outputDirectory + "/latency-cdf.csv"
        let out = try OutputFile(path: path)
        for c in header + ["trace: \(ProjectPaths.relative(t.trace.path)); default budgets; quantiles of request latency per preset",
                           "load: the share of the 2 cores the preset's requests kept busy (above 1: saturated, latencies mostly queueing)"] { out.write("# \(c)\n") }
        out.write("preset,load,quantile,latency_ms\n")
        for p in ReproduceJob.presets {
            let started = MachineDescription.date
            let s = try t.simulate(PolicyConfig.presets[p]!, seed: seed)
            try save(store, key: "latency-cdf/\(p)", config: PolicyConfig.presets[p]!, trace: t.trace.path, summary: s, started: started)
            for q in stride(from: 0.01, through: 0.999, by: 0.01) + [0.995, 0.999] {
                out.write("\(p)," + String(format: "%.3f,%.3f,%.3f", s.offeredLoad ?? 0, q, s.latency.quantile(q) / 1e6) + "\n")
            }
        }
        try out.commitIfChanged() // the same results: the committed file (and its header) stays as it is
        return path
    }
}

extension ReproduceJob {
    /// A few lines on speedup.csv: which comparison lands in the paper's 9–2000x range.
    public static func speedupSummary(path: String) throws -> String {
        let csv = try CSVReader(path: path)
        let pk = try csv.column("package"), pr = try csv.column("preset")
        let cols = try ["speedup_all_over_h", "speedup_all_over_none", "startup_speedup_all_over_h", "startup_speedup_all_over_none",
                        "miss_startup_speedup_all_over_h", "miss_startup_speedup_all_over_none"].map { try csv.column($0) }
        var values = [[Double]](repeating: [], count: cols.count)
        var best = [(String, Double)](repeating: ("", 0), count: cols.count)
        while let f = try csv.next() {
            guard f[pr] == "all" else { continue }
            for (k, c) in cols.enumerated() {
                if let v = Double(f[c]), v.isFinite {
                    values[k].append(v)
                    if v > best[k].1 { best[k] = (f[pk], v) }
                }
            }
        }
        var s = "speedups over \(values[0].count) packages (median, max, share within the paper's 9-2000x):\n"
        for (k, name) in ["latency, all over h", "latency, all over none", "startup, all over h", "startup, all over none",
                          "startup of misses, all over h", "startup of misses, all over none"].enumerated() {
            let v = values[k].sorted()
            guard !v.isEmpty else { continue }
            let inRange = v.filter { $0 >= 9 && $0 <= 2000 }.count
            s += String(format: "  %-36@ median %8.1fx  max %8.1fx (%@)  in range %d/%d\n", name as NSString, v[v.count / 2], v.last!, best[k].0 as NSString, inRange, v.count)
        }
        return s
    }
}
