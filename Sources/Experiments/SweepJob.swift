import CachePolicy
import Foundation
import Results
import Simulation
import Statistics
import Workload

/// The job behind `pipsqueak sweep`: a grid of configurations × seeds on one trace, simulated in parallel,
/// each finished point stored at once in the results database (so a rerun skips it), and one CSV row per
/// point at the end.
///
/// A sweep can be cut into N shards (`shard`): the I-th runs every point whose position in the grid is I
/// modulo N, so the same grid and N always give the same slices and every point lands in exactly one. Each
/// shard writes its own store; `ResultStore.merge` joins them and `SweepJob.export` writes the CSV the whole
/// sweep would have written, from the sweep's definition kept in every store.
public struct SweepJob {
    public var tracePath = ProjectPaths.defaultMixedTrace
    public var name = "sweep"
    public var handlerCacheMB: [Double] = [256, 1024, 4096]
    public var importCacheMB: [Double] = [0, 512, 2048]
    public var policies: [String] = ["lru", "gdsf"] // gdsf: gdsf-lifetime's old name, kept for the stored default sweep
    public var trees: [String] = ["dynamic", "static"]
    public var seeds: [UInt64] = [1]
    public var jobs = ProcessInfo.processInfo.activeProcessorCount
    public var storePath = ProjectPaths.results("pipsqueak.sqlite")
    public var output: String?
    public var packagesPath = ProjectPaths.packages
    /// The configuration every point starts from (its budgets, policy and tree are the grid's).
    public var base: PolicyConfig = PolicyConfig.presets["all"]!
    /// Cores of the simulated worker, and the cost noise (lognormal sigma; 0: none), as `simulate` takes.
    public var cores = 2
    public var noise = 0.0
    /// Only this slice of the grid; nil: all of it.
    public var shard: Shard?
    /// The command line, for the CSV's header and the store's sweep definition.
    public var command: String?
    /// How the base config was given on the command line (`--preset h --config f.json`), for that line.
    public var baseOptions: String?
    public var progress: (String) -> Void = { _ in }

    public init() {}

    /// The I-th of N deterministic slices of a grid (I counts from 0).
    public struct Shard: Equatable, Sendable, CustomStringConvertible {
        public let index: Int, count: Int
        public init(index: Int, count: Int) throws {
            guard count >= 1, index >= 0, index < count else {
                throw InputError(file: "--shard", line: 0, "expected I/N with N at least 1 and I from 0 to N-1, found \(index)/\(count)")
            }
            self.index = index; self.count = count
        }
        /// Parses `I/N`.
        public init(parsing text: String) throws {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
                throw InputError(file: "--shard", line: 0, "expected I/N (shard I of N, I from 0 to N-1), found '\(text)'")
            }
            try self.init(index: i, count: n)
        }
        public var description: String { "\(index)/\(count)" }
        /// Whether the point at `position` in the grid belongs to this shard.
        public func holds(position: Int) -> Bool { position % count == index }
    }

    /// The grid's axes, as the store keeps them (JSON) so a merged store can be exported.
    public struct Grid: Codable, Equatable, Sendable {
        public var handlerMB: [Double], importMB: [Double], policies: [String], trees: [String], seeds: [UInt64]
        /// The base config (JSON), cores and noise; nil in stores written before they were options (the defaults).
        public var base: String?, cores: Int?, noise: Double?
        public var json: String {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
        }
    }

    public var grid: Grid {
        get {
            let custom = base.json != PolicyConfig.presets["all"]!.json
            return Grid(handlerMB: handlerCacheMB, importMB: importCacheMB, policies: policies, trees: trees, seeds: seeds,
                        base: custom ? base.json : nil, cores: cores == 2 ? nil : cores, noise: noise == 0 ? nil : noise)
        }
        set {
            handlerCacheMB = newValue.handlerMB; importCacheMB = newValue.importMB; policies = newValue.policies; trees = newValue.trees; seeds = newValue.seeds
            if let b = newValue.base, let c = try? PolicyConfig.parse(Data(b.utf8), path: "the store's sweep definition") { base = c }
            cores = newValue.cores ?? 2; noise = newValue.noise ?? 0
        }
    }

    /// Sweep names become file names (`results/sweep-NAME.csv`): letters, digits, `.`, `_` and `-`, not
    /// starting with `.`, at most 100 characters.
    public static func checkName(_ name: String) throws {
        let ok = !name.isEmpty && name.count <= 100 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0) }
        if !ok { throw InputError(file: "--name", line: 0, "a sweep name is 1-100 of A-Z a-z 0-9 . _ - and does not start with '.', found '\(name)'") }
    }

    public struct Point: Sendable {
        public var handlerMB: Double, importMB: Double, policy: String, tree: String, seed: UInt64
        /// The base config, cores and noise, when not the defaults (then they are part of the key).
        public var base: PolicyConfig? = nil, cores = 2, noise = 0.0
        public var config: PolicyConfig {
            var c = base ?? PolicyConfig.presets["all"]!
            c.name = "sweep"
            c.handlerCache.memoryMB = handlerMB; c.handlerCache.policy = policy
            c.importCache.enabled = importMB > 0; c.importCache.memoryMB = importMB; c.importCache.tree = tree
            return c
        }
        public func key(trace: String, costs: String = "") -> String {
            var k = "\(trace)|h=\(Int(handlerMB))|i=\(Int(importMB))|p=\(policy)|t=\(tree)|s=\(seed)|c=\(costs)|v=\(SweepJob.resultsVersion)"
            if let b = base { k += "|b=" + SweepJob.fingerprint(text: b.json) }
            if cores != 2 { k += "|k=\(cores)" }
            if noise != 0 { k += "|n=\(noise)" }
            return k
        }
    }

    /// Every point of the grid, in grid order (the order of the CSV and of shard positions).
    public var points: [Point] {
        var out: [Point] = []
        for h in handlerCacheMB { for i in importCacheMB { for p in policies { for t in trees { for s in seeds {
            if i == 0 && t != trees[0] { continue } // no import cache: the tree shape does not matter
            let custom = base.json != PolicyConfig.presets["all"]!.json
            out.append(Point(handlerMB: h, importMB: i, policy: p, tree: t, seed: s, base: custom ? base : nil, cores: cores, noise: noise))
        } } } } }
        return out
    }

    /// The points this job runs: all of them, or its shard's.
    public var shardPoints: [Point] {
        guard let shard else { return points }
        return points.enumerated().filter { shard.holds(position: $0.offset) }.map(\.element)
    }

    /// The version of what a point's stored results mean: bumped whenever the same inputs would give other
    /// stored figures (2: quantiles by the nearest rank), so a store never hands back a point computed
    /// under an older definition.
    public static let resultsVersion = 2

    /// The fingerprint of the cost files the points' keys name.
    public var costsFingerprint: String {
        SweepJob.fingerprint([tracePath, Trace.handlersPath(for: tracePath), packagesPath, ProjectPaths.traces("runtime-costs.csv")])
    }

    /// The command line recorded for this sweep: the one given, or one rebuilt from the grid with every
    /// option explicit (so defaults changed later cannot change what it says). Leaves out what only says
    /// where results go or how fast (--store, --out, --shard, --jobs), so every shard records the same sweep.
    public var commandLine: String {
        command ?? "pipsqueak sweep --trace \(ProjectPaths.relative(tracePath))"
            + (baseOptions.map { " " + $0 } ?? "")
            + (cores != 2 ? " --cores \(cores)" : "") + (noise != 0 ? " --noise \(noise)" : "")
            + (packagesPath != ProjectPaths.packages ? " --packages \(ProjectPaths.relative(packagesPath))" : "") + " --name \(name) --handler-mb \(handlerCacheMB.map { String(Int($0)) }.joined(separator: ",")) --import-mb \(importCacheMB.map { String(Int($0)) }.joined(separator: ",")) --policies \(policies.joined(separator: ",")) --trees \(trees.joined(separator: ",")) --seeds \(seeds.map(String.init).joined(separator: ","))"
    }

    /// Runs the points (of its shard) not yet stored, then writes the CSV of all points (a shard writes one
    /// only when `output` is set, of its own points). Returns (run now, skipped, CSV path or nil).
    @discardableResult
    public func run() throws -> (ran: Int, skipped: Int, csv: String?) {
        try SweepJob.checkName(name)
        for p in points { try p.config.validate() }
        let store = try ResultStore(path: storePath)
        let table = try PackageTable.read(path: packagesPath)
        let overlap = try ImportOverlap.beside(packagesPath: packagesPath)
        let sj = SimulateJob()
        let runtime = try sj.runtimeCosts()
        let popular = sj.popularPackages()
        let mine = shardPoints
        // Points are keyed by their inputs, the cost files included: new measurements mean new points.
        let costs = costsFingerprint
        try store.saveSweep(.init(name: name, trace: tracePath, costs: costs, grid: grid.json, command: commandLine))
        let pending = try mine.filter { !(try store.has(kind: "sweep", key: $0.key(trace: tracePath, costs: costs))) }
        let skipped = mine.count - pending.count
        let of = shard.map { " of shard \($0)" } ?? ""
        if skipped > 0 { progress("\(skipped) of \(mine.count) points\(of) already in \(storePath): skipped") }
        var traces: [UInt64: PreparedTrace] = [:]
        for s in Set(pending.map(\.seed)) {
            traces[s] = try PreparedTrace(tracePath: tracePath, table: table, runtime: runtime, popular: popular, seed: s, noiseSigma: noise, overlap: overlap)
        }
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
                    let s = try prepared[p.seed]!.simulate(p.config, seed: p.seed, cores: p.cores)
                    lock.lock(); defer { lock.unlock() }
                    // Another writer of the same store may have finished this point first: keep theirs.
                    try store.saveIfAbsent(.init(kind: "sweep", key: p.key(trace: tracePath, costs: costs), config: p.config.json, trace: tracePath,
                                                 seed: p.seed, machine: MachineDescription.summary, codeVersion: CodeVersion.current, started: started,
                                                 finished: MachineDescription.date),
                                           summaries: s.tierSummaries, metrics: s.metrics)
                    tally.done += 1
                    let done = tally.done
                    let elapsed = Date().timeIntervalSince(start)
                    let rate = Double(done) / max(elapsed, 1e-9)
                    let width = 30, filled = Int(Double(width) * Double(done) / Double(pending.count))
                    progress(String(format: "[%@%@] %d/%d points%@, %.2f points/s, about %.0f s left",
                                    String(repeating: "#", count: filled), String(repeating: ".", count: width - filled),
                                    done, pending.count, of, rate, Double(pending.count - done) / max(rate, 1e-9)))
                } catch {
                    lock.lock(); tally.failure = tally.failure ?? error; lock.unlock()
                }
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        if let f = tally.failure { throw f }
        if shard != nil && output == nil { return (pending.count, skipped, nil) }
        let csv = output ?? ProjectPaths.results("sweep-\(name).csv")
        let definition = ResultStore.SweepDefinition(name: name, trace: tracePath, costs: costs, grid: grid.json, command: commandLine)
        _ = try SweepJob.export(store: store, definition: definition, points: mine, madeBy: commandLine, to: csv)
        return (pending.count, skipped, csv)
    }

    /// FNV-1a over the bytes of `text`, as hex.
    static func fingerprint(text: String) -> String { String(FNV1a.hash(text), radix: 16) }

    /// FNV-1a over the bytes of `files` (missing files count as empty), as hex.
    static func fingerprint(_ files: [String]) -> String {
        var h = FNV1a()
        for f in files {
            h.add(FileManager.default.contents(atPath: f) ?? Data())
            h.add(0xff) // between files
        }
        return String(h.value, radix: 16)
    }

    /// The job a stored sweep definition describes (its grid, trace and name).
    public static func job(from definition: ResultStore.SweepDefinition) throws -> SweepJob {
        guard let g = try? JSONDecoder().decode(Grid.self, from: Data(definition.grid.utf8)) else {
            throw InputError(file: "sweep \(definition.name)", line: 0, "the store's grid is not valid JSON: \(definition.grid.prefix(200))")
        }
        var job = SweepJob()
        job.name = definition.name; job.tracePath = definition.trace; job.grid = g; job.command = definition.command
        return job
    }

    /// Writes one CSV row per point of `points` (default: the definition's whole grid) stored in `store`,
    /// in grid order, to `path` (temporary file, then rename). Points not stored are left out; returns
    /// (rows written, points missing).
    @discardableResult
    public static func export(store: ResultStore, definition: ResultStore.SweepDefinition, points: [Point]? = nil, madeBy: String,
                              to path: String) throws -> (rows: Int, missing: Int) {
        let job = try SweepJob.job(from: definition)
        let points = points ?? job.points
        try ProjectPaths.ensureParent(of: path)
        let out = try OutputFile(path: path)
        out.write("# made by: \(madeBy)\n")
        if madeBy != definition.command { out.write("# sweep: \(definition.command)\n") }
        out.write("# machine: \(MachineDescription.summary)\n# store: \(ProjectPaths.relative(store.db.path)) (kind sweep)\n")
        out.write("handler_cache_mb,import_cache_mb,policy,tree,seed,requests,handler_ratio,import_ratio,cold_ratio,mean_ms,p50_ms,p90_ms,p99_ms,peak_memory_mb,evicted_containers,evicted_zygotes\n")
        var rows = 0
        for p in points {
            let key = p.key(trace: definition.trace, costs: definition.costs)
            guard let run = try store.runs(kind: "sweep", keyPrefix: key).first(where: { $0.key == key }) else { continue }
            let s = Dictionary(uniqueKeysWithValues: try store.summaries(run: run.id).map { ($0.tier, $0) })
            let m = try store.metrics(run: run.id)
            guard let all = s["all"] else { continue }
            out.write("\(Int(p.handlerMB)),\(Int(p.importMB)),\(p.policy),\(p.tree),\(p.seed),\(all.requests),")
            out.write(String(format: "%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%.3f,%.1f,%.0f,%.0f\n", s["handler"]?.share ?? 0, s["import"]?.share ?? 0,
                             s["cold"]?.share ?? 0, all.mean, all.p50, all.p90, all.p99, m["peak_memory_mb"] ?? 0,
                             m["evicted_containers"] ?? 0, m["evicted_zygotes"] ?? 0))
            rows += 1
        }
        try out.commit()
        return (rows, points.count - rows)
    }
}
