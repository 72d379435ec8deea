import CachePolicy
import Foundation
import Runtime
import Simulation
import Statistics
import Workload

/// The memory rows of the runtime cost model: what a forked container holds of its own, what a handler's
/// holding memory costs its init, and what a container's cgroup is really charged for an import against the
/// package table's figure (`RuntimeCosts.forkMemoryMB`, `memoryTouchMillisPerMB`, `importMemoryScale`).
extension CalibrationBench {
    /// Import hits of each handler in `handlerMemory`.
    static let memoryRounds = 15
    /// What the second handler of `handlerMemory` holds, MB.
    static let heldMB = 64.0

    struct HandlerMemory {
        /// Medians over the rounds: a forked container's memory at its end holding nothing of its own, and
        /// holding `heldMB`, bytes; the init of each, ns.
        var bareBytes: Int64, heldBytes: Int64, bareInitNanos: Double, heldInitNanos: Double
        var touchMillisPerMB: Double { max(0, (heldInitNanos - bareInitNanos) / 1e6 / CalibrationBench.heldMB) }
        /// The memory the container was charged per MB the handler held (1: all of it).
        var chargedPerMB: Double { Double(heldBytes - bareBytes) / Double(Bytes.perMB) / CalibrationBench.heldMB }
        var text: String {
            String(format: "fork_memory_mb, memory_touch_ms_per_mb: import hits forked from the zygote holding the tiny package (its handler's container imports nothing), %d rounds 50 ms apart of a handler holding nothing and one holding %.0f MB (a generated handler writes every page of its trace's memory_mb when it loads), alternating, medians: the container's memory at its end %.2f MB (fork_memory_mb) and %.2f MB (%.2f MB charged per MB held); init %.2f ms and %.2f ms (%.4f ms per MB held)",
                   CalibrationBench.memoryRounds, CalibrationBench.heldMB, Bytes.mb(bareBytes), Bytes.mb(heldBytes), chargedPerMB,
                   bareInitNanos / 1e6, heldInitNanos / 1e6, touchMillisPerMB)
        }
    }

    /// Import-cache hits of two handlers importing the tiny package, forked from the zygote holding it (so
    /// their containers import nothing), one holding nothing of its own and one holding `heldMB`, alternating,
    /// `memoryRounds` each, 50 ms apart: each container's memory at its end and each init.
    func handlerMemory() throws -> HandlerMemory {
        // As `importHits` sets its worker up.
        let w = try worker(tiny, handlers: 2, held: [0, Bytes.fromMB(CalibrationBench.heldMB)]) {
            $0.handlerCache.enabled = false; $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1
        }
        defer { w.shutdown() }
        w.lifecycle.keepsOutcomes = true
        var bytes: [[Int64]] = [[], []], inits: [[Double]] = [[], []]
        for round in -1..<CalibrationBench.memoryRounds {
            for h in 0..<2 {
                Sys.sleep(micros: 50_000)
                let r = w.serve(handler: Int32(h), arrivalNanos: w.now(), startNanos: w.now())
                guard r.error.isEmpty else { throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
                guard round >= 0 else { continue } // the first of each: its handler's files read once, untimed
                guard r.tier == .import else { throw RuntimeError.unavailable("calibration: a request for the memory figures was a \(r.tier) start, not an import hit") }
                _ = try fromPackageZygote([r], "memory hits")
                // One request at a time: the last container to end is this one.
                guard case .container(_, let b, false)? = w.lifecycle.outcomes.last else {
                    throw RuntimeError.unavailable("calibration: no memory figure for a container of handler \(h)")
                }
                bytes[h].append(b); inits[h].append(Double(r.initNanos))
            }
        }
        func median(_ xs: [Int64]) -> Int64 { Int64(Summary(xs.map(Double.init)).p50.rounded()) }
        return HandlerMemory(bareBytes: median(bytes[0]), heldBytes: median(bytes[1]),
                             bareInitNanos: Summary(inits[0]).p50, heldInitNanos: Summary(inits[1]).p50)
    }
}

extension CalibrationBench {
    /// Sets `servedSetMemory` serves, and its rounds of each.
    static let memorySetCount = 4
    static let memorySetRounds = 5

    /// The sets of packages `import_memory_scale` is measured over, each what one container imports: with
    /// `handlers` (a trace's), up to `memorySetCount` of their package sets spread by rank over the table's
    /// import memory of what they import (a handler imports its packages' closure; what those load in common,
    /// standard-library modules and shared libraries, is charged once, which a scale over single packages
    /// misses: in the mixed trace's containers forked from the root the share charged fell from about 0.7 for 3
    /// packages to 0.21–0.50 for 20 and more, median 0.41, campaign AH's run at 60%); without, the overlap's sets (the table's
    /// costliest imports, 3 to a set). Only sets whose packages are measured and whose wheels the wheelhouse
    /// holds with their dependencies' (all with `everyPackage`).
    static func memorySets(_ table: PackageTable, wheelhouse: String, everyPackage: Bool, handlers: [Handler]?) -> [[Package]] {
        guard let handlers else {
            let picks = importPicks(table, wheelhouse: wheelhouse, everyPackage: everyPackage, count: overlapSets * overlapSetPackages)
            return stride(from: 0, to: picks.count, by: overlapSetPackages).map { Array(picks[$0..<min(picks.count, $0 + overlapSetPackages)]) }
        }
        let files = everyPackage ? [] : (try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []
        func held(_ p: Package) -> Bool {
            !p.estimated && (everyPackage || PackageStore.wheel(name: p.name, version: p.version, in: wheelhouse, files: files) != nil)
        }
        var seen = Set<[String]>(), weighed: [(set: [Package], bytes: Int64)] = []
        for h in handlers {
            let names = h.packages.sorted()
            guard !names.isEmpty, seen.insert(names).inserted else { continue }
            let set = names.compactMap { table[$0] }
            guard set.count == names.count, set.allSatisfy({ p in held(p) && p.transitiveDependencies.allSatisfy { table[$0].map(held) ?? false } }) else { continue }
            weighed.append((set, table.closure(of: names).reduce(0) { $0 + (table[$1]?.importMemoryBytes ?? 0) }))
        }
        weighed.sort { $0.bytes != $1.bytes ? $0.bytes < $1.bytes : $0.set.map(\.name).lexicographicallyPrecedes($1.set.map(\.name)) }
        return byRank(weighed, memorySetCount).map(\.set)
    }

    /// Each of `sets` served by a worker (`rootImportWorker`: its packages installed at its start, untimed;
    /// every request a fork from the root zygote importing the whole set in its container), `memorySetRounds`
    /// times alone, 50 ms apart, after one untimed: each container's memory at its end, with its set's
    /// packages. Empty (and why) with no sets or no worker; a failed request ends it (and says so).
    func servedSetMemory(_ sets: [[Package]], table: PackageTable, wheelhouse: String) -> (samples: [(set: [String], bytes: Int64)], why: String) {
        guard !sets.isEmpty else { return ([], "no set of packages with an import cost has its and its dependencies' wheels in \(wheelhouse)") }
        let w: RuntimeWorker
        do { w = try rootImportWorker(sets, table: table, wheelhouse: wheelhouse, directory: "memory-imports") } catch {
            return ([], "no worker to serve them: \(error)")
        }
        defer { w.shutdown(); try? FileManager.default.removeItem(atPath: work + "/memory-imports"); Sys.syncFileSystems() }
        w.lifecycle.keepsOutcomes = true
        var out: [(set: [String], bytes: Int64)] = []
        for (k, set) in sets.enumerated() {
            for round in -1..<CalibrationBench.memorySetRounds {
                Sys.sleep(micros: 50_000)
                let r = w.serve(handler: Int32(k), arrivalNanos: w.now(), startNanos: w.now())
                let what = set.map(\.name).joined(separator: "+")
                guard r.error.isEmpty, r.tier == .import, (r.zygote ?? 0) == 0 else {
                    return (out, r.error.isEmpty ? "a request for \(what) was a \(r.tier) start, not a fork from the root" : "serving \(what) failed: \(r.error)")
                }
                // One request at a time: the last container to end is this one.
                guard round >= 0, case .container(_, let bytes, false)? = w.lifecycle.outcomes.last else { continue }
                out.append((set.map(\.name), bytes))
            }
        }
        return (out, "")
    }
}

extension CalibrateJob {
    /// What a forked container's cgroup is charged for its imports against the package table's figure, pooled
    /// over sets: each set's containers (forked from the root zygote, importing the set and its dependencies),
    /// the median memory at their end less `forkBytes` (what a forked container holds importing nothing),
    /// summed, over the table's `import_memory_bytes` of the set's packages and their dependencies, each once,
    /// summed. nil (and why) with no set whose imports the table gives memory.
    public static func importMemoryScale(_ samples: [(set: [String], bytes: Int64)], table: PackageTable, forkBytes: Int64)
        -> (scale: Double?, text: String) {
        var bySet: [[String]: [Double]] = [:], order: [[String]] = []
        for s in samples {
            if bySet[s.set] == nil { order.append(s.set) }
            bySet[s.set, default: []].append(Double(s.bytes))
        }
        var charged = 0.0, modeled = 0.0, parts: [String] = []
        for set in order {
            let all = table.closure(of: set)
            let model = Double(all.reduce(Int64(0)) { $0 + (table[$1]?.importMemoryBytes ?? 0) })
            guard model > 0 else { continue }
            let xs = bySet[set]!
            let real = max(0, Summary(xs).p50 - Double(forkBytes))
            charged += real; modeled += model
            parts.append(String(format: "%@ (%d packages) %.1f MB of %.1f (× %.2f)", set.joined(separator: "+"), all.count,
                                real / Double(Bytes.perMB), model / Double(Bytes.perMB), real / model))
        }
        guard modeled > 0, charged > 0 else {
            return (nil, samples.isEmpty ? "no container's memory measured" : "no measured set's imports have memory in the table")
        }
        let scale = min(100, max(0.01, charged / modeled))
        return (scale, String(format: "%.3f (pooled: %.1f MB charged over %.1f MB in the table; each set the median of its containers less fork_memory_mb): ",
                              scale, charged / Double(Bytes.perMB), modeled / Double(Bytes.perMB)) + parts.joined(separator: ", "))
    }

    /// Which sets `import_memory_scale` is measured over.
    static func memorySetsWhat(trace: String?) -> String {
        trace.map { "up to \(CalibrationBench.memorySetCount) package sets of \($0)'s handlers, spread by their import memory," }
            ?? "the table's \(CalibrationBench.overlapSets * CalibrationBench.overlapSetPackages) costliest imports in sets of \(CalibrationBench.overlapSetPackages),"
    }

    /// The header line that says how the memory rows were measured.
    static func memoryText(_ m: CalibrationBench.HandlerMemory, scale: (scale: Double?, text: String), trace: String?) -> String {
        m.text + "; import_memory_scale: what a container's cgroup is charged for its imports (\(memorySetsWhat(trace: trace)) each served \(CalibrationBench.memorySetRounds)× alone by a worker, a fork from its root zygote importing the set and its dependencies) over the package table's import_memory_bytes (a fresh interpreter's resident-set growth, which counts the package's files mapped from the page cache, and what packages load in common once for each: a cgroup is charged for those only when it reads them first, and once): "
            + (scale.scale == nil ? "1 (not measured: \(scale.text))" : scale.text)
    }

    /// `calibrate --memory-only`: measures the memory rows again (interpreter_memory_mb, container_memory_mb,
    /// fork_memory_mb, memory_touch_ms_per_mb, import_memory_scale) and writes them into `output`, an existing
    /// cost file, keeping every other row and its header (one line added, naming this command). Memory does
    /// not move with the machine's speed, as the timed rows do.
    public func runMemoryOnly() throws -> RuntimeCosts {
        guard FileManager.default.fileExists(atPath: output) else {
            throw RuntimeError.unavailable("\(output): no such runtime cost file; --memory-only rewrites the memory rows of one `pipsqueak calibrate` wrote (run it without --memory-only first, or name one with --out)")
        }
        var costs = try RuntimeCosts.read(path: output)
        let text = try String(contentsOfFile: output, encoding: .utf8)
        let marker = "memory rows measured again by: "
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("#") }
            .map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : String($0.dropFirst()) }
            .filter { !$0.hasPrefix(marker) }
        let table = try PackageTable.read(path: packages)
        let handlers = try trace.map { try Trace(path: $0, handlersPath: nil).handlers.handlers }
        let bench = try CalibrationBench(repeats: repeats, cores: cores)
        defer { bench.remove() }
        if online {
            try bench.fetchWheels(Array(CalibrationBench.memorySets(table, wheelhouse: wheelhouse, everyPackage: true, handlers: handlers).joined()),
                                  withDependenciesFrom: table, into: wheelhouse, purpose: "for the imports' memory", log: log)
        }
        log("import-cache hits: the root zygote's memory, \(repeats)×")
        let hits = try bench.importHits()
        log("handler-cache hits: a cold container's memory, \(repeats)×")
        let thawed = try bench.handlerHits()
        log("forked containers' memory, a handler holding nothing and one holding \(Int(CalibrationBench.heldMB)) MB, \(CalibrationBench.memoryRounds)× each")
        let held = try bench.handlerMemory()
        let sets = CalibrationBench.memorySets(table, wheelhouse: wheelhouse, everyPackage: online, handlers: handlers)
        log("\(CalibrateJob.memorySetsWhat(trace: trace)) served by a worker (forks from its root zygote), \(CalibrationBench.memorySetRounds)× each: their containers' memory")
        let served = bench.servedSetMemory(sets, table: table, wheelhouse: wheelhouse)
        costs.interpreterMemoryMB = Bytes.mb(hits.rootMemoryBytes)
        if let m = thawed.containerMemoryBytes { costs.containerMemoryMB = max(0, Bytes.mb(m - hits.rootMemoryBytes)) }
        let scale = CalibrateJob.applyMemory(held, served: served.samples, why: served.why, table: table, to: &costs)
        let madeBy = Provenance.madeBy("pipsqueak calibrate --memory-only --repeat \(repeats) --cores \(cores)" + (online ? " --online" : "")
            + (trace.map { " --trace \($0)" } ?? "") + (output == ProjectPaths.traces("runtime-costs.csv") ? "" : " --out \(output)"))
        try costs.write(path: output, comments: kept + [
            marker + madeBy + " on \(MachineDescription.date), \(MachineDescription.summary): interpreter_memory_mb (the root zygote's), container_memory_mb (a cold container's beyond it), "
                + CalibrateJob.memoryText(held, scale: scale, trace: trace),
        ])
        log(String(format: "memory: interpreter %.2f MB, cold container +%.2f MB, fork %.2f MB, %.4f ms per MB held, imports × %.3f",
                   costs.interpreterMemoryMB, costs.containerMemoryMB, costs.forkMemoryMB, costs.memoryTouchMillisPerMB, costs.importMemoryScale)
            + (scale.scale == nil ? " (not measured: \(scale.text))" : ""))
        return costs
    }

    /// Sets the fork memory, the touch cost and the import memory scale from what was measured; returns the scale
    /// and its text (why not, when `served` is empty and `why` says).
    static func applyMemory(_ held: CalibrationBench.HandlerMemory, served: [(set: [String], bytes: Int64)], why: String, table: PackageTable,
                            to costs: inout RuntimeCosts) -> (scale: Double?, text: String) {
        costs.forkMemoryMB = Bytes.mb(held.bareBytes)
        costs.memoryTouchMillisPerMB = held.touchMillisPerMB
        var scale = CalibrateJob.importMemoryScale(served, table: table, forkBytes: held.bareBytes)
        if served.isEmpty, !why.isEmpty { scale.text = why }
        costs.importMemoryScale = scale.scale ?? 1
        return scale
    }
}

extension CalibrationBench {
    /// Fetches from the package index the wheels that `wheelhouse` lacks of `besides`, of `packages` and of
    /// their dependencies, each once, in that order (`--online`).
    func fetchWheels(_ packages: [Package], withDependenciesFrom table: PackageTable, besides: [Package] = [], into wheelhouse: String,
                     purpose: String, log: @escaping (String) -> Void) throws {
        var seen = Set<String>()
        let wanted = (besides + packages + packages.flatMap { $0.transitiveDependencies.compactMap { table[$0] } }).filter { seen.insert($0.name).inserted }
        try PackageMeasurer.fetchWheels(PackageMeasurer.missingWheels(wanted, in: wheelhouse), into: wheelhouse, python: python, purpose: purpose, progress: log)
    }
}
