import CachePolicy
import Foundation
import Simulation
import Statistics
import Workload

/// The trace jobs behind `pipsqueak trace …`: generate, convert and summarise traces.
public enum TraceJobs {
    /// Loads the shipped popularity data and handler sets, optionally restricted to packages with measured
    /// costs (`packagesPath`).
    public static func loadHandlerSets(importFrequency: String = ProjectPaths.importFrequency,
                                       handlerSets: String = ProjectPaths.handlerSets,
                                       restrictTo packagesPath: String? = nil) throws -> HandlerSets {
        let freq = try ImportFrequency.read(path: importFrequency)
        var sets = try HandlerSets.read(path: handlerSets, frequency: freq)
        if let p = packagesPath {
            let table = try PackageTable.read(path: p)
            sets = sets.restricted(to: Set(table.names))
            guard !sets.rows.isEmpty else { throw GeneratorError("no handler set keeps a package measured in \(p)") }
        }
        return sets
    }

    /// Writes a generated trace (`out`) and its handler table (`NAME.handlers.csv`) atomically: the handler
    /// table is committed only after the invocations are complete. Returns the number of requests.
    @discardableResult
    public static func write(table: HandlerTable, body: (TraceWriter) throws -> Void, to out: String,
                             comments: [String], withExec: Bool = false) throws -> Int {
        try ProjectPaths.ensureParent(of: out)
        let writer = try TraceWriter(path: out, handlers: table, comments: comments, withExec: withExec)
        try body(writer)
        let handlersPath = Trace.handlersPath(for: out)
        try table.write(path: handlersPath, comments: comments)
        try writer.commit()
        return writer.count
    }

    /// Provenance comment lines for a file made by `command`.
    public static func provenance(command: String, seed: UInt64?) -> [String] {
        var lines = ["made by: \(command)"]
        if let s = seed { lines.append("seed: \(s)") }
        lines.append("machine: \(MachineDescription.summary)")
        return lines
    }

    /// The `trace stats` report.
    /// The stats report of the trace at `path` (its handler table beside it, or `handlersPath`).
    public static func stats(path: String, handlersPath: String? = nil, top: Int = 10) throws -> String {
        statsReport(try TraceStats(trace: Trace(path: path, handlersPath: handlersPath)), top: top)
    }

    /// Writes the paper's microbenchmark trace to `out`; returns (requests, handlers). The package must be
    /// one pipsqueak knows: measured (`packages`) or among the distributions code imports.
    public static func generateMicro(package: String, handlers: Int, rate: Double, seconds: Double, seed: UInt64,
                                     to out: String, packages: String = ProjectPaths.packages) throws -> (requests: Int, handlers: Int) {
        let name = PackageName.canonical(package)
        let measured = (try? PackageTable.read(path: packages))?[name] != nil
        let popular = (try? ImportFrequency.read(path: ProjectPaths.importFrequency))?.distributionsByPopularity.contains { $0.name == name } ?? false
        guard measured || popular else {
            throw InputError(file: "--package", line: 0, "unknown package '\(package)': not measured in \(packages) and not among the distributions in \(ProjectPaths.importFrequency)")
        }
        let (table, body) = try TraceGenerator.microbenchmark(package: package, handlers: handlers, rate: rate, seconds: seconds, seed: seed)
        let cmd = "pipsqueak trace generate micro --package \(package) --handlers \(handlers) --rate \(rate) --seconds \(seconds) --seed \(seed)"
        return (try write(table: table, body: body, to: out, comments: provenance(command: cmd, seed: seed)), table.count)
    }

    /// Writes a mixed-workload trace to `out`; returns (requests, handlers).
    public static func generateMixed(handlers: Int, zipf: Double, customers: Int, rate: Double, seconds: Double, seed: UInt64,
                                     onlyMeasured: String?, to out: String) throws -> (requests: Int, handlers: Int) {
        let sets = try loadHandlerSets(restrictTo: onlyMeasured)
        let (table, body) = try TraceGenerator.mixed(sets: sets, handlers: handlers, zipfExponent: zipf, rate: rate,
                                                     seconds: seconds, customers: customers, seed: seed)
        var cmd = "pipsqueak trace generate mixed --handlers \(handlers) --zipf \(zipf) --customers \(customers) --rate \(rate) --seconds \(seconds) --seed \(seed)"
        if let o = onlyMeasured { cmd += " --only-measured \(o)" }
        return (try write(table: table, body: body, to: out, comments: provenance(command: cmd, seed: seed)), table.count)
    }

    /// Converts an Azure Functions 2019 trace directory to a trace at `out`; `warn` gets what was skipped.
    /// Returns (requests, functions, first minute, last minute).
    public static func fromAzure(directory: String, fromMinute: Int?, minutes: Int?, seed: UInt64, onlyMeasured: String? = nil, to out: String,
                                 warn: (String) -> Void) throws -> (requests: Int, functions: Int, firstMinute: Int, lastMinute: Int) {
        let azure = try AzureTrace(directory: directory, fromMinute: fromMinute, minutes: minutes)
        for w in azure.warnings { warn(w) }
        let (table, body) = try azure.trace(sets: try loadHandlerSets(restrictTo: onlyMeasured), seed: seed)
        var cmd = "pipsqueak trace from-azure \(directory) --from-minute \(azure.firstMinute) --minutes \(azure.lastMinute - azure.firstMinute + 1) --seed \(seed)"
        if let o = onlyMeasured { cmd += " --only-measured \(o)" }
        let n = try write(table: table, body: body, to: out, comments: provenance(command: cmd, seed: seed) + azure.samplingNotes, withExec: true)
        return (n, table.count, azure.firstMinute, azure.lastMinute)
    }

    /// Converts an Azure Functions 2021 per-invocation file to a trace at `out`; `warn` gets what was skipped.
    /// Returns (requests, functions).
    public static func fromAzure2021(path: String, fromSecond: Double, seconds: Double?, memoryMB: Double, seed: UInt64,
                                     onlyMeasured: String? = nil, to out: String, warn: (String) -> Void) throws -> (requests: Int, functions: Int) {
        let azure = try AzureTrace2021(path: path, fromSecond: fromSecond, seconds: seconds)
        for w in azure.warnings { warn(w) }
        let (table, body) = try azure.trace(sets: try loadHandlerSets(restrictTo: onlyMeasured), seed: seed, memoryMB: memoryMB)
        var cmd = "pipsqueak trace from-azure \(path) --from-second \(fromSecond)"
        if let s = seconds { cmd += " --seconds \(s)" }
        cmd += " --memory-mb \(memoryMB) --seed \(seed)"
        if let o = onlyMeasured { cmd += " --only-measured \(o)" }
        let n = try write(table: table, body: body, to: out, comments: provenance(command: cmd, seed: seed)
                            + azure.samplingNotes(memoryMB: memoryMB, initMillis: 5), withExec: true)
        return (n, table.count)
    }

    public static func statsReport(_ s: TraceStats, top: Int = 10) -> String {
        var out = ""
        func line(_ k: String, _ v: String) { out += k.padding(toLength: 22, withPad: " ", startingAt: 0) + v + "\n" }
        line("requests", String(s.requests))
        line("duration", String(format: "%.3f s", s.durationSeconds))
        line("rate", String(format: "%.3f req/s", s.rate))
        line("handlers", "\(s.handlersInvoked) invoked of \(s.handlers.count) in the table")
        line("execution", String(format: "mean %.1f ms per request (%@), %.2f cores busy on average",
                                 s.execNanosTotal / 1e6 / Double(max(1, s.requests)),
                                 s.withOwnExec == 0 ? "the handlers' exec_ms" : s.withOwnExec == s.requests ? "each request's own exec_ms" : "\(s.withOwnExec) with their own exec_ms",
                                 s.offeredCores))
        line("top 10% of handlers", String(format: "%.1f%% of requests", 100 * s.shareOfTop(0.1)))
        let pkgs = s.topPackages
        line("distinct packages", String(pkgs.count))
        let sizes = s.handlers.handlers.map { Double($0.packages.count) }
        let sum = Summary(sizes)
        line("packages per handler", String(format: "mean %.1f, median %.0f, p90 %.0f", sum.mean, sum.p50, sum.p90))
        out += "\ntop handlers by requests:\n"
        for (id, n) in s.topHandlers.prefix(top) {
            out += "  " + id.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8d  %5.1f%%\n", n, 100 * Double(n) / Double(max(1, s.requests)))
        }
        out += "\ntop packages by requests:\n"
        out += "  " + "package".padding(toLength: 24, withPad: " ", startingAt: 0) + "requests   share  handlers\n"
        for p in pkgs.prefix(top) {
            out += "  " + p.name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8d  %5.1f%%  %8d\n", p.requests, 100 * Double(p.requests) / Double(max(1, s.requests)), p.handlers)
        }
        return out
    }
}

/// `trace fit`: a trace's time scaled so that, on `cores` cores, its requests keep a chosen share of them
/// busy. The share is measured, not guessed: the trace is simulated with this machine's costs and the
/// configuration (starts as well as execution take a core, and how many requests start warm depends on the
/// rate), its arrivals are stretched or compressed by the ratio of the load found to the load wanted, and
/// that is repeated until they agree within 3% (at most 8 rounds; thinning: 24, by bisection), the closest
/// round kept and a warning given when none came within 3%. Handlers, their order and each
/// invocation's own exec_ms are kept; only the arrival times change (or, `thin`, only which requests stay).
public struct TraceFit {
    public var tracePath: String
    public var handlersPath: String?
    public var cores = 2
    public var load = 0.5
    public var config: PolicyConfig = PolicyConfig.presets["all"]!
    public var packagesPath = ProjectPaths.packages
    /// The runtime cost model the load is simulated with (nil: `SimulateJob`'s default).
    public var runtimeCostsPath: String?
    public var seed: UInt64 = 1
    /// Keep the arrival times and drop requests instead (each kept with one probability, seeded): the span
    /// and each function's bursts stay, the rate falls. A trace too heavy for the machine (the Azure sample
    /// needs about 10 cores) is fitted this way without stretching its minutes into hours.
    public var thin = false
    public var progress: (String) -> Void = { _ in }

    public init(tracePath: String) { self.tracePath = tracePath }

    public struct Result: Sendable {
        /// Arrival times were multiplied by this (1 when thinned).
        public var factor: Double
        /// The share of requests kept (1 when stretched).
        public var kept: Double = 1
        public var loadBefore: Double, loadAfter: Double
        public var rounds: Int
        public var requests: Int
        public var seconds: Double
    }

    /// The trace's invocations with arrivals multiplied by `factor` and, thinned, only those whose draw
    /// (the same draw for the same invocation whatever `keep` is) falls below `keep`.
    func invocations(_ trace: Trace, factor: Double, keep: Double) throws -> () throws -> Invocation? {
        let reader = try trace.makeReader()
        let draws = RandomSource(seed: seed).substream("thin")
        return {
            while var inv = try reader.nextInvocation() {
                if draws.uniform() >= keep { continue }
                inv.arrivalNanos = Int64((Double(inv.arrivalNanos) * factor).rounded())
                return inv
            }
            return nil
        }
    }

    /// Simulated load of the trace with arrivals multiplied by `factor`, `keep` of them kept.
    func load(factor: Double, keep: Double = 1, trace: Trace, costs: CostModel, popular: [String]) throws -> Double {
        let planner = try Planner(config: config, catalog: costs.catalog(handlers: trace.handlers), popularPackages: popular)
        let sim = Simulation(planner: planner, costs: costs, handlers: trace.handlers, cores: cores, seed: seed)
        let s = try sim.run(next: try invocations(trace, factor: factor, keep: keep))
        guard let l = s.offeredLoad else { throw CostModelError("\(tracePath): fewer than two requests; there is no load to fit") }
        return l
    }

    /// Writes the fitted trace to `out` (its handler table beside it).
    public func run(out: String, command: String) throws -> Result {
        guard load > 0 else { throw CostModelError("--load must be positive") }
        let trace = try Trace(path: tracePath, handlersPath: handlersPath)
        let table = try PackageTable.read(path: packagesPath)
        var sj = SimulateJob()
        sj.runtimeCostsPath = runtimeCostsPath
        let costs = try CostModel(table: table, handlers: trace.handlers, runtime: try sj.runtimeCosts(),
                                  overlap: try ImportOverlap.beside(packagesPath: packagesPath), seed: seed)
        let popular = sj.popularPackages()
        var factor = 1.0, keep = 1.0
        let before = try load(factor: 1, trace: trace, costs: costs, popular: popular)
        if thin && before < load {
            throw CostModelError(String(format: "%@ keeps %.1f%% of %d cores busy, less than the %.1f%% asked: thinning only removes requests (fit without --thin to compress its time)",
                                        tracePath, 100 * before, cores, 100 * load))
        }
        var current = before, rounds = 0
        // Thinning: bisection on the share kept (the load is not proportional to it: a request more or less
        // can be a cold start with large installs), the first guess proportional.
        var low = 0.0, high = 1.0
        var best = (factor: factor, keep: keep, load: current)
        while rounds < (thin ? 24 : 8) && abs(current / load - 1) > 0.03 {
            if thin {
                if current > load { high = keep } else { low = keep }
                keep = rounds == 0 ? keep * load / current : (low + high) / 2
            } else {
                factor *= current / load
            }
            rounds += 1
            current = try load(factor: factor, keep: keep, trace: trace, costs: costs, popular: popular)
            progress(thin ? String(format: "round %d: %.2f%% of requests kept → load %.1f%% of %d cores", rounds, 100 * keep, 100 * current, cores)
                          : String(format: "round %d: arrivals × %.4f → load %.1f%% of %d cores", rounds, factor, 100 * current, cores))
            if abs(current / load - 1) < abs(best.load / load - 1) { best = (factor, keep, current) }
        }
        // The closest round, not the last (a few requests more or less can move the load by a lot).
        (factor, keep, current) = best
        if abs(current / load - 1) > 0.03 {
            progress(String(format: "warning: the closest fit keeps %.1f%% of %d cores busy, not %.1f%%: %@", 100 * current, cores, 100 * load,
                            thin ? "with this few requests one more or less moves the load by more than 3% (a longer window gives finer steps)"
                                 : "the load does not scale with the arrival rate here"))
        }
        let next = try invocations(trace, factor: factor, keep: keep)
        let withExec = try trace.makeReader().hasExec
        var last: Int64 = 0
        let how = thin ? String(format: "%.4f%% of the requests of %@ kept (seeded, arrival times unchanged)", 100 * keep, tracePath)
                       : String(format: "arrivals of %@ × %.6f", tracePath, factor)
        let n = try TraceJobs.write(table: trace.handlers, body: { w in
            while let inv = try next() {
                last = inv.arrivalNanos
                w.append(inv)
            }
        }, to: out, comments: TraceJobs.provenance(command: command, seed: seed) + [
            String(format: "fitted: %@: %.1f%% of %d cores busy (simulated, config %@); before: %.1f%%",
                   how, 100 * current, cores, config.name, 100 * before),
        ], withExec: withExec)
        return Result(factor: factor, kept: keep, loadBefore: before, loadAfter: current, rounds: rounds, requests: n, seconds: Double(last) / 1e9)
    }
}
