import CachePolicy
import Foundation
import Runtime
import Simulation
import Statistics
import Workload

/// The job behind `pipsqueak compare`: run a trace on the real runtime, simulate the same trace with the
/// calibrated costs and the real run's outcomes fed back, and report where they agree.
public struct CompareJob {
    public var run = RunJob()
    /// Name used for the output files (`results/compare-NAME.csv`).
    public var name = "compare"
    public var outputDirectory = ProjectPaths.root + "/results"
    public var runtimeCostsPath: String?
    /// Exit non-zero when a tier's p50 or p99 relative error exceeds these (nil: no budget).
    public var maxP50Error: Double?
    public var maxP99Error: Double?
    public var requireIdenticalDecisions = false

    public init() {}

    public struct TierRow {
        public var tier: String
        public var count: (real: Int, sim: Int)
        public var real: Summary
        public var sim: Summary
        public func relError(_ q: Double) -> Double {
            let r = real.quantile(q), s = sim.quantile(q)
            return r == 0 ? 0 : (s - r) / r
        }
    }

    public struct Report {
        public var decisionsCompared = 0
        public var firstDivergence: (index: Int, real: [String], sim: [String])?
        public var tiers: [TierRow] = []
        /// Mean ms per phase: (phase, real, simulated).
        public var phases: [(String, Double, Double)] = []
        public var joinPath = ""
        public var failures: [String] = []
        /// Requests of the real run that failed.
        public var realErrors = 0
        public var text = ""
    }

    /// Strips the time from a decision-log line: the two executors run on different clocks.
    static func timeless(_ line: String) -> String {
        line.split(separator: " ").filter { !$0.hasPrefix("t=") }.joined(separator: " ")
    }

    /// The phases of a request, as columns: queue, download, install, create, fork, import, init, exec.
    static let phases: [(String, KeyPath<RequestRecord, Int64>)] = [("queue", \.queueNanos), ("download", \.downloadNanos),
                                                                   ("install", \.installNanos), ("create", \.createNanos), ("fork", \.forkNanos),
                                                                   ("import", \.importNanos), ("init", \.initNanos), ("exec", \.execNanos)]

    /// What one executor did with the trace: its records (by request) and its decision log.
    struct Run { var records: [RequestRecord] = [], decisions: [String] = [], outcomes: [Outcome] = [] }

    public func execute(progress: @escaping (String) -> Void = { _ in }) throws -> Report {
        progress("real run of \(run.tracePath) (\(run.config.summary)) at speed \(run.speed)")
        let real = try realRun(progress: progress)
        progress("simulating the same \(real.records.count) requests")
        let trace = try Trace(path: run.tracePath, handlersPath: run.handlersPath)
        var sj = SimulateJob()
        sj.runtimeCostsPath = runtimeCostsPath
        let sim = try simulate(trace, like: real, runtime: try sj.runtimeCosts(), popular: sj.popularPackages())
        var report = Report()
        compareDecisions(real.decisions, sim.decisions, into: &report)
        summarize(real.records, sim.records, into: &report)
        report.joinPath = outputDirectory + "/compare-\(name).csv"
        try writeJoin(real.records, sim.records, handlers: trace.handlers, runtimeCosts: try sj.runtimeCosts().source, to: report.joinPath)
        checkBudgets(&report)
        report.text = CompareJob.render(report)
        return report
    }

    /// 1. The real run, keeping its records, decisions and outcomes.
    func realRun(progress: @escaping (String) -> Void) throws -> Run {
        var real = Run()
        var job = run
        job.progress = progress
        _ = try job.run(onRecord: { real.records.append($0) }, onDecision: { real.decisions.append($0) },
                        onStart: { $0.lifecycle.keepsOutcomes = true }, observe: { real.outcomes = $0.lifecycle.outcomes })
        return real
    }

    /// 2. The simulation of the same requests (at the same speed) with the real run's outcomes fed back, one
    /// core, zygotes built in line as the one-thread runtime builds them.
    func simulate(_ trace: Trace, like real: Run, runtime: RuntimeCosts, popular: [String]) throws -> Run {
        let table = try PackageTable.read(path: run.packagesPath)
        let costs = try CostModel(table: table, handlers: trace.handlers, runtime: runtime, seed: run.seed)
        let planner = try Planner(config: run.config, catalog: costs.catalog(handlers: trace.handlers), popularPackages: popular)
        let sim = Simulation(planner: planner, costs: costs, handlers: trace.handlers, cores: 1, seed: run.seed)
        sim.synchronousZygoteBuilds = true
        var out = Run()
        sim.lifecycle.onRecord = { out.records.append($0) }
        sim.lifecycle.onDecision = { out.decisions.append($0) }
        // The real run's outcomes (memory taken, builds failed) in order; where the runs diverge, the
        // simulator's own (the decision comparison shows where).
        sim.lifecycle.replay = OutcomeReplay(real.outcomes)
        let reader = try trace.makeReader()
        var served = 0
        let speed = run.speed, limit = real.records.count
        try sim.run(next: {
            guard served < limit, let inv = try reader.nextInvocation() else { return nil }
            served += 1
            // No per-invocation execution time: the real run's handlers do what their code does.
            return Invocation(arrivalNanos: Int64(Double(inv.arrivalNanos) / speed), handler: inv.handler)
        })
        out.records.sort { $0.request < $1.request }
        return out
    }

    /// 3. Decisions, plan by plan (times aside: the executors run on different clocks).
    func compareDecisions(_ real: [String], _ sim: [String], into report: inout Report) {
        let a = real.map(CompareJob.timeless), b = sim.map(CompareJob.timeless)
        report.decisionsCompared = min(a.count, b.count)
        if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? (a.count != b.count ? min(a.count, b.count) : nil) {
            let lo = max(0, i - 2)
            report.firstDivergence = (i, Array(a[lo..<min(a.count, i + 2)]), Array(b[lo..<min(b.count, i + 2)]))
        }
    }

    /// 4. Latencies per tier, and each phase's mean.
    func summarize(_ all: [RequestRecord], _ sim: [RequestRecord], into report: inout Report) {
        func ms(_ ns: Int64) -> Double { Double(ns) / 1e6 }
        // A failed request is not a tier and has no latency: counted, and left out of every statistic.
        let real = all.filter { $0.error.isEmpty }
        report.realErrors = all.count - real.count
        for t in Tier.allCases.map(\.rawValue) + ["all"] {
            let r = real.filter { t == "all" || $0.tier.rawValue == t }.map { ms($0.latencyNanos) }
            let s = sim.filter { t == "all" || $0.tier.rawValue == t }.map { ms($0.latencyNanos) }
            if r.isEmpty && s.isEmpty { continue }
            report.tiers.append(TierRow(tier: t, count: (r.count, s.count), real: Summary(r), sim: Summary(s)))
        }
        for (n, k) in CompareJob.phases {
            let r = real.map { ms($0[keyPath: k]) }, s = sim.map { ms($0[keyPath: k]) }
            report.phases.append((n, r.isEmpty ? 0 : r.reduce(0, +) / Double(r.count), s.isEmpty ? 0 : s.reduce(0, +) / Double(s.count)))
        }
    }

    /// 5. The per-request join, one row per request both executors served.
    func writeJoin(_ real: [RequestRecord], _ sim: [RequestRecord], handlers: HandlerTable, runtimeCosts: String, to path: String) throws {
        func ms(_ ns: Int64) -> Double { Double(ns) / 1e6 }
        // The output directory is the job's to make (it was asked for).
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let out = try OutputFile(path: path)
        out.write("# made by: " + Provenance.madeBy("pipsqueak compare --trace \(run.tracePath) --preset/config \(run.config.name) --speed \(run.speed) --seed \(run.seed)\(run.limit.map { " --limit \($0)" } ?? "")") + "\n")
        out.write("# config: \(run.config.summary)\n# machine: \(MachineDescription.summary)\n# date: \(MachineDescription.date)\n")
        out.write("# runtime costs: \(runtimeCosts); packages: \(run.packagesPath)\n")
        out.write("request,handler,tier_real,tier_sim,zygote_real,zygote_sim,latency_real_ms,latency_sim_ms")
        for (n, _) in CompareJob.phases { out.write(",\(n)_real_ms,\(n)_sim_ms") }
        out.write(",error_real\n")
        let simByRequest = Dictionary(uniqueKeysWithValues: sim.map { ($0.request, $0) })
        for r in real {
            guard let s = simByRequest[r.request] else { continue }
            out.write("\(r.request),\(handlers[r.handler].id),\(r.error.isEmpty ? r.tier.rawValue : "error"),\(s.tier.rawValue),\(r.zygote.map(String.init) ?? ""),\(s.zygote.map(String.init) ?? ""),")
            out.write(String(format: "%.3f,%.3f", ms(r.latencyNanos), ms(s.latencyNanos)))
            for (_, k) in CompareJob.phases { out.write(String(format: ",%.3f,%.3f", ms(r[keyPath: k]), ms(s[keyPath: k]))) }
            out.write(",\(CSVReader.escape(r.error))\n")
        }
        try out.commit()
    }

    /// 6. The budgets: identical decisions, and per-tier p50 and p99 errors.
    func checkBudgets(_ report: inout Report) {
        if report.realErrors > 0 { report.failures.append("\(report.realErrors) requests of the real run failed (see error_real)") }
        if requireIdenticalDecisions, report.firstDivergence != nil { report.failures.append("decision logs differ") }
        for row in report.tiers where row.tier != "all" && row.count.real > 0 && row.count.sim > 0 {
            if let m = maxP50Error, abs(row.relError(0.5)) > m { report.failures.append(String(format: "%@ p50 off by %.1f%% (budget %.0f%%)", row.tier, 100 * row.relError(0.5), 100 * m)) }
            if let m = maxP99Error, abs(row.relError(0.99)) > m { report.failures.append(String(format: "%@ p99 off by %.1f%% (budget %.0f%%)", row.tier, 100 * row.relError(0.99), 100 * m)) }
        }
    }

    static func render(_ r: Report) -> String {
        var s = ""
        if let d = r.firstDivergence {
            s += "decisions: DIFFER at line \(d.index + 1) of \(r.decisionsCompared) compared\n  real:\n"
            s += d.real.map { "    " + $0 }.joined(separator: "\n") + "\n  simulated:\n" + d.sim.map { "    " + $0 }.joined(separator: "\n") + "\n"
        } else {
            s += "decisions: identical (\(r.decisionsCompared) lines, times aside)\n"
        }
        s += "\ntier        n real  n sim   p50 real   p50 sim   err    p90 real   p90 sim   err    p99 real   p99 sim   err\n"
        for t in r.tiers {
            s += t.tier.padding(toLength: 10, withPad: " ", startingAt: 0)
            s += String(format: " %7d %6d %10.2f %9.2f %5.0f%% %10.2f %9.2f %5.0f%% %10.2f %9.2f %5.0f%%\n", t.count.real, t.count.sim,
                        t.real.quantile(0.5), t.sim.quantile(0.5), 100 * t.relError(0.5), t.real.quantile(0.9), t.sim.quantile(0.9),
                        100 * t.relError(0.9), t.real.quantile(0.99), t.sim.quantile(0.99), 100 * t.relError(0.99))
        }
        s += "\nphase (mean ms)   real      sim    error\n"
        for (n, a, b) in r.phases {
            s += n.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: " %8.3f %8.3f %8.3f\n", a, b, b - a)
        }
        s += "\nper-request join: \(r.joinPath)\n"
        if !r.failures.isEmpty { s += "over budget: " + r.failures.joined(separator: "; ") + "\n" }
        return s
    }
}
