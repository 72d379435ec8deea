import CachePolicy
import Foundation
import POSIX
import Runtime
import Simulation
import Statistics
import Workload

/// The job behind `pipsqueak compare`: run a trace on the real runtime, simulate the same trace with the
/// calibrated costs and the real run's outcomes fed back, and report where they agree.
public struct CompareJob {
    /// Zygote builds summed up: how many, the median ms from start (installs done) to ready, the median ms of
    /// the real zygotes' imports (nan for simulated ones) and of those imports' time on a core (nil: not known).
    public struct BuildsSummary: Sendable {
        public var count: Int, medianMs: Double, importsMs: Double, importsOnCPUMs: Double?
    }
    public var run = RunJob()
    /// Name used for the output files (`results/compare-NAME.csv`).
    public var name = "compare"
    public var outputDirectory = ProjectPaths.root + "/results"
    public var runtimeCostsPath: String?
    /// Exit non-zero when a tier's p50 or p99 relative error exceeds these (nil: no budget).
    public var maxP50Error: Double?
    public var maxP99Error: Double?
    public var requireIdenticalDecisions = false
    /// Cores of the worker (and the simulated one). 1: the runtime in this process, one request at a time,
    /// zygotes built in line (decision logs identical with a faithful model). More: the real run goes over
    /// HTTP, open loop, to a worker on that many cores with `queueLimit`, and the simulator runs the same
    /// cores and bound; completion order can differ, so agreement is reported request by request.
    public var cores = 1
    public var queueLimit = 64
    /// How the simulated cores give out CPU time (`Simulation.CPUModel`).
    public var cpuModel = CPUModelName.share
    /// Just before the real run, time again the imports of the trace's costliest packages (as `measure`
    /// timed them) and scale the package table's import costs, both executors', by now over the table's.
    public var speedProbe = true
    /// Packages re-timed for `speedProbe`: the trace's costliest imports (measured import time × requests).
    public var speedProbePackages = 3
    /// Just before the real run and again after it, install the trace's costliest packages among those
    /// `calibrate` timed (the runtime cost file's `installed_ms:NAME` rows) as the worker does, once each, and
    /// charge every simulated install now over then: installs drift with the machine like imports (campaign
    /// Q's, an hour after its calibration, simulated at 0.49-0.72 of real), and are the one primitive the
    /// other probes do not re-time. The planners' estimates (both executors') keep the file's figures.
    public var installProbe = true
    /// Charge simulated installs by the install probe's figure (off, the default: the probe's figures are
    /// reported, installs simulated at the runtime cost file's). Off since stop 42: over the 12 install-heavy
    /// comparisons of campaigns V, W and X (`resimulate` of their kept real sides), real installs over simulated
    /// summed to 1.00 on average uncharged (0.68-1.32) and 1.21 charged (0.94-1.50): the probe, one install of
    /// two packages on an idle machine, ran faster than the run's installs (11 of 12 charges below 1).
    public var chargeInstalls = false
    /// When this job simulates again a real side kept before (`init(resimulating:path:)`): its file, and the
    /// compare that measured it (command, date, machine).
    public var resimulated: (path: String, madeBy: String, date: String, machine: String)?
    /// Runtime cost rows `resimulate --set` gives another value than the real side's (name, value), in order.
    public var runtimeSettings: [(name: String, value: Double)] = []
    /// Packages installed by `installProbe`: the costliest the calibration timed that the trace's requests need.
    public var installProbePackages = 2
    /// Real runs of the trace (after the first, before the simulation, each on a fresh worker): the second is
    /// reported against the first the same way as the simulation is (the real system's own repeatability,
    /// against which the simulator's errors can be judged), and every run's latencies are pooled per tier
    /// against every simulated seed's (`Report.pooled`): one run's start-up burst, and so its import tier and
    /// its p99s, moved by half from one real run to the next here.
    public var realRuns = 1
    /// Before each real run, write back what the kernel still holds dirty and wait for the cores to be idle
    /// (`MachineSettle`): every run starts on a machine at rest, as the calibration's measurements did.
    public var settle = true
    /// A second real run (`realRuns` at least 2).
    public var repeatReal: Bool {
        get { realRuns >= 2 }
        set { realRuns = newValue ? max(realRuns, 2) : 1 }
    }
    /// With more than one core: just before the real run and again after it, serve handler-cache hits over
    /// HTTP as `calibrate` does to time `dispatch_ms` and a served hit (its rounds, rate and containers), and
    /// give the simulation and both loads what they measure now instead of the runtime cost file's: the
    /// machine's speed moves between a calibration and a run (campaign K: one run faster than calibrated,
    /// another slower).
    public var hitProbe = true
    /// Hits per side (direct, over HTTP) of each probe: `calibrate`'s own count by default.
    public var hitProbeRequests = 1000
    /// Simulations of the same requests, seeds `run.seed` on: the first is joined request by request, and
    /// all of them give the spread of each tier's errors over the simulator's own draws (a p99 or a burst's
    /// import p50 moves by tens of percent from one seed to the next), reported beside the second real run's.
    public var simSeeds = CompareJob.defaultSimSeeds
    /// Simulate the requests once more with every primitive at its median (no draws) and report each phase's
    /// per-request error against that too: a draw per request each side makes two runs of the same process
    /// differ by the spread, so the draws' per-request errors measure the spread as much as the model.
    public var pointSimulation = true
    public static let defaultSimSeeds = 5
    /// Fresh interpreters per re-timed package (numpy's import here is bimodal, about 50 or 80 ms: a median
    /// of 5 moved by a third between two checks minutes apart).
    static let retimeRepeats = 11
    /// Where the re-timed packages are installed (`measure`'s cache; its wheelhouse is the run's).
    public var measureCache = MeasureOptions.defaultCache

    public init() {}

    /// The speed check's figures: the packages whose imports were timed again, the sum of their table
    /// figures (when measured) and of their medians before and after the real run, ms, and the factor import
    /// costs were multiplied by.
    public struct SpeedCheck: Codable {
        public var packages: [String]
        public var measured: Double
        public var before: Double
        public var after: Double?
        /// Where `measured` is from: the runtime cost file's `imported_ms` rows (calibrate timed them again),
        /// or (nil, as in real sides kept before) the package table.
        public var atCalibration: Bool? = nil
        /// What the planners' estimates (both executors') are scaled by: known before the real run.
        public var scale: Double { before / measured }
        /// What the simulated imports are charged: the speed over the real run, the mean of before and after
        /// (the simulation runs once both are known).
        public var runScale: Double { ((before + (after ?? before)) / 2) / measured }
    }

    /// The install probe's figures: the packages installed again, the sum of the calibration's installs of
    /// them, and the sums now, before and after the real run (nil: that probe failed; `failed` says why).
    public struct InstallCheck: Codable {
        public var packages: [String]
        public var calibrated: Double
        public var before: Double?, after: Double?
        public var failed: [String] = []
        /// The filesystem the real runs install on (`InstallDisk`; nil in real sides kept before it was said).
        public var disk: String?
        /// What every simulated install is charged: the mean of the probes that worked over the calibration's
        /// (1 when both failed).
        public var charge: Double {
            let now = [before, after].compactMap { $0 }
            return now.isEmpty || calibrated <= 0 ? 1 : now.reduce(0, +) / Double(now.count) / calibrated
        }
    }

    /// The hit probe's figures, before and after the real run, and the runtime cost file's.
    public struct HitCheck {
        /// `dispatch_ms`: the file's, then as timed before and after the real run (nil: that probe failed).
        public var dispatch: (file: Double, before: Double?, after: Double?)
        /// Thaw and thawed-invoke overhead medians of the hits that started alone: the file's, then as
        /// timed around the run (both probes' hits together; nil when too few started alone or beside another
        /// for `calibrate`'s rule: the file's are kept).
        public var thaw: (file: Double, run: Double?), invoke: (file: Double, run: Double?)
        /// The hand-off to a core's thread (`handoff_ms`) of the hits that started alone, the same way.
        public var handoff: (file: Double, run: Double?) = (0, nil)
        /// The dispatch's weight with the cores shared (`dispatch_weight`): the runtime costs', not probed.
        public var dispatchWeight = 1.0
        /// Hits that started alone and beside another, both probes together.
        public var alone = 0, beside = 0
        /// A probe that failed (the machine too busy to serve its stream, say): when, and why.
        public var failed: [String] = []
        /// What the simulation and both loads use: the mean of before and after (of the one that worked).
        public var runDispatch: Double {
            let d = [dispatch.before, dispatch.after].compactMap { $0 }
            return d.isEmpty ? dispatch.file : d.reduce(0, +) / Double(d.count)
        }
    }

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

    /// One phase's per-request error over the requests both served with the same tier.
    public struct PhaseError {
        public var phase: String
        public var n = 0
        /// Median and 90th percentile of |sim − real|, ms.
        public var medianAbsMs = 0.0, p90AbsMs = 0.0
        /// Median |sim − real| / real over requests whose real phase took at least 0.01 ms.
        public var medianRelative = 0.0
    }

    public struct Report {
        public var decisionsCompared = 0
        public var firstDivergence: (index: Int, real: [String], sim: [String])?
        /// Requests both executors served (joined by their place in the trace).
        public var joined = 0
        /// Of those: the share whose tier agrees, and whose tier and zygote agree.
        public var tierAgreement = 0.0, tierAndZygoteAgreement = 0.0
        /// The first request (place in the trace) whose tier or zygote differs, and the share of the
        /// requests after it that still agree on both.
        public var firstDisagreement: Int64?
        public var agreementAfterFirstDisagreement = 0.0
        /// Each phase's per-request error against the first seed's simulation, whose every timed primitive is
        /// a draw from its spread: one sample each side, so two runs of the same process differ by the spread.
        public var phaseErrors: [PhaseError] = []
        /// The same against the point simulation (`CompareJob.pointSimulation`: every primitive at its median, no
        /// draws), over the requests where it and the real run have the same tier: the simulator's best guess of
        /// each request (the median is what minimizes the absolute error of a guess), empty when not run.
        public var pointPhaseErrors: [PhaseError] = []
        /// Requests both served with the same tier in the point simulation, and the share of the joined ones.
        public var pointJoined = 0, pointTierAgreement = 0.0
        /// Each zygote's packages (sorted, `;`-separated; "" for the root) by id, real and simulated, from the
        /// decision logs: two executors that plan alike can still number zygotes apart when requests complete
        /// in another order, so a request's zygote agrees when it holds the same packages.
        public var zygotePackages: (real: [Int64: String], sim: [Int64: String]) = ([:], [:])
        /// The share whose tier agrees and whose zygote has the same id (the stricter reading).
        public var tierAndZygoteIDAgreement = 0.0
        /// The calibrated core time per request beyond its phases, counted in both loads, ns.
        public var dispatchNanos: Int64 = 0
        /// The load the real requests put on the cores (time on a core over the span of their arrivals).
        public var realLoad: Double?, simulatedLoad: Double?
        /// Arrivals refused with the queue full: (real, simulated).
        public var refused = (real: 0, sim: 0)
        /// Import starts that forked from a standby child and without one, real and simulated (nil: not
        /// counted; the simulator counts them when its cost model has standby children).
        public var forks: (real: (standby: Int, direct: Int)?, sim: (standby: Int, direct: Int)?) = (nil, nil)
        /// With `repeatReal`: per tier, the second real run's latencies against the first's (in `TierRow`'s
        /// `sim` place), and the share of requests whose tier agrees between the two real runs.
        public var realAgain: [TierRow] = []
        public var realAgainTierAgreement: Double?
        /// Per tier, the latencies of every real run's served requests (in `TierRow`'s `real` place) against
        /// those of every simulated seed (`sim` place), all together, and how many runs of each: the
        /// simulator judged on the distribution the trace gives, not on one sample path of it. Empty with one
        /// real run and one seed.
        public var pooled: [TierRow] = []
        public var pooledRuns = (real: 1, sim: 1)
        /// The first burst: from the first request that waited for a core (1 ms or more, in either run) up to,
        /// not including, the first request after it that waited less in both (`end`, arriving `endSeconds`
        /// into the trace); nil when no request waited. Its median queue wait, ms: real, simulated, the second
        /// real run's (with `repeatReal`).
        public var burst: (first: Int64, end: Int64?, endSeconds: Double?, count: Int, queueMs: (real: Double, sim: Double, again: Double?))?
        /// Per tier, the requests from the burst's end on: the simulation against the real run, and (with
        /// `repeatReal`) the second real run against the first.
        public var afterBurst: [TierRow] = [], afterBurstAgain: [TierRow] = []
        /// Zygote builds after start-up (count, median ms start to ready, median ms of the real ones' imports and
        /// of those imports' time on a core).
        public var builds: (real: BuildsSummary?, sim: BuildsSummary?) = (nil, nil)
        /// How the joined simulation's container ends heard the real run's memory (nil: not replayed).
        public var memory: PlanLifecycle.ReplayedMemory?
        /// The machine's CPU over each real run (the first, then each further one of `realRuns`, in order): the
        /// share of its time its own work took and the share the hypervisor took (`MachineCPUTimes`); nil: not read.
        public var cpu: (real: (busy: Double, steal: Double)?, again: [(busy: Double, steal: Double)?]) = (nil, [])
        /// The first real run: this process's CPU time (the worker's threads and the load generator) and the
        /// run's wall, ns; and what the simulation charged the dispatches in all (its served requests × the
        /// dispatch), ns. nil: not read.
        public var selfCPU: (cpu: Int64, wall: Int64, simDispatch: Int64)?
        /// The first real run's CPU by kind of thread (nil: not read).
        public var threadCPU: ThreadCPU?
        /// How the machine was brought to rest before each real run, in order (nil where it was not).
        public var settle: [MachineSettle?] = []
        public var cores = 1
        public var tiers: [TierRow] = []
        /// Mean ms per phase: (phase, real, simulated).
        public var phases: [(String, Double, Double)] = []
        public var joinPath = ""
        public var failures: [String] = []
        /// Requests of the real run that failed.
        public var realErrors = 0
        /// The import speed probe (nil: not run, or the table records none).
        public var speed: SpeedCheck?
        /// Why the probe was not used, when it was not.
        public var speedNote = ""
        /// Per tier: its p50 and p99 errors against the real run under each simulated seed (`simSeeds`; the
        /// first is the joined simulation's).
        public var seedErrors: [(tier: String, p50: [Double], p99: [Double])] = []
        /// The first simulated seed (the joined simulation's).
        public var firstSeed: UInt64 = 1
        /// The install probe (nil: not run; `installNote` says why).
        public var installs: InstallCheck?
        public var installNote = ""
        /// Whether the simulation charged installs by the probe's figure (`CompareJob.chargeInstalls`).
        public var installsCharged = true
        /// The hit probe (nil: not run; `hitNote` says why).
        public var hits: HitCheck?
        public var hitNote = ""
        /// What reclaims cached file pages on the real runs' machine (`PageCacheReclaim.describe`; nil: not said).
        public var pageCache: String?
        /// The first real run's starts, phase by phase: wall time against the container's own time on a core
        /// (empty: its records did not report it, an older file); and the first seed's simulated starts, their
        /// stretched wall against the work drawn.
        public var onCore: (real: [OnCore], sim: [OnCore]) = ([], [])
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
    struct Run {
        var records: [RequestRecord] = [], decisions: [String] = [], outcomes: [Outcome] = [], refused = 0
        /// Import starts that forked from a standby child, and without one (nil: not counted).
        var forks: (standby: Int, direct: Int)?
        /// Zygote builds after start-up: how many, median ms from start to ready, median ms of their imports
        /// (the real zygote's own timing; the simulated ones are all imports and fork).
        var builds: BuildsSummary?
        /// The simulation's: how its container ends heard the real run's memory (nil for a real run).
        var memory: PlanLifecycle.ReplayedMemory?
        /// Each zygote build after start-up, in order (the real ones): ns from start to ready, of its imports,
        /// and of their time on a core.
        var buildTimes: [ZygoteBuildTime] = []
        /// The machine's CPU over the run (`MachineCPUTimes`): its own work's share and the hypervisor's.
        var cpu: (busy: Double, steal: Double)?
        /// This process's CPU time over the real run (the worker's server and maintenance threads and the load
        /// generator, not the containers or zygotes), and the run's wall time, ns (nil: not read, an older file).
        var selfCPU: (cpu: Int64, wall: Int64)?
        /// The same CPU by the kind of thread that spent it (nil: not read, an older file).
        var threadCPU: ThreadCPU?
        /// How the machine was brought to rest before the run (nil: it was not, `settle` off or an older file).
        var settle: MachineSettle?

        /// `builds` of a real run, from its builds' times (nil: none).
        static func summary(ofBuilds b: [ZygoteBuildTime]) -> BuildsSummary? {
            guard !b.isEmpty else { return nil }
            let cpu = b.compactMap(\.importsOnCPU)
            return BuildsSummary(count: b.count, medianMs: Summary(b.map { Double($0.wall) / 1e6 }).p50,
                                 importsMs: Summary(b.map { Double($0.imports) / 1e6 }).p50,
                                 importsOnCPUMs: cpu.count == b.count ? Summary(cpu.map { Double($0) / 1e6 }).p50 : nil)
        }
    }

    public func execute(progress: @escaping (String) -> Void = { _ in }) throws -> Report {
        var speed: SpeedCheck?, speedNote = ""
        let trace = try Trace(path: run.tracePath, handlersPath: run.handlersPath)
        var retimer: PackageMeasurer?, retimed: [String] = []
        let table = try PackageTable.read(path: run.packagesPath)
        // The install trees this compare makes are removed after its last real run, not between its timed
        // installs (`DeferredRemovals`); also when it fails.
        let removals = DeferredRemovals()
        defer { removals.run() }
        try run.ensureWheels(trace, table: table, progress: progress) // the speed probe installs from the wheelhouse too
        var sj = SimulateJob()
        sj.runtimeCostsPath = runtimeCostsPath
        var runtime = try sj.runtimeCosts()
        if speedProbe {
            retimed = try CompareJob.costliestImports(trace, table: table, limit: run.limit, count: speedProbePackages, calibrated: runtime.importedMillis)
            var o = MeasureOptions(wheelhouse: run.wheelhouse, cache: measureCache)
            o.output = run.packagesPath; o.offline = !run.runtime.online; o.repeats = CompareJob.retimeRepeats
            retimer = try PackageMeasurer(options: o, log: { _ in })
        }
        // Then: the calibration's figure where it timed the import again (what the simulation charges), else the table's.
        let calibratedImports = runtime.importedMillis
        func retime() throws -> (now: Double, then: Double) {
            let r = try retimer!.retimeImports(retimed, of: table)
            return (r.reduce(0) { $0 + $1.now }, r.reduce(0) { $0 + (calibratedImports[$1.name] ?? $1.then) })
        }
        if retimer != nil, !retimed.isEmpty {
            progress("timing again the imports of \(retimed.joined(separator: ", ")) (the trace's costliest)")
            let (now, then) = try retime()
            let atCalibration = retimed.allSatisfy { calibratedImports[$0] != nil }
            speed = SpeedCheck(packages: retimed, measured: then, before: now, atCalibration: atCalibration)
            progress(String(format: "their imports: %.1f ms now, %.1f ms %@: import costs × %.2f", now, then,
                            atCalibration ? "at calibration (\(runtime.source))" : "in \(run.packagesPath)", now / then))
        } else {
            speedNote = speedProbe ? "not scaled: no package of the trace has an import cost in \(run.packagesPath)" : "not scaled (--no-speed-probe)"
        }
        var probes: (before: CalibrationBench.Dispatch?, after: CalibrationBench.Dispatch?, failed: [String]) = (nil, nil, [])
        var hitNote = !hitProbe ? "the runtime cost file's (--no-hit-probe)" : cores == 1 ? "the runtime cost file's (one core: no server)" : ""
        // A probe that fails costs only its figure (the run, minutes of it, is kept): the file's stands in.
        func probeHits(_ when: String) -> CalibrationBench.Dispatch? {
            progress("timing handler-cache hits and the dispatch again \(when), as calibrate does (\(hitProbeRequests) served directly and \(hitProbeRequests) over HTTP at \(Int(CalibrationBench.dispatchRate)) per second)")
            do {
                let bench = try CalibrationBench(repeats: 10, cores: cores)
                defer { bench.remove() }
                let d = try bench.dispatch(requests: hitProbeRequests)
                progress(String(format: "dispatch %.3f ms (%.3f in %@)", d.dispatchMillis, runtime.dispatchMillis, runtime.source))
                return d
            } catch {
                progress("the hits could not be timed \(when): \(error)")
                // One line: it goes into the CSV's header.
                probes.failed.append("\(when): \(error)".split(whereSeparator: \.isNewline).joined(separator: " "))
                return nil
            }
        }
        var installs: InstallCheck?, installNote = ""
        var probed: [Package] = []
        if !installProbe {
            installNote = "the runtime cost file's (--no-install-probe)"
        } else {
            probed = CompareJob.costliestInstalls(try CompareJob.requestedPackages(trace, table: table, limit: run.limit), table: table,
                                                  calibrated: runtime.installedMillis, count: installProbePackages)
            if probed.isEmpty {
                installNote = runtime.installedMillis.isEmpty
                    ? "the runtime cost file's (\(runtime.source) records no package installs: calibrate again)"
                    : "the runtime cost file's (the trace needs none of the packages \(runtime.source) installed)"
            } else {
                installs = InstallCheck(packages: probed.map(\.name), calibrated: probed.reduce(0) { $0 + runtime.installedMillis[$1.name]! })
                installs!.disk = InstallDisk.describe(path: run.runtime.packageDirectory)
            }
        }
        // Like the hit probe's, a failure costs only its figure.
        func probeInstalls(_ when: String) -> Double? {
            guard let c = installs else { return nil }
            progress("installing \(c.packages.joined(separator: ", ")) again \(when), as calibrate did (the trace's costliest it timed)")
            do {
                let bench = try CalibrationBench(repeats: 1, cores: cores, tinyWheel: false)
                removals.add { bench.remove() } // its copies too, after the last real run
                let ms = try bench.reinstall(probed, wheelhouse: run.wheelhouse).values.reduce(0, +)
                progress(String(format: "their installs: %.0f ms now, %.0f ms in %@: simulated installs × %.2f", ms, c.calibrated, runtime.source, ms / c.calibrated))
                return ms
            } catch {
                progress("the installs could not be timed \(when): \(error)")
                installs!.failed.append("\(when): \(error)".split(whereSeparator: \.isNewline).joined(separator: " "))
                return nil
            }
        }
        let installedBefore = probeInstalls("before the real run") // (the probe writes `installs` when it fails)
        installs?.before = installedBefore
        if hitNote.isEmpty { probes.before = probeHits("before the real run") }
        var job = self
        job.run.importScale = speed?.scale ?? 1
        progress("real run of \(run.tracePath) (\(run.config.summary)) at speed \(run.speed)")
        let real = try job.realRun(progress: progress, removals: removals)
        // Stopped by SIGINT or SIGTERM: the run is partial, so nothing is kept or written (the committed
        // comparison of the same name stays as it was).
        let unwritten = "compare-\(name).csv and its real side"
        try RunJob.stopIfInterrupted(unwritten: unwritten)
        if speed != nil {
            speed!.after = try retime().now
            progress(String(format: "their imports after the real run: %.1f ms", speed!.after!))
        }
        let installedAfter = probeInstalls("after the real run") // (the probe writes `installs` when it fails)
        installs?.after = installedAfter
        if hitNote.isEmpty { probes.after = probeHits("after the real run") }
        var hits: HitCheck?
        if probes.before != nil || probes.after != nil {
            hits = CompareJob.useProbes(before: probes.before, after: probes.after, in: &runtime)
            hits!.failed = probes.failed
        } else if hitNote.isEmpty {
            hitNote = "the runtime cost file's (the probes failed: \(probes.failed.joined(separator: "; ")))"
        }
        var others: [Run] = []
        for k in stride(from: 2, through: realRuns, by: 1) {
            progress("real run \(k) of \(realRuns): how far the real system is from itself")
            others.append(try job.realRun(progress: progress, removals: removals))
            try RunJob.stopIfInterrupted(unwritten: unwritten)
        }
        var side = RealSide()
        side.madeBy = Provenance.madeBy(madeByFallback); side.date = MachineDescription.date; side.machine = MachineDescription.summary
        side.setup = realSetup
        for p in [run.tracePath, run.handlersPath, run.packagesPath].compactMap({ $0 }) { side.digests[CompareJob.portable(p)] = try RealSide.digest(p) }
        side.popular = sj.popularPackages()
        side.importScale = job.run.importScale
        try side.setRuntime(runtime)
        side.speed = speed; side.speedNote = speedNote
        side.installs = installs; side.installNote = installNote
        side.hits = hits; side.hitNote = hitNote
        side.pageCache = PageCacheReclaim.describe()
        side.runs = [real] + others
        // Kept first: minutes of real runs are not lost to a failure of what follows.
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let sidePath = outputDirectory + "/compare-\(name).real.json.gz"
        try side.write(path: sidePath)
        progress("the real side is kept in \(sidePath) (`pipsqueak resimulate \(sidePath)` simulates it again)")
        return try judge(side, trace: trace, table: table, progress: progress)
    }

    /// Simulates the requests of `side`'s real runs (fed the first one's outcomes) with every seed, and
    /// reports and writes the comparison: what `execute` does after its real runs, and `resimulate` on a real
    /// side kept from before.
    func judge(_ side: RealSide, trace: Trace, table: PackageTable, progress: @escaping (String) -> Void) throws -> Report {
        var job = self
        job.run.importScale = side.importScale
        let real = side.runs[0], others = Array(side.runs.dropFirst()), again = others.first
        let runtime = try side.runtime(setting: runtimeSettings)
        progress("simulating the same \(real.records.count) requests")
        // Read once for every seed's simulation.
        let inputs = SimInputs(table: table, overlap: try ImportOverlap.beside(packagesPath: run.packagesPath), popular: side.popular,
                               importCharge: side.speed.map { $0.runScale / $0.scale } ?? 1,
                               installCharge: chargeInstalls ? side.installs?.charge ?? 1 : 1)
        let sim = try job.simulate(trace, like: real, runtime: runtime, inputs, seed: run.seed)
        var report = Report()
        let served = real.records.filter { $0.error.isEmpty }
        var seeds = [CompareJob.tierRows(served, sim.records)]
        var otherSims: [[RequestRecord]] = []
        if simSeeds > 1 { progress("simulating them again with seeds \(run.seed + 1) to \(run.seed + UInt64(simSeeds - 1)): the spread of the simulator's own draws") }
        for k in 1..<max(1, simSeeds) {
            otherSims.append(try job.simulate(trace, like: real, runtime: runtime, inputs, seed: run.seed &+ UInt64(k)).records)
            seeds.append(CompareJob.tierRows(served, otherSims.last!))
        }
        // The point simulation: each request's phases as the simulator would guess them, for the per-request errors.
        var point: Run?
        if pointSimulation {
            progress("simulating them once more with every primitive at its median (the point simulation, for the per-request phase errors)")
            point = try job.simulate(trace, like: real, runtime: runtime, inputs, seed: run.seed, drawsSpreads: false)
        }
        report.seedErrors = CompareJob.seedErrors(seeds); report.firstSeed = run.seed
        if !others.isEmpty || !otherSims.isEmpty {
            report.pooled = CompareJob.pooledRows(real: ([real] + others).map(\.records), sim: [sim.records] + otherSims)
            report.pooledRuns = (1 + others.count, 1 + otherSims.count)
        }
        report.speed = side.speed; report.speedNote = side.speedNote
        report.hits = side.hits; report.hitNote = side.hitNote
        report.installs = side.installs; report.installNote = side.installNote
        report.pageCache = side.pageCache
        report.installsCharged = chargeInstalls
        report.cores = cores
        report.dispatchNanos = Nanos.fromMillis(runtime.dispatchMillis)
        compareDecisions(real.decisions, sim.decisions, into: &report)
        summarize(real.records, sim.records, into: &report)
        report.zygotePackages = (Planner.zygotePackages(fromLog: real.decisions), Planner.zygotePackages(fromLog: sim.decisions))
        comparePerRequest(real.records, sim.records, into: &report)
        if let p = point { comparePoint(real.records, p.records, into: &report) }
        report.joinPath = outputDirectory + "/compare-\(name).csv"
        report.refused = (real.refused, sim.refused)
        report.forks = (real.forks, sim.forks)
        report.memory = sim.memory
        if let a = again { compareAgain(real.records, a.records, into: &report) }
        compareAfterBurst(real.records, sim.records, again: again?.records, into: &report)
        report.builds = (real.builds, sim.builds)
        report.onCore = (OnCore.of(real.records), OnCore.of(sim.records))
        report.cpu = (real.cpu, others.map(\.cpu))
        report.selfCPU = real.selfCPU.map { ($0.cpu, $0.wall, Int64(sim.records.filter { $0.error.isEmpty }.count) * report.dispatchNanos) }
        report.threadCPU = real.threadCPU
        report.settle = ([real] + others).map(\.settle)
        try writeJoin(real.records, sim.records, others: others.map(\.records), otherSims: otherSims, point: point?.records, handlers: trace.handlers,
                      runtimeCosts: runtime.source, report: report, to: report.joinPath)
        checkBudgets(&report)
        report.text = CompareJob.render(report)
        return report
    }

    /// 1. The real run, keeping its records, decisions and outcomes. With `removals`, its worker's install cache
    /// is left for them (removed after the last real run).
    func realRun(progress: @escaping (String) -> Void, removals: DeferredRemovals? = nil) throws -> Run {
        var real = Run()
        var job = run
        job.progress = progress
        if cores > 1 { job.overHTTP = true; job.url = nil; job.cores = cores; job.queueLimit = queueLimit }
        if settle {
            real.settle = MachineSettle.now()
            progress("the machine brought to rest: \(real.settle!.summary)")
        }
        let cpuBefore = MachineCPUTimes.now()
        // This process's CPU over the replay, by its threads' kinds: read when the last reply is in, while the
        // load generator's and the worker's threads are alive.
        let threadsBefore = Sys.threadTimes()
        let selfBefore = (cpu: Sys.processCPUNanos(), wall: Sys.monotonicNanos())
        let selfAfter = SelfCPUReading()
        job.onReplayed = { selfAfter.read() }
        real.refused = try job.run(onRecord: { real.records.append($0) }, onDecision: { real.decisions.append($0) },
                        onStart: { w in
                            w.lifecycle.keepsOutcomes = true
                            if let removals { w.keepsInstallCache = true; removals.add(path: w.installCacheDirectory) }
                        }, observe: { w in
                            real.outcomes = w.lifecycle.outcomes
                            let st = w.maintenanceStats
                            real.forks = (st.standbyForks, st.directForks)
                            let b = st.zygoteBuilds.dropFirst(w.planner.initialZygotes.count)
                            real.buildTimes = Array(b)
                            real.builds = Run.summary(ofBuilds: real.buildTimes)
                        }).rejected
        // Over HTTP a record's `request` is its place in the trace (1, 2, …), as the simulation's are made below.
        real.records.sort { $0.request < $1.request }
        if let a = cpuBefore, let b = MachineCPUTimes.now() { real.cpu = b.shares(since: a) }
        real.selfCPU = (selfAfter.cpu - selfBefore.cpu, selfAfter.wall - selfBefore.wall)
        real.threadCPU = ThreadCPU.between(threadsBefore, selfAfter.threads)
        return real
    }

    /// 2. The simulation of the same requests (at the same speed) with the real run's outcomes fed back, on
    /// the same cores; with one, zygotes built in line as the one-thread runtime builds them. Each record's
    /// `request` becomes its place in the trace (the planner numbers only what it started: refused arrivals
    /// have none), so the two runs join request by request.
    /// What every simulation of a compare is built from, read once: the package table, its import overlap, the
    /// popular packages, and what each simulated import and install is charged (`Simulation.importCharge`,
    /// `installCharge`).
    struct SimInputs { var table: PackageTable, overlap: ImportOverlap?, popular: [String], importCharge: Double, installCharge: Double = 1 }

    /// With `drawsSpreads` false, every timed primitive costs its median (`Simulation.drawsSpreads`): the point simulation.
    func simulate(_ trace: Trace, like real: Run, runtime: RuntimeCosts, _ inputs: SimInputs, seed: UInt64, drawsSpreads: Bool = true) throws -> Run {
        let costs = try CostModel(table: inputs.table, handlers: trace.handlers, runtime: runtime,
                                  overlap: inputs.overlap, importScale: run.importScale, seed: seed)
        let planner = try Planner(config: run.config, catalog: costs.catalog(handlers: trace.handlers), popularPackages: inputs.popular)
        let sim = Simulation(planner: planner, costs: costs, handlers: trace.handlers, cores: cores, seed: seed)
        sim.synchronousZygoteBuilds = cores == 1
        sim.importCharge = inputs.importCharge
        sim.installCharge = inputs.installCharge
        sim.cpuModel = cpuModel
        sim.drawsSpreads = drawsSpreads
        if cores > 1 { sim.queueLimit = queueLimit }
        var out = Run()
        var place: [Int64: [Int64]] = [:] // arrival ns → places in the trace (ties kept in order)
        sim.lifecycle.onRecord = { r in
            var rec = r
            if cores > 1, var ps = place[r.arrivalNanos], !ps.isEmpty { rec.request = ps.removeFirst(); place[r.arrivalNanos] = ps }
            out.records.append(rec)
        }
        sim.lifecycle.onDecision = { out.decisions.append($0) }
        // The real run's outcomes (memory taken, builds failed), each to the container or zygote it is about (by
        // handler and zygote, read from the real run's decision log); where there is none, the simulator's own.
        sim.lifecycle.replay = OutcomeReplay(real.outcomes, decisions: real.decisions)
        let reader = try trace.makeReader()
        var served = 0
        let speed = run.speed, limit = real.records.count
        let summary = try sim.run(next: {
            guard served < limit, let inv = try reader.nextInvocation() else { return nil }
            served += 1
            // No per-invocation execution time: the real run's handlers do what their code does.
            let at = Int64(Double(inv.arrivalNanos) / speed)
            place[at, default: []].append(Int64(served))
            return Invocation(arrivalNanos: at, handler: inv.handler)
        })
        out.refused = summary.rejected
        out.memory = sim.lifecycle.replayedMemory
        if sim.modelsStandbys { out.forks = (summary.standbyForks, summary.directForks) }
        if summary.zygoteBuilds.count > 0 { out.builds = BuildsSummary(count: Int(summary.zygoteBuilds.count), medianMs: summary.zygoteBuilds.quantile(0.5) / 1e6, importsMs: .nan, importsOnCPUMs: nil) }
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
        report.tiers = CompareJob.tierRows(real, sim)
        for (n, k) in CompareJob.phases {
            let r = real.map { ms($0[keyPath: k]) }, s = sim.map { ms($0[keyPath: k]) }
            report.phases.append((n, r.isEmpty ? 0 : r.reduce(0, +) / Double(r.count), s.isEmpty ? 0 : s.reduce(0, +) / Double(s.count)))
        }
    }

    /// 4b. Request by request: tier and zygote agreement, where they first disagree and how much agrees after,
    /// and each phase's absolute and relative error over the requests started the same way.
    func comparePerRequest(_ all: [RequestRecord], _ sim: [RequestRecord], into report: inout Report) {
        let real = all.filter { $0.error.isEmpty }
        let pairs = CompareJob.join(real, sim)
        report.joined = pairs.count
        guard !pairs.isEmpty else { return }
        let sameTier = pairs.map { $0.0.tier == $0.1.tier }
        let zs = report.zygotePackages
        func sameZygote(_ r: RequestRecord, _ s: RequestRecord) -> Bool {
            if r.zygote == s.zygote { return true }
            guard let a = r.zygote, let b = s.zygote, let pa = zs.real[a], let pb = zs.sim[b] else { return false }
            return pa == pb
        }
        let same = pairs.map { $0.0.tier == $0.1.tier && sameZygote($0.0, $0.1) }
        report.tierAgreement = Double(sameTier.filter { $0 }.count) / Double(pairs.count)
        report.tierAndZygoteAgreement = Double(same.filter { $0 }.count) / Double(pairs.count)
        report.tierAndZygoteIDAgreement = Double(pairs.filter { $0.0.tier == $0.1.tier && $0.0.zygote == $0.1.zygote }.count) / Double(pairs.count)
        if let i = same.firstIndex(of: false) {
            report.firstDisagreement = pairs[i].0.request
            let after = same[(i + 1)...]
            report.agreementAfterFirstDisagreement = after.isEmpty ? 1 : Double(after.filter { $0 }.count) / Double(after.count)
        }
        report.phaseErrors = CompareJob.phaseErrors(pairs.filter { $0.0.tier == $0.1.tier })
        var rs = SimulationSummary(), ss = SimulationSummary()
        rs.cores = cores; ss.cores = cores
        // Both loads count the calibrated dispatch per request (core time beyond each request's phases).
        rs.dispatchNanos = report.dispatchNanos; ss.dispatchNanos = report.dispatchNanos
        for r in real { rs.add(r) }
        for s in sim { ss.add(s) }
        report.realLoad = rs.offeredLoad; report.simulatedLoad = ss.offeredLoad
    }

    /// Each phase's error over `pairs` (real, simulated) of requests started the same way: the median and 90th
    /// percentile of |sim − real| over those where either side spent time in it, and the median |sim − real| / real
    /// over those whose real phase took at least 0.01 ms.
    static func phaseErrors(_ pairs: [(RequestRecord, RequestRecord)]) -> [PhaseError] {
        var out: [PhaseError] = []
        for (n, k) in CompareJob.phases {
            var abs: [Double] = [], rel: [Double] = []
            for (r, s) in pairs {
                let a = Double(r[keyPath: k]) / 1e6, b = Double(s[keyPath: k]) / 1e6
                if a == 0 && b == 0 { continue } // a phase neither had
                abs.append(Swift.abs(b - a))
                if a >= 0.01 { rel.append(Swift.abs(b - a) / a) }
            }
            guard !abs.isEmpty else { continue }
            let sa = Summary(abs)
            out.append(PhaseError(phase: n, n: abs.count, medianAbsMs: sa.p50, p90AbsMs: sa.quantile(0.9),
                                  medianRelative: rel.isEmpty ? 0 : Summary(rel).p50))
        }
        return out
    }

    /// 4d. Request by request against the point simulation (every primitive at its median): each phase's errors
    /// over the requests both served with the same tier.
    func comparePoint(_ all: [RequestRecord], _ point: [RequestRecord], into report: inout Report) {
        let pairs = CompareJob.join(all.filter { $0.error.isEmpty }, point)
        let same = pairs.filter { $0.0.tier == $0.1.tier }
        report.pointJoined = same.count
        report.pointTierAgreement = pairs.isEmpty ? 0 : Double(same.count) / Double(pairs.count)
        report.pointPhaseErrors = CompareJob.phaseErrors(same)
    }

    /// The requests both served, paired by place in the trace, in `real`'s order.
    static func join(_ real: [RequestRecord], _ sim: [RequestRecord]) -> [(RequestRecord, RequestRecord)] {
        let simByRequest = Dictionary(sim.map { ($0.request, $0) }, uniquingKeysWith: { a, _ in a })
        return real.compactMap { r in simByRequest[r.request].map { (r, $0) } }
    }

    /// 4c. The second real run against the first: per tier latencies, and tier agreement request by request.
    func compareAgain(_ first: [RequestRecord], _ second: [RequestRecord], into report: inout Report) {
        let a = first.filter { $0.error.isEmpty }, b = second.filter { $0.error.isEmpty }
        report.realAgain = CompareJob.tierRows(a, b)
        let byRequest = Dictionary(b.map { ($0.request, $0.tier) }, uniquingKeysWith: { x, _ in x })
        let joined = a.compactMap { r in byRequest[r.request].map { $0 == r.tier } }
        if !joined.isEmpty { report.realAgainTierAgreement = Double(joined.filter { $0 }.count) / Double(joined.count) }
    }

    /// Wait for a core that makes a request part of a burst, ns.
    static let burstWaitNanos: Int64 = 1_000_000

    /// 4d. The first burst (the start's first requests arrive faster than cold starts are served, and how long
    /// they queue depends on the order things happen to run in: two real runs' differed by up to 5.6x here) told
    /// apart from what follows it: its median queue wait in each run, and the tiers from its end on.
    func compareAfterBurst(_ all: [RequestRecord], _ sim: [RequestRecord], again: [RequestRecord]?, into report: inout Report) {
        let real = all.filter { $0.error.isEmpty }
        let pairs = CompareJob.join(real, sim)
        let w = CompareJob.burstWaitNanos
        guard let start = pairs.firstIndex(where: { $0.0.queueNanos >= w || $0.1.queueNanos >= w }) else { return }
        let end = pairs[(start + 1)...].firstIndex { $0.0.queueNanos < w && $0.1.queueNanos < w }
        let first = pairs[start].0.request, endRequest = end.map { pairs[$0].0.request }
        func inBurst(_ r: RequestRecord) -> Bool { r.request >= first && endRequest.map { r.request < $0 } ?? true }
        func medianQueue(_ rs: [RequestRecord]) -> Double { Summary(rs.filter(inBurst).map { Double($0.queueNanos) / 1e6 }).p50 }
        let b = again?.filter { $0.error.isEmpty }
        report.burst = (first, endRequest, end.map { Double(pairs[$0].1.arrivalNanos) / 1e9 }, pairs[start..<(end ?? pairs.count)].count,
                        (medianQueue(real), medianQueue(sim), b.map(medianQueue)))
        guard let e = endRequest else { return }
        report.afterBurst = CompareJob.tierRows(real.filter { $0.request >= e }, sim.filter { $0.request >= e })
        if let b { report.afterBurstAgain = CompareJob.tierRows(real.filter { $0.request >= e }, b.filter { $0.request >= e }) }
    }

    /// The first burst and the tiers after it, in a line (nil when no request waited).
    static func burstLine(_ r: Report) -> String? {
        guard let b = r.burst else { return nil }
        func tiers(_ rows: [TierRow]) -> String {
            rows.filter { $0.tier != "all" && $0.count.real > 0 && $0.count.sim > 0 }.map {
                String(format: "%@ p50 %+.0f%%, p99 %+.0f%% (%d)", $0.tier, 100 * $0.relError(0.5), 100 * $0.relError(0.99), $0.count.real)
            }.joined(separator: "; ")
        }
        var s = String(format: "requests %lld to %@ (%d) waited %.1f ms at the median real, %.1f simulated", b.first,
                       b.end.map { "\($0 - 1)" } ?? "the end", b.count, b.queueMs.real, b.queueMs.sim)
        if let a = b.queueMs.again { s += String(format: ", %.1f in the second real run", a) }
        guard let e = b.end, let t = b.endSeconds else { return s + "; no request after it" }
        s += String(format: "; from request %lld (%.2f s) on, simulated against real: ", e, t) + tiers(r.afterBurst)
        if !r.afterBurstAgain.isEmpty { s += "; the second real run against the first: " + tiers(r.afterBurstAgain) }
        return s
    }

    /// Latency quantiles per tier (and of all), `a` in each row's `real` place and `b` in its `sim` place;
    /// tiers neither has are left out.
    static func tierRows(_ a: [RequestRecord], _ b: [RequestRecord]) -> [TierRow] {
        func ms(_ ns: Int64) -> Double { Double(ns) / 1e6 }
        return (Tier.allCases.map(\.rawValue) + ["all"]).compactMap { t in
            let x = a.filter { t == "all" || $0.tier.rawValue == t }.map { ms($0.latencyNanos) }
            let y = b.filter { t == "all" || $0.tier.rawValue == t }.map { ms($0.latencyNanos) }
            return x.isEmpty && y.isEmpty ? nil : TierRow(tier: t, count: (x.count, y.count), real: Summary(x), sim: Summary(y))
        }
    }

    /// Each tier's p50 and p99 errors under every seed, from each seed's tier rows (tiers with requests on both
    /// sides under every seed; "all" left out).
    static func seedErrors(_ seeds: [[TierRow]]) -> [(tier: String, p50: [Double], p99: [Double])] {
        guard let first = seeds.first else { return [] }
        return first.compactMap { row in
            guard row.tier != "all" else { return nil }
            let rows = seeds.compactMap { $0.first { $0.tier == row.tier && $0.count.real > 0 && $0.count.sim > 0 } }
            guard rows.count == seeds.count else { return nil }
            return (row.tier, rows.map { $0.relError(0.5) }, rows.map { $0.relError(0.99) })
        }
    }

    /// The spread of the tier errors over the simulated seeds, in a line (nil with one seed).
    static func seedsLine(_ r: Report) -> String? {
        let firstSeed = r.firstSeed
        guard let n = r.seedErrors.first?.p50.count, n > 1 else { return nil }
        func range(_ v: [Double]) -> String { String(format: "%+.0f%% to %+.0f%%", 100 * v.min()!, 100 * v.max()!) }
        return "seeds \(firstSeed) to \(firstSeed + UInt64(n - 1)), each tier's error against the real run from the lowest to the highest: "
            + r.seedErrors.map { "\($0.tier) p50 \(range($0.p50)), p99 \(range($0.p99))" }.joined(separator: "; ")
    }

    /// Per tier, the latencies of every real run's served requests (a failed or refused one has none) against
    /// every simulated run's (which hold only what they served), each side's runs together.
    static func pooledRows(real: [[RequestRecord]], sim: [[RequestRecord]]) -> [TierRow] {
        tierRows(real.flatMap { $0.filter { $0.error.isEmpty } }, sim.flatMap { $0 })
    }

    /// Every real run against every simulated seed, each tier's latencies pooled, in a line (nil with one of each).
    static func pooledLine(_ r: Report) -> String? {
        guard !r.pooled.isEmpty else { return nil }
        let (n, k) = r.pooledRuns
        let tiers = r.pooled.filter { $0.tier != "all" && $0.count.real > 0 && $0.count.sim > 0 }.map {
            String(format: "%@ p50 %+.0f%%, p99 %+.0f%% (%d real, %d simulated)", $0.tier, 100 * $0.relError(0.5), 100 * $0.relError(0.99), $0.count.real, $0.count.sim)
        }
        let seeds = k == 1 ? "seed \(r.firstSeed)" : "seeds \(r.firstSeed) to \(r.firstSeed + UInt64(k - 1))"
        return "\(n) real run\(n == 1 ? "" : "s") and \(k) simulation\(k == 1 ? "" : "s") (\(seeds)), "
            + "each tier's latencies of all of them together, simulated against real: " + tiers.joined(separator: "; ")
    }

    /// The second real run against the first, in a line (nil without one).
    static func againLine(_ r: Report) -> String? {
        guard !r.realAgain.isEmpty else { return nil }
        let tiers = r.realAgain.filter { $0.tier != "all" && $0.count.real > 0 && $0.count.sim > 0 }.map {
            String(format: "%@ p50 %+.0f%%, p99 %+.0f%%", $0.tier, 100 * $0.relError(0.5), 100 * $0.relError(0.99))
        }
        return "a second real run against the first: " + tiers.joined(separator: "; ")
            + (r.realAgainTierAgreement.map { String(format: "; tier agrees for %.1f%%", 100 * $0) } ?? "")
    }

    /// 5. The per-request join, one row per request the real run was given: `tier_real` "error" where the real
    /// worker failed or refused it (`error_real` says which), `tier_sim` "refused" and the simulated columns
    /// empty where the simulation refused it with its queue full, so each executor's own served requests can be
    /// told from the file (compare's tier table takes each side's; agreement and phases take those both served);
    /// with more real runs, each one's tier and latency too (`tier_real2`, `latency_real2_ms`, … : "error" and empty
    /// where it failed or was refused), and with more simulated seeds each one's (`tier_sim2`, `latency_sim2_ms`,
    /// …: "refused" and empty where it refused), so the pooled figures can be made again from the file.
    func writeJoin(_ real: [RequestRecord], _ sim: [RequestRecord], others: [[RequestRecord]] = [], otherSims: [[RequestRecord]] = [],
                   point: [RequestRecord]? = nil, handlers: HandlerTable, runtimeCosts: String, report: Report, to path: String) throws {
        func ms(_ ns: Int64) -> Double { Double(ns) / 1e6 }
        // The output directory is the job's to make (it was asked for).
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let out = try OutputFile(path: path)
        out.write("# made by: " + Provenance.madeBy(madeByFallback) + "\n")
        if let r = resimulated { out.write("# real side: \(r.path), made by: \(r.madeBy); date: \(r.date); machine: \(r.machine)\n") }
        out.write("# config: \(run.config.summary)\n# machine: \(MachineDescription.summary)\n# date: \(MachineDescription.date)\n")
        out.write("# runtime costs: \(runtimeCosts); packages: \(run.packagesPath)\n")
        out.write("# import speed: \(CompareJob.speedLine(report))\n")
        out.write("# installs: \(CompareJob.installLine(report))\n")
        out.write("# handler-cache hits: \(CompareJob.hitLine(report))\n")
        out.write(String(format: "# load: %@ real, %@ simulated, of %d core%@ (time on a core, start to end plus the dispatch per request, over the arrivals' span); queue bound: %@; refused with the queue full: %d real, %d simulated\n",
                         report.realLoad.map { String(format: "%.1f%%", 100 * $0) } ?? "-", report.simulatedLoad.map { String(format: "%.1f%%", 100 * $0) } ?? "-",
                         cores, cores == 1 ? "" : "s", cores > 1 ? "\(queueLimit)" : "none", report.refused.real, report.refused.sim))
        if let f = CompareJob.forksLine(report) { out.write("# standby children: \(f)\n") }
        if let b = CompareJob.buildsLine(report) { out.write("# zygote builds: \(b)\n") }
        if let o = CompareJob.onCoreLine(report) { out.write("# on a core: \(o)\n") }
        if let m = CompareJob.memoryLine(report) { out.write("# memory: \(m)\n") }
        if let c = CompareJob.cpuLine(report) { out.write("# machine cpu: \(c)\n") }
        if let p = report.pageCache { out.write("# \(p)\n") }
        if let a = CompareJob.againLine(report) { out.write("# real again: \(a)\n") }
        if let d = CompareJob.seedsLine(report) { out.write("# simulation's own draws: \(d)\n") }
        if let p = CompareJob.pooledLine(report) { out.write("# pooled: \(p)\n") }
        if let b = CompareJob.burstLine(report) { out.write("# first burst: \(b)\n") }
        out.write(String(format: "# agreement: tier %.1f%%, tier and zygote %.1f%% (zygotes holding the same packages; the same id: %.1f%%)\n",
                         100 * report.tierAgreement, 100 * report.tierAndZygoteAgreement, 100 * report.tierAndZygoteIDAgreement))
        out.write("request,handler,tier_real,tier_sim,zygote_real,zygote_sim,zygote_packages_real,zygote_packages_sim,latency_real_ms,latency_sim_ms")
        for (n, _) in CompareJob.phases { out.write(",\(n)_real_ms,\(n)_sim_ms") }
        out.write(",error_real")
        for k in others.indices { out.write(",tier_real\(k + 2),latency_real\(k + 2)_ms") }
        for k in otherSims.indices { out.write(",tier_sim\(k + 2),latency_sim\(k + 2)_ms") }
        if point != nil {
            out.write(",tier_point,latency_point_ms")
            for (n, _) in CompareJob.phases { out.write(",\(n)_point_ms") }
        }
        out.write("\n")
        let simByRequest = Dictionary(uniqueKeysWithValues: sim.map { ($0.request, $0) })
        func byRequest(_ rs: [RequestRecord]) -> [Int64: RequestRecord] { Dictionary(rs.map { ($0.request, $0) }, uniquingKeysWith: { x, _ in x }) }
        let othersByRequest = others.map(byRequest), otherSimsByRequest = otherSims.map(byRequest), pointByRequest = point.map(byRequest)
        // The packages of each side's zygote ("-" for the root, which holds none; empty without a zygote).
        func packages(_ z: Int64?, _ sets: [Int64: String]) -> String { z.flatMap { sets[$0] }.map { $0.isEmpty ? "-" : $0 } ?? "" }
        // A simulated figure, empty for a request the simulation refused.
        func simMs(_ s: RequestRecord?, _ k: KeyPath<RequestRecord, Int64>) -> String { s.map { String(format: "%.3f", ms($0[keyPath: k])) } ?? "" }
        for r in real {
            let s = simByRequest[r.request]
            out.write("\(r.request),\(handlers[r.handler].id),\(r.error.isEmpty ? r.tier.rawValue : "error"),\(s?.tier.rawValue ?? "refused"),\(r.zygote.map(String.init) ?? ""),\(s?.zygote.map(String.init) ?? ""),")
            out.write("\(packages(r.zygote, report.zygotePackages.real)),\(s.map { packages($0.zygote, report.zygotePackages.sim) } ?? ""),")
            out.write(String(format: "%.3f,", ms(r.latencyNanos)) + simMs(s, \.latencyNanos))
            for (_, k) in CompareJob.phases { out.write(String(format: ",%.3f,", ms(r[keyPath: k])) + simMs(s, k)) }
            out.write(",\(CSVReader.escape(r.error))")
            for byRequest in othersByRequest {
                if let x = byRequest[r.request], x.error.isEmpty {
                    out.write(String(format: ",%@,%.3f", x.tier.rawValue, ms(x.latencyNanos)))
                } else {
                    out.write(",error,")
                }
            }
            for byRequest in otherSimsByRequest {
                out.write(byRequest[r.request].map { String(format: ",%@,%.3f", $0.tier.rawValue, ms($0.latencyNanos)) } ?? ",refused,")
            }
            if let byRequest = pointByRequest {
                let p = byRequest[r.request]
                out.write(",\(p?.tier.rawValue ?? "refused")," + simMs(p, \.latencyNanos))
                for (_, k) in CompareJob.phases { out.write("," + simMs(p, k)) }
            }
            out.write("\n")
        }
        try out.commit()
    }

    /// The made-by line's command when the process's own command line is not known (a test, a library user).
    var madeByFallback: String {
        if let r = resimulated {
            return "pipsqueak resimulate \(r.path)\(chargeInstalls ? " --charge-installs" : " --no-charge-installs")\(runtimeSettings.map { " --set \($0.name)=\(String(format: "%g", $0.value))" }.joined())\(simSeeds == CompareJob.defaultSimSeeds ? "" : " --sim-seeds \(simSeeds)")\(cpuModel == .share ? "" : " --cpu-model \(cpuModel.rawValue)")"
        }
        return "pipsqueak compare --trace \(run.tracePath) --preset/config \(run.config.name) --speed \(run.speed) --seed \(run.seed)\(run.limit.map { " --limit \($0)" } ?? "")\(speedProbe ? "" : " --no-speed-probe")\(hitProbe ? "" : " --no-hit-probe")\(installProbe ? "" : " --no-install-probe")\(chargeInstalls ? " --charge-installs" : "")\(runtimeCostsPath.map { " --runtime-costs \($0)" } ?? "")\(simSeeds == CompareJob.defaultSimSeeds ? "" : " --sim-seeds \(simSeeds)")\(cpuModel == .share ? "" : " --cpu-model \(cpuModel.rawValue)")\(realRuns == 2 ? " --repeat-real" : realRuns > 2 ? " --real-runs \(realRuns)" : "")\(settle ? "" : " --no-settle")"
    }

    /// 6. The budgets: identical decisions, and per-tier p50 and p99 errors.
    func checkBudgets(_ report: inout Report) {
        // Arrivals refused with the queue full are the worker keeping its bound (the simulator refuses its own,
        // reported beside them), not failures; any other failed request is.
        let failed = report.realErrors - report.refused.real
        if failed > 0 { report.failures.append("\(failed) requests of the real run failed (see error_real)") }
        if requireIdenticalDecisions, report.firstDivergence != nil { report.failures.append("decision logs differ") }
        for row in report.tiers where row.tier != "all" && row.count.real > 0 && row.count.sim > 0 {
            if let m = maxP50Error, abs(row.relError(0.5)) > m { report.failures.append(String(format: "%@ p50 off by %.1f%% (budget %.0f%%)", row.tier, 100 * row.relError(0.5), 100 * m)) }
            if let m = maxP99Error, abs(row.relError(0.99)) > m { report.failures.append(String(format: "%@ p99 off by %.1f%% (budget %.0f%%)", row.tier, 100 * row.relError(0.99), 100 * m)) }
        }
    }

    /// The hit probes' figures in `runtime`: `dispatch_ms` the mean of before and after (of the one there is);
    /// thaw and thawed invoke overhead (medians, spreads alone and beside another) from both probes' hits
    /// together, as `calibrate` takes them (kept when too few started alone or beside another).
    static func useProbes(before: CalibrationBench.Dispatch?, after: CalibrationBench.Dispatch?, in runtime: inout RuntimeCosts) -> HitCheck {
        var h = HitCheck(dispatch: (runtime.dispatchMillis, before?.dispatchMillis, after?.dispatchMillis),
                         thaw: (runtime.thawMillis, nil), invoke: (runtime.thawedInvokeOverheadMillis, nil), handoff: (runtime.handoffMillis, nil))
        let probes = [before, after].compactMap { $0 }
        let alone = probes.flatMap(\.alone), beside = probes.flatMap(\.beside)
        h.alone = alone.count; h.beside = beside.count
        h.dispatchWeight = runtime.dispatchWeight
        runtime.dispatchMillis = h.runDispatch
        if CalibrateJob.useServedHits(alone: alone, beside: beside, in: &runtime, log: { _ in }) {
            h.thaw.run = runtime.thawMillis; h.invoke.run = runtime.thawedInvokeOverheadMillis; h.handoff.run = runtime.handoffMillis
        }
        return h
    }

    /// What the hit probe found and what the simulation used, in a line.
    static func hitLine(_ r: Report) -> String {
        guard let h = r.hits else { return r.hitNote }
        let timed = [h.dispatch.before.map { String(format: "%.3f ms before the real run", $0) }, h.dispatch.after.map { String(format: "%.3f after it", $0) }]
        var s = "timed again as calibrate times them: dispatch " + timed.compactMap { $0 }.joined(separator: ", ")
        s += String(format: ", %.3f in the runtime costs: the simulation and both loads use %.3f (%@), at the runtime costs' weight %.2f", h.dispatch.file, h.runDispatch,
                    h.failed.isEmpty ? "the mean" : "a probe failed, " + h.failed.joined(separator: "; "), h.dispatchWeight)
        if let t = h.thaw.run, let v = h.invoke.run {
            s += String(format: "; of %d hits that started alone: thaw %.3f ms (%.3f in the runtime costs), thawed invoke overhead %.3f (%.3f), hand-off to a core %.3f (%.3f), their spreads and those of %d that started beside another used by the simulation",
                        h.alone, t, h.thaw.file, v, h.invoke.file, h.handoff.run ?? .nan, h.handoff.file, h.beside)
        } else {
            s += "; thaw and thawed invoke overhead: the runtime costs' (\(h.alone) hits started alone, \(h.beside) beside another: \(CalibrateJob.minimumServedHits) of each needed)"
        }
        return s
    }

    /// What the install probe found and what the simulation charged, in a line.
    static func installLine(_ r: Report) -> String {
        guard let c = r.installs else { return r.installNote }
        let charged = r.installsCharged ? String(format: "simulated installs × %.3f", c.charge)
            : String(format: "not charged (simulated installs at the runtime costs'; the probe's figure × %.3f: --charge-installs charges it)", c.charge)
        let timed = [c.before.map { String(format: "%.0f ms before the real run", $0) }, c.after.map { String(format: "%.0f after it", $0) }].compactMap { $0 }
        return String(format: "%@ installed again as calibrate installs them: %@%@, %.0f ms at calibration: %@ (%@; the planners' estimates keep the runtime costs')",
                      c.packages.joined(separator: ", "), timed.isEmpty ? "no figure" : timed.joined(separator: ", "), c.failed.isEmpty ? "" : " (failed: " + c.failed.joined(separator: "; ") + ")",
                      c.calibrated, charged, timed.count == 2 ? "the mean of before and after" : timed.isEmpty ? "1: both probes failed" : "the one probe that worked")
            + (c.disk.map { "; \($0); the install trees of this compare (each real run's install cache, the probe's copies) removed only after its last real run" } ?? "")
    }

    /// What the speed check found and did, in a line.
    static func speedLine(_ r: Report) -> String {
        guard let p = r.speed else { return r.speedNote }
        return String(format: "the imports of %@ timed again as measure times them: %.1f ms before the real run%@, %.1f ms %@: import costs × %.3f for both executors' planners, simulated imports × %.3f (the mean of before and after)",
                      p.packages.joined(separator: ", "), p.before, p.after.map { String(format: " (%.1f ms after it)", $0) } ?? "", p.measured,
                      p.atCalibration == true ? "at calibration (the runtime costs' imported_ms rows, charged instead of the table's)" : "in the package table", p.scale, p.runScale)
    }

    /// The trace's packages (its handlers' and their dependencies) whose imports cost its requests the most:
    /// each one's measured import time × the requests (the first `limit`) of handlers that import it; at most
    /// `count`, costliest first, only packages with an import cost in `table`. With `calibrated` (the runtime
    /// cost file's `imported_ms:NAME`, by name) holding any the trace needs, only those, at that cost.
    static func costliestImports(_ trace: Trace, table: PackageTable, limit: Int?, count: Int, calibrated: [String: Double] = [:]) throws -> [String] {
        var cost: [String: Double] = [:]
        let needed = try requestedPackages(trace, table: table, limit: limit)
        // Those the calibration timed again when the trace needs any: their drift since is what the probe measures.
        let onlyCalibrated = needed.keys.contains { calibrated[$0] != nil }
        for (p, n) in needed where !onlyCalibrated || calibrated[p] != nil {
            if let m = calibrated[p] ?? table[p]?.importMillis, m > 0 { cost[p] = m * Double(n) }
        }
        return cost.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(count).map(\.key)
    }

    /// Each package the first `limit` requests of `trace` need (their handlers' packages and those packages'
    /// dependencies in `table`): how many of those requests need it.
    static func requestedPackages(_ trace: Trace, table: PackageTable, limit: Int?) throws -> [String: Int] {
        var requests = [Int](repeating: 0, count: trace.handlers.count)
        let reader = try trace.makeReader()
        var n = 0
        while limit.map({ n < $0 }) ?? true, let inv = try reader.nextInvocation() { requests[Int(inv.handler)] += 1; n += 1 }
        var out: [String: Int] = [:]
        for (i, h) in trace.handlers.handlers.enumerated() where requests[i] > 0 {
            for p in table.closure(of: h.packages) { out[p, default: 0] += requests[i] }
        }
        return out
    }

    /// The `count` packages of `needed` with the costliest installs in `calibrated` (`calibrate`'s, by name)
    /// that `table` holds, costliest first.
    static func costliestInstalls(_ needed: [String: Int], table: PackageTable, calibrated: [String: Double], count: Int) -> [Package] {
        var held: [(package: Package, ms: Double)] = []
        for n in needed.keys { if let ms = calibrated[n], let p = table[n] { held.append((p, ms)) } }
        held.sort { $0.ms != $1.ms ? $0.ms > $1.ms : $0.package.name < $1.package.name }
        return held.prefix(count).map(\.package)
    }

    /// How import starts forked, real and simulated: from a standby child or without one.
    static func forksLine(_ r: Report) -> String? {
        guard let real = r.forks.real else { return nil }
        let sim = r.forks.sim.map { "\($0.standby) simulated" } ?? "not simulated (the runtime costs have no direct_fork_ms: calibrate again)"
        let simDirect = r.forks.sim.map { "\($0.direct) simulated" } ?? "-"
        return "import starts that took one: \(real.standby) real, \(sim); that found none (the zygote forked on the request's path): \(real.direct) real, \(simDirect)"
    }

    /// How the simulated container ends heard the real run's memory (nil: not replayed).
    static func memoryLine(_ r: Report) -> String? {
        guard let m = r.memory else { return nil }
        let n = m.real + m.scaled + m.unscaled + m.kept
        var s = "of \(n) simulated container ends, \(m.real) took a real container's memory (the same handler, forked from a zygote holding the same packages)"
        s += "; \(m.scaled + m.unscaled) of a start the real run made another way took the model's"
        if m.scaled > 0 { s += String(format: ", %d of them scaled by what the real containers took against the model so far (real over modeled, %.2f over the whole run)", m.scaled, m.ratio ?? .nan) }
        if m.kept > 0 { s += "; \(m.kept) handler-cache hits on those kept their first end's" }
        return s
    }

    /// A real phase's wall time against the container's own CPU time over it (`RequestRecord.importCPUNanos`,
    /// `initCPUNanos`), over the starts that reported it: wall well over the time on a core is a wait, for a core
    /// or for the disk; time on a core over what the phase takes alone is more work.
    public struct OnCore: Sendable, Equatable {
        public var phase: String
        public var n: Int
        public var wallP50Ms: Double, cpuP50Ms: Double
        /// The phase's summed CPU time over its summed wall time.
        public var share: Double
        /// Where known (the whole start until ready): the wait for a core, p50 and summed over summed wall;
        /// the rest of the wall is neither on a core nor waiting for one (blocked).
        public var waitP50Ms: Double? = nil, waitShare: Double? = nil

        /// For the starts in `records` that reported their time on a core: the imports of import starts (those
        /// that imported anything), the imports of cold starts, and the inits of both.
        public static func of(_ records: [RequestRecord]) -> [OnCore] {
            func row(_ phase: String, _ pairs: [(wall: Int64, cpu: Int64)]) -> OnCore? {
                guard !pairs.isEmpty else { return nil }
                let wall = pairs.reduce(0.0) { $0 + Double($1.wall) }, cpu = pairs.reduce(0.0) { $0 + Double($1.cpu) }
                return OnCore(phase: phase, n: pairs.count, wallP50Ms: Summary(pairs.map { Double($0.wall) / 1e6 }).p50,
                              cpuP50Ms: Summary(pairs.map { Double($0.cpu) / 1e6 }).p50, share: wall > 0 ? cpu / wall : .nan)
            }
            let ok = records.filter { $0.error.isEmpty }
            // An import start forked from a zygote holding every package imports nothing: under 0.5 ms is left out.
            func imports(_ t: Tier) -> [(wall: Int64, cpu: Int64)] {
                ok.filter { $0.tier == t && $0.importNanos >= 500_000 }.compactMap { r in r.importCPUNanos.map { (r.importNanos, $0) } }
            }
            let inits = ok.filter { $0.tier != .handler }.compactMap { r in r.initCPUNanos.map { (r.initNanos, $0) } }
            // Each start from its fork (or create) to ready: on a core, waiting for one, and the rest.
            let whole = ok.filter { $0.tier != .handler }.compactMap { r -> (wall: Int64, cpu: Int64, wait: Int64)? in
                guard let c = r.readyCPUNanos, let w = r.readyWaitNanos else { return nil }
                return (r.createNanos + r.forkNanos + r.importNanos + r.initNanos, c, w)
            }
            var ready = row("starts until ready", whole.map { ($0.wall, $0.cpu) })
            if !whole.isEmpty {
                let wall = whole.reduce(0.0) { $0 + Double($1.wall) }
                ready?.waitP50Ms = Summary(whole.map { Double($0.wait) / 1e6 }).p50
                ready?.waitShare = wall > 0 ? whole.reduce(0.0) { $0 + Double($1.wait) } / wall : .nan
            }
            return [row("imports of import starts", imports(.import)), row("imports of cold starts", imports(.cold)),
                    row("inits", inits), ready].compactMap { $0 }
        }
    }

    /// The `onCore` figures in a line (nil: none real).
    static func onCoreLine(_ r: Report) -> String? {
        guard !r.onCore.real.isEmpty else { return nil }
        func rows(_ xs: [OnCore]) -> String {
            xs.map { o in
                if let w = o.waitP50Ms, let ws = o.waitShare {
                    return String(format: "%@ %.2f ms against %.2f on a core and %.2f waiting for one (%.0f%% and %.0f%%, the rest %.0f%% blocked, %d)",
                                  o.phase, o.wallP50Ms, o.cpuP50Ms, w, 100 * o.share, 100 * ws, 100 * max(0, 1 - o.share - ws), o.n)
                }
                return String(format: "%@ %.2f ms against %.2f (%.0f%%, %d)", o.phase, o.wallP50Ms, o.cpuP50Ms, 100 * o.share, o.n)
            }.joined(separator: "; ")
        }
        return "the first real run's starts, wall against the container's own time on a core (p50s; summed time on a core over summed wall): "
            + rows(r.onCore.real)
            + (r.onCore.sim.isEmpty ? "" : "; simulated (seed \(r.firstSeed)), wall against the work drawn, which the shared cores stretch: " + rows(r.onCore.sim))
    }

    /// Zygote builds, real and simulated: how many and how long from start to ready (the real ones' imports,
    /// and their time on a core where the zygotes reported it: wall well over it is a wait for a core).
    static func buildsLine(_ r: Report) -> String? {
        guard r.builds.real != nil || r.builds.sim != nil else { return nil }
        let real = r.builds.real.map { b in
            let cpu = b.importsOnCPUMs.map { String(format: ", %.1f ms of it on a core", $0) } ?? ""
            return String(format: "%d real, median %.1f ms from start (installs done) to ready (its imports %.1f ms", b.count, b.medianMs, b.importsMs) + cpu + ")"
        } ?? "none real"
        let sim = r.builds.sim.map { String(format: "%d simulated, median %.1f ms", $0.count, $0.medianMs) } ?? "none simulated"
        return real + "; " + sim
    }

    /// The machine's CPU over the real runs: busy with any work (the worker, the load generator, the kernel,
    /// anything else running) and taken by the hypervisor (steal), as shares of all its cores' time.
    static func cpuLine(_ r: Report) -> String? {
        guard let c = r.cpu.real else { return nil }
        let settled = r.settle.enumerated().compactMap { k, s in s.map { "run \(k + 1): \($0.summary)" } }
        return "over the real run, of the machine's " + MachineCPUTimes.describe(c)
            + r.cpu.again.enumerated().compactMap { k, c in
                c.map { String(format: "; real run %d: %.1f%% busy, %.1f%% stolen", k + 2, 100 * $0.busy, 100 * $0.steal) }
            }.joined()
            + (settled.isEmpty ? "" : "; each run started on a machine at rest (sync, then cores idle): " + settled.joined(separator: ", "))
            + (r.selfCPU.map { s in
                String(format: "; this process over the first real run (the worker's server and maintenance threads and the load generator, not the containers or zygotes): %.2f s on a core, %.1f%% of the cores' time, where the simulation charges the dispatches %.2f s",
                       Double(s.cpu) / 1e9, s.wall > 0 ? 100 * MachineCPUTimes.share(cpuNanos: s.cpu, wallNanos: s.wall, cores: r.cores) : .nan, Double(s.simDispatch) / 1e9)
                + (r.threadCPU.map { "; by its threads: " + $0.describe(served: r.tiers.first { $0.tier == "all" }?.count.real ?? 0, processNanos: s.cpu) } ?? "")
            } ?? "")
    }

    /// The per-phase, per-request errors: against the point simulation (when run), then against the first seed's draws.
    static func phaseTable(_ r: Report) -> String {
        func rows(_ es: [PhaseError]) -> String {
            var s = "phase          n   median |err| ms   p90 |err| ms   median |err|/real\n"
            for p in es {
                s += p.phase.padding(toLength: 10, withPad: " ", startingAt: 0)
                s += String(format: " %6d %14.3f %14.3f %14.1f%%\n", p.n, p.medianAbsMs, p.p90AbsMs, 100 * p.medianRelative)
            }
            return s
        }
        guard !r.pointPhaseErrors.isEmpty else { return rows(r.phaseErrors) }
        return String(format: "each phase against the point simulation (every primitive at its median: the simulator's guess of each request), over the %d requests it started as the real run did (%.1f%%):\n",
                      r.pointJoined, 100 * r.pointTierAgreement) + rows(r.pointPhaseErrors)
            + "each phase against the simulation with seed \(r.firstSeed)'s draws (one draw per request each side: the spread counts twice):\n" + rows(r.phaseErrors)
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
        if r.joined > 0 {
            s += String(format: "\nrequest by request (%d joined): tier agrees for %.1f%%, tier and zygote (the same packages) for %.1f%% (the same zygote id: %.1f%%)", r.joined,
                        100 * r.tierAgreement, 100 * r.tierAndZygoteAgreement, 100 * r.tierAndZygoteIDAgreement)
            if let f = r.firstDisagreement {
                s += String(format: "; first disagreement at request %lld, %.1f%% of the requests after it agree\n", f, 100 * r.agreementAfterFirstDisagreement)
            } else {
                s += "\n"
            }
            s += phaseTable(r)
        }
        if let l = r.realLoad {
            s += String(format: "\nload on %d core%@: %.0f%% real, %.0f%% simulated (time on a core over the arrivals' span)\n", r.cores,
                        r.cores == 1 ? "" : "s", 100 * l, 100 * (r.simulatedLoad ?? 0))
            if r.refused.real + r.refused.sim > 0 { s += "refused with the queue full: \(r.refused.real) real, \(r.refused.sim) simulated\n" }
            s += "import speed: \(speedLine(r))\n"
            s += "installs: \(installLine(r))\n"
            s += "handler-cache hits: \(hitLine(r))\n"
            if let f = forksLine(r) { s += "standby children: \(f)\n" }
            if let b = buildsLine(r) { s += "zygote builds: \(b)\n" }
            if let o = onCoreLine(r) { s += "on a core: \(o)\n" }
            if let m = memoryLine(r) { s += "memory: \(m)\n" }
            if let c = cpuLine(r) { s += "machine cpu: \(c)\n" }
            if let p = r.pageCache { s += p + "\n" }
            if let a = againLine(r) { s += "real again: \(a)\n" }
            if let d = seedsLine(r) { s += "simulation's own draws: \(d)\n" }
            if let p = pooledLine(r) { s += "pooled: \(p)\n" }
            if let b = burstLine(r) { s += "first burst: \(b)\n" }
            if l > 1 || (r.simulatedLoad ?? 0) > 1 {
                s += "warning: saturated: requests queue without bound, so latencies are mostly queueing, not starts\n"
            }
        }
        s += "\nper-request join: \(r.joinPath)\n"
        if !r.failures.isEmpty { s += "over budget: " + r.failures.joined(separator: "; ") + "\n" }
        return s
    }
}
