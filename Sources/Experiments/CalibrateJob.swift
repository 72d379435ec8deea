import CachePolicy
import Foundation
import Runtime
import Server
import Simulation
import Statistics
import Workload

/// The job behind `pipsqueak calibrate`: measures the runtime's own primitives on this machine with the real
/// runtime and a tiny synthetic package, and writes them as the simulator's runtime cost model.
public struct CalibrateJob {
    public var repeats = 100
    /// Requests at once for the contended figures (default: the machine's cores; 1 measures no contention).
    public var cores = ProcessInfo.processInfo.activeProcessorCount
    public var output = ProjectPaths.traces("runtime-costs.csv")
    public var wheelhouse = MeasureOptions.defaultCache + "/wheelhouse"
    /// The package table whose `install_ms` the worker's installs are fitted against.
    public var packages = ProjectPaths.traces("packages.csv")
    /// Fetch from the package index, before anything is timed, the wheels the install fit picks that the
    /// wheelhouse lacks, and pick over every measured package of the table (not only those whose wheels it
    /// holds): a fresh machine's wheelhouse is empty (no fit, scale 1), and a used one's contents decided the picks.
    public var online = false
    /// A trace whose handlers weigh the imports timed again (`CalibrationBench.retimePicks`); nil: the table's
    /// costliest.
    public var trace: String?
    public var log: (String) -> Void = { _ in }

    public init() {}

    static func median(_ xs: [Int64]) -> Double { Summary(xs.map { Double($0) / 1e6 }).p50 }

    /// The handler does 1 ms of work in its init and per request (as the microbenchmark's handlers do): the init
    /// and the round trip then include what doing work costs right after a fork or a thaw, which an empty
    /// handler hides. (Forked from a zygote holding numpy, the same handler's init takes 0.5-0.7 ms more than
    /// from this tiny one: not modeled.)
    static let workMillis = 1.0
    /// Rounds of the loaded stream the dispatch's weight is fitted to (the median of their fits is kept).
    static let weightRounds = 3

    /// Measures every primitive, fits the cost model and writes it to `output`.
    public func run() throws -> RuntimeCosts {
        let table = try PackageTable.read(path: packages)
        let handlers = try trace.map { try Trace(path: $0, handlersPath: nil).handlers.handlers }
        let cpuBefore = MachineCPUTimes.now()
        let bench = try CalibrationBench(repeats: repeats, cores: cores)
        defer { bench.remove() }
        if online {
            let imports = CalibrationBench.importPicks(table, wheelhouse: wheelhouse, everyPackage: true,
                                                       count: max(CalibrationBench.importContentionPackages, CalibrationBench.overlapSets * CalibrationBench.overlapSetPackages))
                + CalibrationBench.retimePicks(table, wheelhouse: wheelhouse, everyPackage: true, handlers: handlers)
                + CalibrationBench.memorySets(table, wheelhouse: wheelhouse, everyPackage: true, handlers: handlers).joined()
            try bench.fetchWheels(imports, withDependenciesFrom: table, besides: CalibrationBench.installPicks(table, wheelhouse: wheelhouse, everyPackage: true),
                                  into: wheelhouse, purpose: "for the install fit", log: log)
        }
        log("interpreter start (python -S), \(repeats)×")
        let starts = try bench.interpreterStarts()
        log("import-cache hits: container create, fork and relocate, invoke round trip, \(repeats)×")
        let hits = try bench.importHits()
        log("forked containers' memory, a handler holding nothing and one holding \(Int(CalibrationBench.heldMB)) MB, \(CalibrationBench.memoryRounds)× each: what a fork holds of its own, what holding memory costs a handler's init")
        let held = try bench.handlerMemory()
        log("import-cache hits from a zygote holding 256 MB more, \(repeats)×: the cost of forking a big zygote")
        let big = try bench.bigZygoteForks()
        log("import-cache hits with and without standby children, \(repeats) one at a time, then \(repeats) rounds of \(cores) at once back to back: the maintenance thread's work and a fork without one")
        let standbys = try bench.standbys()
        log("cgroup joins \(CalibrationBench.attachGaps.map { String(format: "%.0f", $0) }.joined(separator: ", ")) ms apart: what a join waits after a quiet spell")
        let attaches = try bench.cgroupAttaches()
        log("\(CalibrationBench.buildPackages) zygotes built after start-up, 100 ms apart: a build's own cost beyond its imports")
        let builds = try bench.zygoteBuilds()
        log("handler-cache hits: thaw and freeze, \(repeats)×")
        let thawed = try bench.handlerHits()
        log("cold starts: interpreter start and relocation in a container; sandboxed pip installs of a tiny wheel")
        let cold = try bench.coldStartsAndInstalls(installs: min(repeats, 10))
        let mirror = try bench.mirror(wheelhouse: wheelhouse)
        log(String(format: "the local mirror: %.3f ms a wheel + %.0f MB/s (%@)", mirror.overheadMillis, mirror.mbps, mirror.source))
        guard mirror.mbps > 0 else { throw RuntimeError.unavailable("calibration: the local mirror's throughput could not be measured: \(mirror.source)") }
        var costs = fit(hits: hits, big: big, thawed: thawed, cold: cold, mirrorMBPerSecond: mirror.mbps)
        costs.downloadOverheadMillis = mirror.overheadMillis
        log("installs as the worker runs them: up to \(CalibrationBench.installPackages) packages of \(packages) from the wheelhouse, 3× each")
        let tinyInstall = costs.installOverheadMillis
        let inst = bench.installs(table: table, wheelhouse: wheelhouse, everyPackage: online, together: cores, log: log)
        let installed: String
        if let f = inst.fit {
            costs.installOverheadMillis = f.overheadMillis
            costs.installScale = f.scale
            costs.installedMillis = inst.installed
            costs.spreads["install_overhead_ms"] = CalibrateJob.spread(cold.installs.map { Double($0) / 1e6 }, value: f.overheadMillis)
            installed = String(format: "install_overhead_ms, install_scale: a package's install is install_overhead_ms + install_scale × its install_ms in the package table (one with a row installed_ms:NAME: that figure): %@; a tiny wheel's sandboxed install took %.1f ms (the row's spread is its, scaled)", inst.source, tinyInstall)
        } else {
            installed = "install_overhead_ms: a tiny wheel's sandboxed install; install_scale 1 (not fitted: \(inst.source))"
        }
        log(String(format: "installs: %.1f ms + %.3f × install_ms (%@)", costs.installOverheadMillis, costs.installScale, inst.source))
        var contention = "import_contention, install_contention: 1 (with one core nothing runs beside a start)"
        if cores > 1 {
            let contendedWhat = trace == nil ? "the table's \(CalibrationBench.importContentionPackages) costliest imports" : "the imports (up to \(CalibrationBench.importContentionPackages)) that weigh most in \(trace!)"
            log("\(contendedWhat) served by a worker (forks from its root zygote), \(CalibrationBench.importContentionRounds) rounds of one alone and \(cores) at once")
            let imports = bench.importContention(table: table, wheelhouse: wheelhouse, everyPackage: online, handlers: handlers, together: cores)
            if let c = imports.contention { costs.importContention = c.factor }
            if let c = inst.contention { costs.installContention = c.factor }
            let importText = imports.contention.map { String(format: "import_contention %.3f: %@ ms (mean at once)", $0.factor, $0.text) } ?? "import_contention 1 (not measured: \(imports.why))"
            let installText = inst.contention.map { String(format: "install_contention %.3f: %@ ms (the worker's sandboxed installs)", $0.factor, $0.text) }
                ?? "install_contention 1 (not measured: \(inst.fit == nil ? inst.source : "no costly install could be timed \(cores) at once"))"
            log("contention beyond the cores' sharing, \(cores) at once on \(cores) cores: " + importText + "; " + installText)
            contention = "import_contention, install_contention: how many times longer \(contendedWhat) (each a request forked from the worker's root zygote importing it in its container, \(CalibrationBench.importContentionRounds) rounds: the mean of the imports started together over the median alone) and the worker's installs of its costliest picks (one round) took with \(cores) at once on \(cores) cores than alone (the median of the packages' ratios, at least 1; nothing shares a core, so it is contention for the disk, the page cache, memory and the kernel): \(importText); \(installText)"
        }
        let memorySets = CalibrationBench.memorySets(table, wheelhouse: wheelhouse, everyPackage: online, handlers: handlers)
        log("\(CalibrateJob.memorySetsWhat(trace: trace)) served by a worker (forks from its root zygote), \(CalibrationBench.memorySetRounds)× each: their containers' memory")
        let served = bench.servedSetMemory(memorySets, table: table, wheelhouse: wheelhouse)
        let memoryScale = CalibrateJob.applyMemory(held, served: served.samples, why: served.why, table: table, to: &costs)
        log(String(format: "memory: fork %.2f MB, %.4f ms per MB a handler holds, imports charged × %.3f of the table's", costs.forkMemoryMB, costs.memoryTouchMillisPerMB, costs.importMemoryScale)
            + (memoryScale.scale == nil ? " (not measured: \(memoryScale.text))" : ""))
        log("packages imported together against the sum of their own imports (what the import overlap saves), and the same sets served by a worker, forked from its root zygote into containers")
        let credit = bench.importOverlapCredit(table: table, packagesPath: packages, wheelhouse: wheelhouse, everyPackage: online, log: log)
        if let c = credit.credit { costs.importOverlapCredit = c }
        if let s = credit.served { costs.servedImportScale = s }
        log("import_overlap_credit " + (credit.credit == nil ? "1 (not measured: \(credit.text))" : credit.text))
        log("served_import_scale " + (credit.served == nil ? "1 (not measured: \(credit.servedText))" : credit.servedText))
        let overlapText = "import_overlap_credit: the share of the import overlap's saving that packages imported together save: " + (credit.credit == nil ? "1 (not measured: \(credit.text))" : credit.text)
            + "; served_import_scale: the same sets' imports in a request's container forked from the root zygote (a worker serving them in the same rounds) over a fresh interpreter's, which the simulator stretches a forked request's imports by: " + (credit.served == nil ? "1 (not measured: \(credit.servedText))" : credit.servedText)
        let retimedWhat = trace.map { "the imports that weigh most in \($0) (import_ms × its handlers that need them)" } ?? "the table's costliest imports"
        log("\(retimedWhat), \(CalibrationBench.retimeRounds) rounds each as measure times them: charged instead of the table's")
        let again = bench.importsAgain(table: table, packagesPath: packages, wheelhouse: wheelhouse, everyPackage: online, handlers: handlers)
        costs.importedMillis = again.timed
        log("imports timed again: " + again.text)
        let againText = "imported_ms:NAME: \(retimedWhat) timed again as measure times them, charged instead of the table's import_ms (the table was measured once, on another day: each of these imports' own drift since is taken, not one factor from a few packages): " + again.text
        CalibrateJob.addOffPathCosts(standbys, attaches: attaches, builds: builds, cores: cores, to: &costs, log: log)
        let n = max(200, repeats * 10)
        log("handler-cache hits at \(Int(CalibrationBench.dispatchRate)) per second, \(n)× served directly and \(n)× over HTTP in \(CalibrationBench.dispatchRounds) rounds: the server's and client's core time per request")
        // The hits the weight is fitted against (and each loaded round below) are served on a machine at rest,
        // as compare's real runs start (`MachineSettle`): the calibration's installs leave writeback behind.
        log("settling the machine: " + MachineSettle.now().summary)
        let d = try bench.dispatch(requests: n)
        costs.dispatchMillis = d.dispatchMillis
        log(String(format: "this process's CPU per request: %.3f ms over HTTP, %.3f ms served directly (medians of the rounds): dispatch %.3f ms (the median of the rounds' differences)", d.httpMillis, d.directMillis, costs.dispatchMillis))
        let inSitu = CalibrateJob.useServedHits(alone: d.alone, beside: d.beside, in: &costs, log: log)
        // The dispatch's weight: fitted to a loaded stream of hits in each of `weightRounds` rounds spread
        // over what follows (one stream at 75% amplifies the machine's speed of the moment: four single
        // fits one morning gave 0.20, 0.50, 0.20, 0.00), the median of the rounds' weights kept.
        var rounds: [DispatchWeightFit.Result] = [], failedRounds = 0
        let weightFit = inSitu && cores > 1 ? DispatchWeightFit(costs: costs, cores: cores, queueLimit: CalibrationBench.servedQueueLimit,
                                                                handlers: CalibrationBench.dispatchHandlers) : nil
        // The loaded stream's rate, the same every round: a share of what the cores serve of hits that cost
        // what the 400/s stream's alone hits measured (latency p50) with the dispatch.
        let perHit = Summary(d.alone.map { Double($0.latencyNanos) / 1e6 }).p50 + costs.dispatchMillis
        let rate = (CalibrationBench.loadedShare * Double(cores) * 1000 / perHit).rounded()
        func weightRound() throws {
            guard let weightFit else { return }
            let k = rounds.count + failedRounds + 1
            log(String(format: "the dispatch's weight, round %d of %d: handler-cache hits over HTTP at %.0f per second (%.0f%% of what %d cores serve of hits that cost %.3f ms with the dispatch), %d×", k, CalibrateJob.weightRounds, rate, 100 * CalibrationBench.loadedShare, cores, perHit, n))
            // A round the machine was too busy to serve (refusals, a failed request) costs only that round.
            let loaded: [RequestRecord], cpu: CalibrationBench.StreamCPU
            let settled = MachineSettle.now()
            do { (loaded, cpu) = try bench.servedHits(count: n, rate: rate, round: k) } catch {
                log("round \(k): not fitted: \(error)")
                failedRounds += 1
                return
            }
            let machine = CalibrateJob.roundMachine(settled: settled, stream: cpu)
            log("round \(k): machine " + machine)
            let streams = [DispatchWeightFit.Stream(name: "\(Int(CalibrationBench.dispatchRate))/s", hits: d.alone + d.beside),
                           DispatchWeightFit.Stream(name: String(format: "%.0f/s", rate), hits: loaded)]
            var fit = try weightFit.fit(streams)
            fit.machine = machine
            for p in fit.points where [0, 0.25, 0.5, 1].contains(p.weight) || p.weight == fit.weight {
                log(String(format: "  weight %.2f: ", p.weight) + fit.simulatedText(p) + (p.weight == fit.weight ? "  (the fit)" : ""))
            }
            log(String(format: "round %d: weight %.2f; measured latency p50/p90 ", k, fit.weight) + fit.measuredText)
            rounds.append(fit)
        }
        try weightRound()
        let m = repeats * 3 // 300 by default: enough of both alone and beside (`minimumServedHits`)
        log("import-cache hits over HTTP among handler-cache hits: \(m) import hits, one in \(CalibrationBench.importHitEvery) of \(Int(CalibrationBench.dispatchRate)) requests per second: the phases of a start as a served request pays them")
        let si = try bench.servedImportHits(count: m)
        if si.refused > 0 { log("import hits over HTTP: \(si.refused) requests of the stream refused with the worker's queue full (the machine is busy with something else)") }
        let importsInSitu = CalibrateJob.useServedImportHits(alone: si.alone, beside: si.beside, zygoteGB: hits.zygoteGB, in: &costs, log: log)
        try weightRound()
        if cores > 1 {
            log("the same starts \(cores) at a time (every core busy), \(repeats)× each: contention")
            addContention(&costs, alone: CalibrateJob.timedSamples(hits: hits, thawed: thawed, cold: cold.create), try bench.contended(threads: cores),
                          keeping: (inSitu ? CalibrateJob.servedTimed : []).union(importsInSitu ? CalibrateJob.servedImportTimed : []))
        }
        while weightFit != nil, rounds.count + failedRounds < CalibrateJob.weightRounds { try weightRound() }
        var weighed: String? = nil
        if let median = DispatchWeightFit.median(rounds) {
            costs.dispatchWeight = median.weight
            log(String(format: "dispatch weight %.2f: the median of the rounds' %@", median.weight, rounds.map { String(format: "%.2f", $0.weight) }.joined(separator: ", ")))
            weighed = DispatchWeightFit.header(rounds, median: median)
        }
        try ProjectPaths.ensureParent(of: output)
        var cpu: [String] = []
        if let a = cpuBefore, let c = MachineCPUTimes.now()?.shares(since: a) {
            cpu = ["machine cpu: over the calibration, of the machine's " + MachineCPUTimes.describe(c)]
        }
        try costs.write(path: output, comments: [
            "made by: " + Provenance.madeBy("pipsqueak calibrate --repeat \(repeats) --cores \(cores)" + (online ? " --online" : "") + (output == ProjectPaths.traces("runtime-costs.csv") ? "" : " --out \(output)")), "machine: \(MachineDescription.summary)", "date: \(MachineDescription.date)",
            "python: \(bench.python.version); bare python -S start \(String(format: "%.2f", CalibrateJob.median(starts))) ms (outside any container)",
            "value: median over \(repeats) starts, one at a time (import hits 50 ms apart, their standby child ready), of a handler importing a tiny synthetic package (import hits forked from the zygote holding it, a child of the root); min..max: the spread",
            "standby_prep_ms, cgroup_create_ms: the maintenance thread's work per standby child, a pooled cgroup, over \(repeats) import hits one at a time, 50 ms apart (their contended_ rows: \(repeats) rounds of \(cores) at once, back to back); standby_ready_ms: a child's time to be ready after it is asked for, and direct_fork_ms: a fork with no standby child, over those rounds (cgroup joins back to back)",
            "cgroup_attach_wait_ms: what a process's joining a cgroup waits more when the last join was long ago (100 ms) than back to back; cgroup_attach_window_ms: the largest gap between joins (of \(CalibrationBench.attachGaps.map { String(format: "%.0f", $0) }.joined(separator: ", ")) ms) still cheap",
            "zygote_build_ms: a child zygote's build from start to ready less its own imports (fork, cgroup, start), over \(CalibrationBench.buildPackages) builds 100 ms apart, less cgroup_attach_wait_ms",
            "the simulator draws each request's cost from (scaled to the modeled value); contended_NAME: the same with \(cores) starts at once",
            "(contention_cores), drawn from with the probability the share of the simulator's other cores busy; interpreter_start_ms is a cold start's",
            "create phase (interpreter start + entering the container) minus container_create_ms; dispatch_ms: this process's CPU time (all",
            "threads) per handler-cache hit over HTTP (the server and an open-loop client in one process, as compare runs them) less the same",
            "hits served directly, the median of \(CalibrationBench.dispatchRounds) rounds' differences: core time per request beyond its own phases, which the simulator runs beside the requests (processor sharing; --cpu-model hold: holds the request's core for it after it ends)",
            "handoff_ms: from a served hit's arrival at the server to its start on a core's thread (the hits over HTTP below)",
            "download_overhead_ms, mirror_mb_per_s: a download is download_overhead_ms + wheel bytes / mirror_mb_per_s: " + mirror.source,
            CalibrateJob.memoryText(held, scale: memoryScale, trace: trace),
            installed, "disk: " + InstallDisk.describe(path: bench.timedInstallsDirectory) + "; each install timed into a directory of its own, all kept until every install was timed, then removed and written back (sync)", PageCacheReclaim.describe(), contention, overlapText, againText,
            weighed ?? "dispatch_weight: 1, an equal share (not fitted: one core, too few hits over HTTP, or every round of the loaded stream refused)",
            inSitu ? "thaw_ms, thawed_invoke_overhead_ms: handler-cache hits served over HTTP across \(CalibrationBench.dispatchHandlers) paused containers (the server's and client's threads beside them, as in compare), \(Int(CalibrationBench.dispatchRate)) per second (Poisson), those that started with no other request in flight; their contended spreads: those that started beside another"
                : "thaw_ms, thawed_invoke_overhead_ms: served directly (too few hits over HTTP started alone or beside another)",
            importsInSitu ? "container_create_ms, fork_ms, invoke_overhead_ms, init_overhead_ms: import-cache hits served over HTTP, one in \(CalibrationBench.importHitEvery) of \(Int(CalibrationBench.dispatchRate)) requests per second (Poisson; the rest handler-cache hits), those that started with no other request in flight; their contended spreads: those that started beside another"
                : "container_create_ms, fork_ms, invoke_overhead_ms, init_overhead_ms: served directly (too few import hits over HTTP ran alone or beside another)"] + cpu)
        return costs
    }

    /// What a loaded round of the dispatch's weight says of the machine: its settling before the round
    /// (`MachineSettle.summary`), and over its stream of hits (first send to last reply) the share of the
    /// cores' time busy and how much of it was this process's (the worker, its server and client; the rest the
    /// handlers' containers, the kernel and anything else running).
    static func roundMachine(settled: MachineSettle, stream: CalibrationBench.StreamCPU) -> String {
        guard let a = stream.before, let b = stream.after, let shares = b.shares(since: a) else { return "settled: " + settled.summary }
        let ownShare = MachineCPUTimes.share(cpuNanos: stream.ownNanos, wallNanos: stream.wallNanos,
                                             cores: ProcessInfo.processInfo.activeProcessorCount)
        return String(format: "settled: %@; over the stream %.0f%% of the cores' time busy, %.0f%% this process's, %.1f%% stolen",
                      settled.summary, 100 * shares.busy, 100 * ownShare, 100 * shares.steal)
    }

    /// The records that started with no other request in flight (each started after every earlier-started
    /// one ended; records in any order): what the simulator conditions a primitive's draw on.
    static func startedAlone(_ rs: [RequestRecord]) -> [RequestRecord] { splitByStart(rs).alone }

    /// The records split by how they started: with no other request in flight, or beside another; each part
    /// in start order (records in any order; request numbers need not be unique).
    static func splitByStart(_ rs: [RequestRecord]) -> (alone: [RequestRecord], beside: [RequestRecord]) {
        var endedBy = Int64.min
        var out: (alone: [RequestRecord], beside: [RequestRecord]) = ([], [])
        for r in rs.sorted(by: { $0.startNanos < $1.startNanos }) {
            if r.startNanos >= endedBy { out.alone.append(r) } else { out.beside.append(r) }
            endedBy = max(endedBy, r.endNanos)
        }
        return out
    }

    /// Hits served over HTTP, at least this many alone and this many beside others, replace the directly
    /// served ones' thaw and invoke.
    static let minimumServedHits = 100
    /// The primitives taken from hits served over HTTP.
    static let servedTimed: Set<RuntimeCosts.Timed> = [.thaw, .thawedInvoke, .handoff]

    /// Thaw and the just-thawed invoke as a served request pays them, with the HTTP server's and the client's
    /// threads on the same cores (what `compare` and `serve` run), among open-loop arrivals: the median and
    /// spread from the hits that started with no other request in flight, the contended spread from those that
    /// started beside another (the simulator's condition for each draw, as for import hits). Served directly,
    /// one at a time with pauses between, a hit's invoke overhead was slower alone (median 0.46–0.52 ms against
    /// 0.25–0.36 served) and far narrower beside another. Hits that *ran* alone (overlapped no other request
    /// from start to end) are no measure of alone: a slow hit is the likelier to be overlapped by the next
    /// arrival, so choosing those that were not kept the fast ones (campaign J: invoke overhead p90 0.32 ms
    /// calibrated so, against 1.2 ms real on micro-numpy at 30% of 2 cores for hits that started alone). Returns
    /// whether there were enough of both; if not, the directly served figures stay.
    static func useServedHits(alone: [RequestRecord], beside: [RequestRecord], in costs: inout RuntimeCosts, log: (String) -> Void) -> Bool {
        guard alone.count >= minimumServedHits, beside.count >= minimumServedHits else {
            log("hits over HTTP: \(alone.count) alone, \(beside.count) beside others (\(minimumServedHits) of each needed): thaw and invoke as served directly")
            return false
        }
        let direct = (thaw: costs.thawMillis, invoke: costs.thawedInvokeOverheadMillis, spread: costs.spreads[RuntimeCosts.Timed.thawedInvoke.name])
        let m = takeServed(Array(servedTimed), alone: alone, beside: beside, in: &costs)
        let (t, v, vb, h) = (m[.thaw]!.alone, m[.thawedInvoke]!.alone, m[.thawedInvoke]!.beside, m[.handoff]!.alone)
        log(String(format: "hits over HTTP: %d started alone, thaw %.3f ms, invoke overhead %.3f ms (p90 %.3f, p99 %.3f), hand-off to a core %.3f ms (p90 %.3f); %d beside another, thaw %.3f, invoke overhead %.3f (p90 %.3f, p99 %.3f); served directly one at a time: thaw %.3f, invoke overhead %.3f (p90 %.3f, p99 %.3f)",
                   alone.count, t.p50, v.p50, v.quantile(0.9), v.quantile(0.99), h.p50, h.quantile(0.9), beside.count, m[.thaw]!.beside.p50, vb.p50, vb.quantile(0.9),
                   vb.quantile(0.99), direct.thaw, direct.invoke, direct.spread?.p90 ?? .nan, direct.spread?.p99 ?? .nan))
        return true
    }

    /// Primitives `ps` as served: each one's median (through `value`, from the primitive and that median: the
    /// modeled value) and spread from `alone`, its contended spread from `beside` on the same footing; samples
    /// taken from the records as `timedSamples` takes them. Returns each one's summaries alone and beside.
    static func takeServed(_ ps: [RuntimeCosts.Timed], alone: [RequestRecord], beside: [RequestRecord], in costs: inout RuntimeCosts,
                           value: (RuntimeCosts.Timed, Double) -> Double = { $1 }) -> [RuntimeCosts.Timed: (alone: Summary, beside: Summary)] {
        func samples(_ rs: [RequestRecord]) -> [RuntimeCosts.Timed: [Double]] {
            var s = timedSamples(hits: CalibrationBench.ImportHits(rs), thawed: CalibrationBench.HandlerHits(rs), cold: [])
            s[.handoff] = rs.map { Double($0.queueNanos) / 1e6 } // served: arrival at the server to start on a core
            return s
        }
        let (a, b) = (samples(alone), samples(beside))
        var out: [RuntimeCosts.Timed: (alone: Summary, beside: Summary)] = [:]
        for p in ps {
            let (sa, sb) = (Summary(a[p]!), Summary(b[p]!))
            let v = value(p, sa.p50)
            costs[keyPath: p.keyPath] = v
            costs.spreads[p.name] = spread(a[p]!, value: v)
            costs.contendedSpreads[p.name] = CostSpread(samples: b[p]!).scaled(by: sa.p50 > 0 ? v / sa.p50 : 1)
            out[p] = (sa, sb)
        }
        return out
    }

    /// The import-hit primitives taken from import hits served over HTTP.
    static let servedImportTimed: Set<RuntimeCosts.Timed> = [.create, .fork, .invoke, .initOverhead]

    /// An import-cache hit's phases (container create, fork, the handler's init, the first invoke) as a served
    /// request pays them, among handler-cache hits over HTTP: the median and spread from those that started
    /// with no other request in flight, the contended spread from those that started beside another (the
    /// simulator's condition for each draw). Measured one at a time 50 ms apart, and with every core starting
    /// one at once, the spreads missed the real tails under load
    /// (micro-numpy at 30% of 2 cores, after the first burst, p90 real against simulated: fork 2.6 against 1.7
    /// ms, init 3.2 against 1.6, invoke 2.5 against 1.7): a process woken by a request (the standby child for
    /// the fork, the handler for its init and invoke) waits for a core that another request, the server's
    /// threads or the maintenance thread hold, which starts in lockstep do not show. Returns whether there were
    /// enough of both; if not, the figures served directly stay.
    static func useServedImportHits(alone: [RequestRecord], beside: [RequestRecord], zygoteGB: Double, in costs: inout RuntimeCosts,
                                    log: (String) -> Void) -> Bool {
        guard alone.count >= minimumServedHits, beside.count >= minimumServedHits else {
            log("import hits over HTTP: \(alone.count) alone, \(beside.count) beside others (\(minimumServedHits) of each needed): their phases as served directly")
            return false
        }
        let ps = RuntimeCosts.Timed.allCases.filter(servedImportTimed.contains)
        let before = ps.map { costs[keyPath: $0.keyPath] }
        // A fork's median less what the zygote's size adds (the fitted slope), as `fit` takes it.
        let sizeMillis = costs.forkPerGBMillis * zygoteGB
        let m = takeServed(ps, alone: alone, beside: beside, in: &costs) { p, median in p == .fork ? max(0, median - sizeMillis) : median }
        let parts = zip(ps, before).map { p, direct in
            let (a, b) = m[p]!
            return String(format: "%@ %.3f ms alone (p90 %.3f, p99 %.3f; served directly %.3f), beside another %.3f (p90 %.3f, p99 %.3f)", p.name, a.p50,
                          a.quantile(0.9), a.quantile(0.99), direct, b.p50, b.quantile(0.9), b.quantile(0.99))
        }
        log("import hits over HTTP: \(alone.count) alone, \(beside.count) beside another: " + parts.joined(separator: "; "))
        return true
    }

    /// The worker's off-path primitives, medians and spreads: the maintenance thread's time per standby child
    /// and a pooled cgroup's making one start at a time (work the simulator shares the cores with, so not
    /// timed with every core busy; those spreads are kept as the contended ones); a fork without a standby
    /// child and a child's time to be ready after it is asked for with a start per core back to back (their
    /// cgroup joins coming back to back, as in a burst of first requests: the simulator adds the join's wait
    /// after a quiet spell, `cgroup_attach_wait_ms`); a zygote build beyond its imports less that wait (the
    /// builds, 100 ms apart, each waited it); and the cgroup join's wait and window themselves.
    static func addOffPathCosts(_ s: CalibrationBench.Standbys, attaches: CalibrationBench.Attaches, builds: [Int64], cores: Int,
                                to costs: inout RuntimeCosts, log: (String) -> Void) {
        func ms(_ xs: [Int64], less offset: Double = 0) -> [Double] { xs.map { max(0, Double($0) / 1e6 - offset) } }
        costs.cgroupAttachWaitMillis = attaches.waitMillis
        costs.cgroupAttachWindowMillis = attaches.windowMillis
        let pairs: [(RuntimeCosts.Timed, [Double], [Int64]?)] = [
            (.standbyPrep, ms(s.alone.prep), s.contended.prep), (.standbyReady, ms(s.contended.ready), nil),
            (.cgroupCreate, ms(s.alone.cgroupCreate), s.contended.cgroupCreate), (.directFork, ms(s.contended.direct), nil),
            (.zygoteBuild, ms(builds, less: attaches.waitMillis), nil)]
        for (p, xs, contended) in pairs where !xs.isEmpty {
            let v = Summary(xs).p50
            costs[keyPath: p.keyPath] = v
            costs.spreads[p.name] = spread(xs, value: v)
            if cores > 1, let c = contended, !c.isEmpty { costs.contendedSpreads[p.name] = CostSpread(samples: ms(c)) }
        }
        log("a cgroup join (every controller) by the time since the last one: " + attaches.byGap.map { g in
            String(format: "%.0f ms apart %.3f ms", g.gapMillis, g.medianMillis) }.joined(separator: ", ")
            + String(format: "; after a quiet spell it waits %.3f ms more (cgroup_attach_wait_ms), up to %.0f ms apart it does not (cgroup_attach_window_ms)",
                     costs.cgroupAttachWaitMillis, costs.cgroupAttachWindowMillis))
        func alone(_ p: RuntimeCosts.Timed) -> String {
            let c = costs.contendedSpreads[p.name]
            return String(format: "%.3f ms alone (p90 %.3f), %.3f with %d at once (p90 %.3f)", costs[keyPath: p.keyPath], costs.spreads[p.name]?.p90 ?? .nan,
                          c?.median ?? .nan, cores, c?.p90 ?? .nan)
        }
        log("standby children: the maintenance thread's time each " + alone(.standbyPrep) + "; a pooled cgroup " + alone(.cgroupCreate)
            + String(format: "; with %d at once, a child ready %.3f ms after being asked for (p90 %.3f), a fork with no standby child %.3f ms (p90 %.3f; one at a time, its join after a quiet spell: %.3f) against %.3f from one",
                     cores, costs.standbyReadyMillis, costs.spreads["standby_ready_ms"]?.p90 ?? .nan, costs.directForkMillis,
                     costs.spreads["direct_fork_ms"]?.p90 ?? .nan, Summary(ms(s.alone.direct)).p50, costs.forkMillis))
        log(String(format: "a zygote build beyond its imports: %.3f ms (p90 %.3f) over %d builds, less the join's wait after a quiet spell (%.3f ms)",
                   costs.zygoteBuildMillis, costs.spreads["zygote_build_ms"]?.p90 ?? .nan, builds.count, costs.cgroupAttachWaitMillis))
    }

    /// Each drawn primitive's samples from a set of starts, ms, less what is not the primitive's own (the
    /// handler's work in an invoke, the container create in a cold start's create phase).
    static func timedSamples(hits: CalibrationBench.ImportHits, thawed: CalibrationBench.HandlerHits, cold: [Int64]) -> [RuntimeCosts.Timed: [Double]] {
        func ms(_ xs: [Int64], less offset: Double = 0) -> [Double] { xs.map { max(0, Double($0) / 1e6 - offset) } }
        return [.create: ms(hits.create), .fork: ms(hits.fork), .invoke: ms(hits.invoke, less: workMillis), .initOverhead: ms(hits.initialize, less: workMillis),
                .thaw: ms(thawed.thaw), .thawedInvoke: ms(thawed.invoke, less: workMillis), .interpreterStart: ms(cold, less: median(hits.create))]
    }

    /// A spread of raw samples on the footing of the fitted `value` (fork's intercept, an overhead clamped
    /// at 0): scaled so that its median is the value.
    static func spread(_ samples: [Double], value: Double) -> CostSpread {
        let s = CostSpread(samples: samples)
        var q = s.scaled(by: s.median > 0 ? value / s.median : 0).quantiles
        q[CostSpread.medianIndex] = value
        return CostSpread(quantiles: q)
    }

    /// The contended spreads, scaled as the spreads alone were (so a contended draw over the alone median is
    /// how much slower the primitive is with every core busy).
    func addContention(_ costs: inout RuntimeCosts, alone: [RuntimeCosts.Timed: [Double]], _ c: CalibrationBench.Contended,
                       keeping kept: Set<RuntimeCosts.Timed> = []) {
        costs.contentionCores = cores
        for (p, xs) in CalibrateJob.timedSamples(hits: c.hits, thawed: c.thawed, cold: c.cold) where !kept.contains(p) {
            let raw = CostSpread(samples: alone[p]!).median, value = costs[keyPath: p.keyPath]
            let s = CostSpread(samples: xs).scaled(by: raw > 0 ? value / raw : 1)
            costs.contendedSpreads[p.name] = s
            log(String(format: "%@: median %.3f ms alone, %.3f ms with %d at once (%+.0f%%); p90 %.3f and %.3f ms", p.name, value, s.median, cores,
                       value > 0 ? (s.median / value - 1) * 100 : 0.0, costs.spreads[p.name]?.p90 ?? .nan, s.p90))
        }
    }

    /// The cost model from the measurements: medians, and fork time as a + b × zygote GB through the small
    /// and the big zygote.
    func fit(hits: CalibrationBench.ImportHits, big: CalibrationBench.BigForks, thawed: CalibrationBench.HandlerHits,
             cold: CalibrationBench.ColdStarts, mirrorMBPerSecond: Double) -> RuntimeCosts {
        let median = CalibrateJob.median
        var costs = RuntimeCosts()
        costs.source = "pipsqueak calibrate"
        costs.containerCreateMillis = median(hits.create)
        let slope = big.zygoteGB > hits.zygoteGB ? max(0, (median(big.fork) - median(hits.fork)) / (big.zygoteGB - hits.zygoteGB)) : 0
        costs.forkPerGBMillis = slope
        costs.forkMillis = max(0, median(hits.fork) - slope * hits.zygoteGB)
        log(String(format: "fork and relocate: %.3f ms from a %.0f MB zygote, %.3f ms from a %.0f MB one", median(hits.fork), hits.zygoteGB * 1024,
                   median(big.fork), big.zygoteGB * 1024))
        // A just-thawed process answers more slowly than a fresh one (its caches are cold).
        costs.invokeOverheadMillis = max(0, median(hits.invoke) - CalibrateJob.workMillis)
        costs.thawedInvokeOverheadMillis = max(0, median(thawed.invoke) - CalibrateJob.workMillis)
        log(String(format: "invoke round trip with %.0f ms of work: %.3f ms on a fresh fork, %.3f ms just thawed", CalibrateJob.workMillis,
                   median(hits.invoke), median(thawed.invoke)))
        // The handler's init does work too (a handler's init work in a fresh fork costs more than its time).
        costs.initOverheadMillis = max(0, median(hits.initialize) - CalibrateJob.workMillis)
        costs.thawMillis = median(thawed.thaw)
        costs.freezeMillis = median(thawed.freeze)
        costs.interpreterStartMillis = max(0, median(cold.create) - costs.containerCreateMillis)
        costs.installOverheadMillis = median(cold.installs)
        costs.mirrorMBPerSecond = mirrorMBPerSecond
        for (p, xs) in CalibrateJob.timedSamples(hits: hits, thawed: thawed, cold: cold.create) {
            costs.spreads[p.name] = CalibrateJob.spread(xs, value: costs[keyPath: p.keyPath])
        }
        // Not drawn by the simulator, kept for the record.
        costs.spreads["freeze_ms"] = CalibrateJob.spread(thawed.freeze.map { Double($0) / 1e6 }, value: costs.freezeMillis)
        costs.spreads["install_overhead_ms"] = CalibrateJob.spread(cold.installs.map { Double($0) / 1e6 }, value: costs.installOverheadMillis)
        costs.interpreterMemoryMB = Bytes.mb(hits.rootMemoryBytes)
        // A cold container holds an interpreter; what it holds beyond the bare interpreter is the container's own.
        if let m = thawed.containerMemoryBytes { costs.containerMemoryMB = max(0, Bytes.mb(m - hits.rootMemoryBytes)) }
        return costs
    }
}

/// The calibration's workbench: a scratch directory with two synthetic wheels (a tiny package, and a 256 MB
/// ballast made by the one measurement that forks it), and real workers over them, one per measurement.
final class CalibrationBench {
    let repeats: Int
    /// Every worker is set up as `serve` sets one up for this many cores (standby children, cgroup pool,
    /// maintenance off the request path), so what is measured one at a time is what a served request pays.
    let cores: Int
    let python: PythonInterpreter
    let work: String
    /// The synthetic packages have import costs as the planner sees them (not what importing them takes): a
    /// zygote holding a package that saves nothing is never forked from, so without them every import hit
    /// came from the root zygote and imported the package itself (the 256 MB ballast too: `fork_per_gb_ms`
    /// came out 0). Import-cache hits are forks from the zygote holding the handler's packages, a child of
    /// the root; a handler forked from one has nothing left to import, and its init took 0.5 ms more than one
    /// forked from the root after importing the tiny package (1.71 against 1.22 ms, 40 hits 100 ms apart).
    let tiny = Package(name: "pipsqueak-calib", version: "1.0", topLevelModules: ["pipsqueak_calib"], installedBytes: 4096, importMillis: 1)
    let ballast = Package(name: "pipsqueak-ballast", version: "1.0", topLevelModules: ["pipsqueak_ballast"], installedBytes: 4096,
                          importMillis: 100, importMemoryBytes: 256 << 20)

    /// `tinyWheel` false: without the tiny calibration package's wheel (for `reinstall` alone, which installs
    /// real packages from the wheelhouse).
    init(repeats: Int, cores: Int, tinyWheel: Bool = true) throws {
        self.repeats = repeats
        self.cores = cores
        python = try PythonInterpreter.resolve()
        work = "/tmp/pipsqueak-calibrate-\(Sys.pid)"
        try? FileManager.default.removeItem(atPath: work)
        if tinyWheel { try makeWheel(tiny, code: "VALUE = 1\n") }
    }

    func remove() { try? FileManager.default.removeItem(atPath: work) }

    func makeWheel(_ p: Package, code: String) throws {
        let src = work + "/src-\(p.name)"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/wheelhouse", withIntermediateDirectories: true)
        try code.write(toFile: src + "/\(p.topLevelModules[0]).py", atomically: true, encoding: .utf8)
        let mk = try ChildProcess.run(python.executable, ["-S", try MeasureHelper.path(), "makewheel", work + "/wheelhouse", p.name, p.version, "", src],
                                      environment: PythonInterpreter.cleanEnvironment())
        guard mk.succeeded else { throw RuntimeError.python("cannot build the calibration wheel \(p.name): \(mk.lastErrorLine)") }
    }

    /// A worker serving one handler that imports `package`, under preset `all` changed by `edit`, set up as
    /// `serve` sets up one for `cores` cores (standbys, cgroup pool, maintenance off the request path).
    /// `held`: what each handler holds of its own (its `memory_mb`), bytes; none where not given.
    func worker(_ package: Package, handlers count: Int = 1, held: [Int64] = [], standbys: Int? = nil, _ edit: (inout PolicyConfig) -> Void) throws -> RuntimeWorker {
        let handlers = HandlerTable((0..<count).map { i in
            Handler(id: i == 0 ? "calib" : "calib-\(i)", customer: "c", packages: [package.name], initMillis: CalibrateJob.workMillis,
                    execMillis: CalibrateJob.workMillis, memoryBytes: i < held.count ? held[i] : 0)
        })
        var c = PolicyConfig.presets["all"]!
        edit(&c)
        let planner = try Planner(config: c, catalog: Catalog(packages: [package], handlers: handlers), popularPackages: [package.name])
        return try servingWorker(planner: planner, handlers: handlers, packages: [package], wheelhouse: work + "/wheelhouse",
                                 directory: "packages", standbys: standbys)
    }

    /// A worker over `packages` from `wheelhouse`, installing into `work/directory`, set up as `serve` sets one
    /// up for `cores` cores: `standbys` (default `cores`) standby children a zygote, a cgroup pool of at least
    /// `cores` + 1, maintenance off the request path with more than one core.
    func servingWorker(planner: Planner, handlers: HandlerTable, packages: [Package], wheelhouse: String, directory: String,
                       standbys: Int? = nil) throws -> RuntimeWorker {
        var o = RuntimeOptions(wheelhouse: wheelhouse)
        o.stateDirectory = work + "/state"; o.packageDirectory = work + "/" + directory
        o.standbysPerZygote = standbys ?? cores; o.cgroupPoolSize = max(o.cgroupPoolSize, cores + 1)
        let w = try RuntimeWorker(planner: planner, handlers: handlers, packages: Dictionary(packages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
                                  options: o, python: python)
        w.backgroundMaintenance = cores > 1
        return w
    }

    /// `repeats` rounds of `threads` requests started together on `w` (with `pause`, 50 ms between rounds);
    /// the records of `tier` (while several are in flight a few may start otherwise, as the planner decides).
    func serveConcurrently(_ w: RuntimeWorker, threads: Int, tier: Tier, pause: Bool = false) throws -> [RequestRecord] {
        let lock = NSLock()
        var out: [RequestRecord] = [], failure: String? = nil
        for _ in 0..<repeats {
            if pause { Sys.sleep(micros: 50_000) }
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
                lock.withLock { if !r.error.isEmpty { failure = r.error } else if r.tier == tier { out.append(r) } }
            }
        }
        if let f = failure { w.shutdown(); throw RuntimeError.unavailable("calibration request failed: \(f)") }
        guard out.count >= repeats else { w.shutdown(); throw RuntimeError.unavailable("only \(out.count) of \(threads * repeats) concurrent requests were \(tier) starts") }
        return out
    }

    struct Contended { var hits: ImportHits, thawed: HandlerHits, cold: [Int64] }

    /// Import-cache hits, handler-cache hits and cold starts, `threads` at a time.
    func contended(threads: Int) throws -> Contended {
        let imports = try worker(tiny) { $0.handlerCache.enabled = false; $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1 }
        // 50 ms between rounds: every start finds its standby child ready (running out of them is modeled
        // on its own, `standbys()`), so what is left is the cores' contention.
        let rs = try fromPackageZygote(serveConcurrently(imports, threads: threads, tier: .import, pause: true), "concurrent import hits", of: imports)
        imports.shutdown()
        let hits = ImportHits(rs)
        let paused = try worker(tiny) { $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        defer { paused.shutdown() }
        // One container per thread in the handler cache first.
        DispatchQueue.concurrentPerform(iterations: threads) { _ in _ = paused.serve(handler: 0, arrivalNanos: paused.now(), startNanos: paused.now()) }
        let th = try serveConcurrently(paused, threads: threads, tier: .handler, pause: true)
        let cold = try worker(tiny) { $0.handlerCache.enabled = false; $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        defer { cold.shutdown() }
        let cs = try serveConcurrently(cold, threads: threads, tier: .cold)
        return Contended(hits: hits, thawed: HandlerHits(th), cold: cs.map(\.createNanos))
    }

    /// `count` (default `repeats`) requests on `w`, each of `tier`; the worker is shut down if one fails.
    func serve(_ w: RuntimeWorker, tier: Tier, pause: Bool = false, count: Int? = nil) throws -> [RequestRecord] {
        var out: [RequestRecord] = []
        for _ in 0..<(count ?? repeats) {
            if pause { Sys.sleep(micros: 50_000) } // a frozen container waits between requests in a replay; its caches go cold
            let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
            guard r.error.isEmpty, r.tier == tier else { w.shutdown(); throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
            out.append(r)
        }
        return out
    }

    /// Import hits are timed from the zygote holding the handler's package, a child of the root, as the
    /// import cache serves them: throws when any came from the root (the planner chose otherwise), after
    /// shutting `worker` down (as `serve` does when a request fails).
    func fromPackageZygote(_ rs: [RequestRecord], _ what: String, of worker: RuntimeWorker? = nil) throws -> [RequestRecord] {
        let fromRoot = rs.filter { $0.tier == .import && ($0.zygote ?? 0) == 0 }.count
        guard fromRoot == 0 else {
            worker?.shutdown()
            throw RuntimeError.unavailable("calibration: \(fromRoot) of \(rs.count) \(what) forked from the root zygote, not from the one holding the package")
        }
        return rs
    }

    func interpreterStarts() throws -> [Int64] {
        try (0..<repeats).map { _ in try ChildProcess.run(python.executable, ["-S", "-c", "pass"], environment: PythonInterpreter.cleanEnvironment()).elapsedNanos }
    }

    struct ImportHits { var create: [Int64], fork: [Int64], invoke: [Int64], initialize: [Int64], rootMemoryBytes: Int64, zygoteGB: Double }

    /// Import-cache hits from the zygote holding the tiny package: create, fork and relocate, invoke, init.
    func importHits() throws -> ImportHits {
        let w = try worker(tiny) { $0.handlerCache.enabled = false; $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1 }
        defer { w.shutdown() }
        // 50 ms apart: the zygote's standby child is in its cgroup before each request comes (a start that
        // comes sooner waits for it, which `standbys()` measures).
        let rs = try fromPackageZygote(serve(w, tier: .import, pause: true), "import hits", of: w)
        let root = w.zygoteMemory(0) ?? 0
        // A zygote's size as the simulator counts it: the interpreter (root) plus what it imported itself.
        return ImportHits(rs, rootMemoryBytes: root, zygoteGB: Bytes.gb(root + (w.zygoteMemory(1) ?? 0)))
    }

    /// The worker's off-path work from one set of starts: the maintenance thread's time per standby child,
    /// a child's time to be ready after it is asked for, a pooled cgroup's making, and a fork with no standby
    /// child (ns).
    struct OffPath { var prep: [Int64], ready: [Int64], cgroupCreate: [Int64], direct: [Int64] }
    /// `alone`: one start at a time, 50 ms apart (the maintenance thread and the zygote alone on the cores);
    /// `contended`: a start per core back to back (every core busy, as in a burst of first requests).
    struct Standbys { var alone: OffPath, contended: OffPath }

    /// What giving zygotes standby children costs and what a start without one pays, measured twice: one
    /// start at a time, 50 ms apart (each taking a standby child the maintenance thread then replaces while
    /// nothing else runs), and rounds of a start per core, back to back (as in a burst of first requests) —
    /// each time the maintenance thread's time per child, how long a child takes to be ready after it is asked
    /// for, a pooled cgroup made again — then the same starts from a worker whose zygotes have no standby
    /// children (the zygote forks, the child joins its cgroup and makes its namespaces on the request's path).
    /// `CalibrateJob.addOffPathCosts` takes from each what the simulator needs (the maintenance thread's work
    /// alone, which it shares the cores with; the forks and readiness of the burst, whose cgroup joins come
    /// back to back).
    func standbys() throws -> Standbys {
        func offPath(threads: Int) throws -> OffPath {
            let pause = threads == 1 && cores > 1
            let what = pause ? "one at a time" : "\(threads) at once"
            let w = try worker(tiny) { $0.handlerCache.enabled = false; $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1 }
            _ = try fromPackageZygote(pause ? serve(w, tier: .import, pause: true) : serveConcurrently(w, threads: threads, tier: .import),
                                      "import hits with standby children, \(what)", of: w)
            w.settle()
            let st = w.maintenanceStats
            w.shutdown()
            let d = try worker(tiny, standbys: 0) { $0.handlerCache.enabled = false; $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1 }
            defer { d.shutdown() }
            let direct = try fromPackageZygote(pause ? serve(d, tier: .import, pause: true) : serveConcurrently(d, threads: threads, tier: .import),
                                               "import hits without standby children, \(what)", of: d)
            let sd = d.maintenanceStats
            guard st.standbyReadyNanos.count >= repeats / 2, sd.directForks >= repeats else {
                throw RuntimeError.unavailable("calibration, \(what): \(st.standbyReadyNanos.count) of \(repeats) starts used a standby child, \(sd.directForks) of \(repeats) forked without one")
            }
            return OffPath(prep: st.standbyPrepNanos, ready: st.standbyReadyNanos, cgroupCreate: st.cgroupCreateNanos + sd.cgroupCreateNanos,
                           direct: direct.map(\.forkNanos))
        }
        let alone = try offPath(threads: 1)
        return Standbys(alone: alone, contended: cores > 1 ? try offPath(threads: cores) : alone)
    }

    /// Gaps between cgroup joins, ms, at which `cgroupAttaches` times one (the last is taken as a join after a
    /// quiet spell).
    static let attachGaps: [Double] = [0, 5, 10, 20, 30, 50, 100]

    struct Attaches {
        /// Each gap's median join, ms.
        var byGap: [(gapMillis: Double, medianMillis: Double)]
        /// The cold join's wait beyond a back-to-back one, and the largest gap still cheap (the median join
        /// under half the wait beyond back to back), ms.
        var waitMillis: Double, windowMillis: Double
    }

    /// What a process's joining a cgroup costs as a function of the time since the last join: a sleeping
    /// process moved between two groups of ours (every controller the runtime uses), `repeats / 4` (at
    /// least 5) times at each of `attachGaps` ms apart. On cgroup v1 here the first join after a quiet spell
    /// waits for an RCU grace period (the lock that guards moving processes), later ones do not.
    func cgroupAttaches() throws -> Attaches {
        let cg = try Cgroups.detect()
        try cg.ensureParent()
        let groups = ["a", "b"].map { cg.group("calib-attach-\(Sys.pid)-\($0)") }
        var made: [Cgroup] = []
        defer { for g in made { try? g.destroy() }; cg.removeParent() }
        for g in groups { try g.create(memoryLimitBytes: 64 << 20, pidsLimit: 8); made.append(g) }
        let sleeper = try SpawnedProcess("/bin/sleep", ["600"])
        defer { sleeper.signal(SIGKILL); sleeper.wait(timeoutSeconds: 5) }
        let n = max(5, repeats / 4)
        var byGap: [(gapMillis: Double, medianMillis: Double)] = []
        var k = 0
        for gap in CalibrationBench.attachGaps {
            var xs: [Int64] = []
            for _ in 0..<n {
                if gap > 0 { Sys.sleep(micros: Int64(gap * 1000)) }
                k += 1
                let t0 = Sys.monotonicNanos()
                for f in groups[k % 2].procsFiles { try Sys.writeFile(f, String(sleeper.pid)) }
                xs.append(Sys.monotonicNanos() - t0)
            }
            byGap.append((gap, Summary(xs.map { Double($0) / 1e6 }).p50))
        }
        let medians = byGap.map(\.medianMillis)
        let warm = medians.first!, cold = medians.last!
        let wait = max(0, cold - warm)
        // The window: the gaps from the first on whose joins stay cheap.
        var window = 0.0
        for (g, m) in zip(CalibrationBench.attachGaps, medians) { if m < warm + wait / 2 { window = g } else { break } }
        return Attaches(byGap: byGap, waitMillis: wait, windowMillis: window)
    }

    /// Packages (each a tiny module of its own) whose zygotes `zygoteBuilds` builds one after another.
    static let buildPackages = 20

    /// Child zygotes built after start-up, one per tiny package: each one's time from the maintenance thread
    /// taking it up until its socket answers, less its own imports (the fork from its parent, joining its
    /// cgroup, its start as a zygote), ns. A worker of `buildPackages` handlers, each importing its own
    /// package, builds each one's zygote after its first request (threshold 1), 100 ms apart.
    func zygoteBuilds() throws -> [Int64] {
        let pkgs = (1...CalibrationBench.buildPackages).map { i in
            Package(name: "pipsqueak-calib-z\(i)", version: "1.0", topLevelModules: ["pipsqueak_calib_z\(i)"], installedBytes: 4096)
        }
        for p in pkgs { try makeWheel(p, code: "VALUE = 1\n") }
        let handlers = HandlerTable(pkgs.enumerated().map { i, p in
            Handler(id: "calib-z\(i + 1)", customer: "c", packages: [p.name], execMillis: CalibrateJob.workMillis)
        })
        var c = PolicyConfig.presets["all"]!
        c.handlerCache.enabled = false; c.importCache.threshold = 1; c.installCache.preinstallTop = pkgs.count
        let planner = try Planner(config: c, catalog: Catalog(packages: pkgs, handlers: handlers), popularPackages: pkgs.map(\.name))
        var o = RuntimeOptions(wheelhouse: work + "/wheelhouse")
        o.stateDirectory = work + "/state"; o.packageDirectory = work + "/packages"
        o.standbysPerZygote = cores; o.cgroupPoolSize = max(o.cgroupPoolSize, cores + 1)
        let w = try RuntimeWorker(planner: planner, handlers: handlers, packages: Dictionary(uniqueKeysWithValues: pkgs.map { ($0.name, $0) }),
                                  options: o, python: python)
        defer { w.shutdown() }
        w.backgroundMaintenance = cores > 1
        let before = w.maintenanceStats.zygoteBuilds.count
        for h in 0..<handlers.count {
            let r = w.serve(handler: Int32(h), arrivalNanos: w.now(), startNanos: w.now())
            guard r.error.isEmpty else { throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
            w.settle()
            Sys.sleep(micros: 100_000)
        }
        let builds = w.maintenanceStats.zygoteBuilds.dropFirst(before)
        guard builds.count >= handlers.count / 2 else {
            throw RuntimeError.unavailable("calibration: only \(builds.count) of \(handlers.count) zygotes were built")
        }
        return builds.map { max(0, $0.wall - $0.imports) }
    }

    struct BigForks { var fork: [Int64], zygoteGB: Double }

    /// Import-cache hits from a zygote holding 256 MB more: the cost of forking a big zygote.
    func bigZygoteForks() throws -> BigForks {
        // Made here, its one user (compare's hit probe makes a bench too and needs only the tiny package).
        try makeWheel(ballast, code: "B = bytearray(256 * 1024 * 1024)\nfor i in range(0, len(B), 4096):\n    B[i] = 1\n")
        let w = try worker(ballast) { $0.handlerCache.enabled = false; $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1 }
        defer { w.shutdown() }
        let rs = try fromPackageZygote(serve(w, tier: .import, pause: true), "import hits from the big zygote", of: w)
        return BigForks(fork: rs.map(\.forkNanos), zygoteGB: Bytes.gb((w.zygoteMemory(0) ?? 0) + (w.zygoteMemory(1) ?? 0)))
    }

    struct HandlerHits { var thaw: [Int64], freeze: [Int64], invoke: [Int64], containerMemoryBytes: Int64? }

    /// Requests per second of the dispatch measurement and the served import hits' stream: about 40% of 2 cores
    /// with the server's work (campaign K: 383 of 1000 hits started beside another).
    static let dispatchRate = 400.0
    /// Handlers the dispatch measurement cycles through, each with its paused container: as many as the
    /// microbenchmark's handlers, each waiting this many requests (250 ms) between its hits, as a replay's
    /// containers wait, so its caches go cold. (32 containers measured the just-thawed invoke overhead 0.22-0.25
    /// ms, 100 measured 0.27-0.28; in a micro workload's real run the time since a container's last use, 100 ms
    /// to over 1 s, did not change it: a container's own idle time is not modeled.)
    static let dispatchHandlers = 100

    /// Rounds of `dispatch`: each serves its share directly, then over HTTP.
    static let dispatchRounds = 5

    /// What serving handler-cache hits over HTTP costs: this process's CPU time per request, ms, and the hits
    /// as a served request pays them. `n` hits at `dispatchRate` per second served directly and `n` more over
    /// HTTP (the worker behind `WorkerServer` on loopback, an `OpenLoopClient` in this process, as `compare`
    /// runs them; arrivals Poisson), in `dispatchRounds` rounds of both one after the other: the dispatch is
    /// the median of the rounds' differences, so that the machine's speed moving during the measurement (one
    /// round of each measured 0.79 to 1.07 ms on one afternoon) moves both sides of a difference alike. The
    /// hits over HTTP split as the simulator conditions its draws: those that started with no other request
    /// in flight, and those that started beside another.
    struct Dispatch { var directMillis: Double, httpMillis: Double, dispatchMillis: Double, alone: [RequestRecord], beside: [RequestRecord] }

    func dispatch(requests n: Int) throws -> Dispatch {
        let k = CalibrationBench.dispatchHandlers
        let w = try worker(tiny, handlers: k) { $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        defer { w.shutdown() }
        try pauseEach(w, handlers: k)
        let (server, client, names) = try overHTTP(w, handlers: k)
        defer { server.stopAndWait() }
        defer { try? waitFor { await client.shutdown() } }
        let gap = Int64(1e6 / CalibrationBench.dispatchRate)
        let gaps = RandomSource(seed: 1).substream("calibrate-dispatch")
        let served = HTTPOutcomes()
        let rounds = CalibrationBench.dispatchRounds, per = max(1, n / rounds)
        var direct: [Double] = [], http: [Double] = []
        var i = 0
        for _ in 0..<rounds {
            var c0 = Sys.processCPUNanos()
            for _ in 0..<per {
                Sys.sleep(micros: gap)
                i += 1
                let r = w.serve(handler: Int32(i % k), arrivalNanos: w.now(), startNanos: w.now())
                guard r.error.isEmpty else { throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
            }
            direct.append(Double(Sys.processCPUNanos() - c0) / 1e6 / Double(per))
            let servedBefore = served.kept.count
            c0 = Sys.processCPUNanos()
            try openLoop(client, names: names, rate: CalibrationBench.dispatchRate, gaps: gaps, into: served) { j in
                guard j <= per else { return nil }
                i += 1
                return Int32(i % k)
            }
            // Per request served: one refused with the queue full (a few are tolerated) did not run a hit.
            http.append(Double(Sys.processCPUNanos() - c0) / 1e6 / Double(max(1, served.kept.count - servedBefore)))
        }
        try served.check(sent: rounds * per)
        // Request numbers start again each round: split the records themselves.
        let (alone, beside) = CalibrateJob.splitByStart(served.kept)
        return Dispatch(directMillis: Summary(direct).p50, httpMillis: Summary(http).p50, dispatchMillis: max(0, Summary(zip(http, direct).map { $0 - $1 }).p50),
                        alone: alone.filter { $0.tier == .handler }, beside: beside.filter { $0.tier == .handler })
    }

    /// `w` behind a `WorkerServer` on loopback, set up as `serve` sets one up for `cores` cores (queue bound
    /// 64), its first `count` handlers registered by name; and an open-loop client of it. The caller stops both.
    func overHTTP(_ w: RuntimeWorker, handlers count: Int) throws -> (server: WorkerServer, client: OpenLoopClient, names: [String]) {
        let registry = HandlerRegistry(root: "/nonexistent", worker: w)
        let names = (0..<count).map { w.handlers[Int32($0)].id }
        for (h, name) in names.enumerated() { registry.preregister(name, id: Int32(h)) }
        var o = ServeOptions()
        o.port = 0; o.cores = cores; o.queueLimit = CalibrationBench.servedQueueLimit
        let server = WorkerServer(worker: w, registry: registry, options: o)
        let port = try server.startInBackground()
        do { return (server, try OpenLoopClient(baseURL: "http://127.0.0.1:\(port)"), names) } catch { server.stopAndWait(); throw error }
    }

    /// A paused container for each of `w`'s first `count` handlers (each served once; the handler cache keeps it),
    /// so that every later request to them is a hit; then the worker's maintenance after them is done.
    func pauseEach(_ w: RuntimeWorker, handlers count: Int) throws {
        for h in 0..<count {
            let r = w.serve(handler: Int32(h), arrivalNanos: w.now(), startNanos: w.now())
            guard r.error.isEmpty else { throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
        }
        w.settle()
    }

    /// Requests over HTTP from `client`, open loop, arrivals Poisson at `rate` per second drawn from `gaps`:
    /// `handler(i)` gives the `i`-th one's handler (from 1; nil ends the stream); outcomes go to `served`.
    /// Returns how many were sent.
    @discardableResult
    func openLoop(_ client: OpenLoopClient, names: [String], rate: Double, gaps: RandomSource, into served: HTTPOutcomes,
                  handler: @escaping (Int) -> Int32?) throws -> Int {
        var (sent, t) = (0, 0.0)
        try waitFor {
            try await client.replay(names: names, speed: 1, next: {
                guard let h = handler(sent + 1) else { return nil }
                sent += 1
                t += gaps.exponential(mean: 1 / rate)
                return Invocation(arrivalNanos: Int64(t * 1e9), handler: h)
            }, onOutcome: served.take)
        }
        return sent
    }

    /// One request in this many of `servedImportHits`' stream is an import hit: 8 per second, so that the
    /// maintenance after one (its standby child replaced, 10-12 ms) is seldom still running when the next
    /// comes. One in 10 (40 per second) had half of them start beside the previous one's maintenance, and the
    /// simulator, which counts the maintenance thread as a busy core of its own, then overshot the real forks
    /// (micro-numpy at 30% after the first burst, fork p90 12.1 ms simulated against 4.7 real).
    static let importHitEvery = 50

    /// Import-cache hits served over HTTP among handler-cache hits, as a worker under load serves them: an
    /// open loop at `dispatchRate` per second (Poisson) where one request in `importHitEvery` is the first of
    /// a handler not seen before (an import hit from the zygote holding the tiny package, which the handler
    /// cache then keeps paused) and the rest are hits on `dispatchHandlers` paused containers. Returns the
    /// import hits that started with no other request in flight, those that started beside another, and how
    /// many requests of the stream were refused with the queue full (more than one in 10 throws).
    func servedImportHits(count n: Int) throws -> (alone: [RequestRecord], beside: [RequestRecord], refused: Int) {
        let k = CalibrationBench.dispatchHandlers, every = CalibrationBench.importHitEvery
        let w = try worker(tiny, handlers: k + n) { $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1 }
        defer { w.shutdown() }
        try pauseEach(w, handlers: k)
        let (server, client, names) = try overHTTP(w, handlers: k + n)
        defer { server.stopAndWait() }
        defer { try? waitFor { await client.shutdown() } }
        let served = HTTPOutcomes()
        var fresh = k
        let sent = try openLoop(client, names: names, rate: CalibrationBench.dispatchRate,
                                gaps: RandomSource(seed: 1).substream("calibrate-import-hits"), into: served) { i in
            guard fresh < k + n else { return nil }
            if i % every == 0 { fresh += 1; return Int32(fresh - 1) }
            return Int32(i % k)
        }
        try served.check(sent: sent)
        let all = served.kept
        _ = try fromPackageZygote(all.filter { $0.tier == .import }, "import hits over HTTP")
        // Alone: no request of any tier in flight when it started, as the simulator conditions its draws (among
        // 400 requests a second hardly any import hit overlaps nothing for its whole run: 18 of 400 did).
        let (alone, beside) = CalibrateJob.splitByStart(all)
        return (alone.filter { $0.tier == .import }, beside.filter { $0.tier == .import }, served.refused)
    }

    /// Outcomes from the client's threads: served records kept, arrivals refused with the queue full (503: a
    /// machine busy with something else) counted, other failures counted with the first one's error kept.
    final class HTTPOutcomes: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var count = 0, first: String?, refused = 0
        private var records: [RequestRecord] = []
        @Sendable func take(_ o: OpenLoopClient.Outcome) {
            lock.withLock {
                if o.status == 200 { records.append(o.record) } else if o.status == 503 { refused += 1 } else {
                    count += 1
                    if first == nil { first = o.record.error }
                }
            }
        }
        var kept: [RequestRecord] { lock.withLock { records } }
        /// Throws on any failure, or when more than one in 10 of the `sent` requests were refused (a few refused
        /// leave the rest to measure; many mean no measure).
        func check(sent: Int) throws {
            if let e = first { throw RuntimeError.unavailable("calibration request over HTTP failed (\(count) of \(sent)): \(e)") }
            guard refused * 10 <= sent else {
                throw RuntimeError.unavailable("calibration: \(refused) of \(sent) requests over HTTP were refused with the worker's queue full: the machine is too busy to calibrate")
            }
        }
    }

    /// Handler-cache hits: thaw, the freeze after each, the invoke of a just-thawed process, and a paused
    /// container's memory.
    func handlerHits() throws -> HandlerHits {
        let w = try worker(tiny) { $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        defer { w.shutdown() }
        w.lifecycle.keepsOutcomes = true
        _ = w.serve(handler: 0, arrivalNanos: 0, startNanos: 0)
        var freeze: [Int64] = []
        var rs: [RequestRecord] = []
        for _ in 0..<repeats {
            rs += try serve(w, tier: .handler, pause: true, count: 1)
            freeze.append(w.lastFreezeNanos)
        }
        var memory: Int64?
        if case .container(_, let bytes, _)? = w.lifecycle.outcomes.last { memory = bytes }
        return HandlerHits(thaw: rs.map(\.createNanos), freeze: freeze, invoke: rs.map(\.execNanos), containerMemoryBytes: memory)
    }

    struct ColdStarts { var create: [Int64], installs: [Int64] }

    /// Cold starts (interpreter start and relocation into a container), then `installs` sandboxed pip installs.
    func coldStartsAndInstalls(installs n: Int) throws -> ColdStarts {
        let w = try worker(tiny) { $0.handlerCache.enabled = false; $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        defer { w.shutdown() }
        let rs = try serve(w, tier: .cold)
        var installs: [Int64] = []
        for _ in 0..<n {
            let (staged, _) = try w.store.download(tiny)
            installs.append(try w.store.install(tiny, wheel: staged, python: python))
        }
        return ColdStarts(create: rs.map(\.createNanos), installs: installs)
    }

    /// The size of the file at `path`, bytes (0 when it cannot be read).
    static func fileBytes(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Wheels of the wheelhouse `mirror` fetches as the worker does, at most (spread over their sizes).
    static let mirrorWheels = 9

    /// What the worker's fetch of a wheel from the mirror costs: `store.download` (finding the wheel in the
    /// wheelhouse, a staging folder, the copy), timed on up to `mirrorWheels` wheels of `wheelhouse` spread
    /// from the smallest to the biggest (the median of 3 fetches each), fitted as a fixed cost per wheel plus
    /// bytes over a throughput (least squares). Before, a download was the bytes alone at the throughput of
    /// copying the biggest wheel, and the worker's fetches took 2 to 80 times that (campaign N: 2.3 ms against
    /// 0.03 for a small wheel). With fewer than 3 wheels, or sizes too alike to fit, the bytes alone at
    /// `mirrorThroughput`'s figure, as `source` says.
    func mirror(wheelhouse: String) throws -> (overheadMillis: Double, mbps: Double, source: String) {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []).filter { $0.hasSuffix(".whl") }
        var sized: [(file: String, bytes: Int64)] = []
        for f in files { let b = CalibrationBench.fileBytes(wheelhouse + "/" + f); if b > 0 { sized.append((f, b)) } }
        sized.sort { $0.bytes != $1.bytes ? $0.bytes < $1.bytes : $0.file < $1.file }
        var pkgs: [(package: Package, bytes: Int64)] = []
        // A wheel's file name: NAME-VERSION-...whl (PEP 427), which the worker's lookup matches.
        for (f, bytes) in CalibrationBench.byRank(sized, CalibrationBench.mirrorWheels) {
            let parts = f.split(separator: "-")
            if parts.count >= 3 { pkgs.append((Package(name: String(parts[0]), version: String(parts[1])), bytes)) }
        }
        guard pkgs.count >= 3, Set(pkgs.map { $0.bytes }).count >= 3 else {
            let m = mirrorThroughput(wheelhouse: wheelhouse)
            return (0, m.mbps, m.source + "; no fixed cost a wheel: fewer than 3 wheels of different sizes in \(wheelhouse)")
        }
        let w = try storeWorker(pkgs.map { $0.package }, wheelhouse: wheelhouse, directory: "mirror-probe")
        defer { w.shutdown(); try? FileManager.default.removeItem(atPath: work + "/mirror-probe") }
        var xs: [Double] = [], ys: [Double] = [], unread: [String] = []
        for (p, bytes) in pkgs {
            // A file the worker's lookup does not take for this name and version is left out, not fatal.
            let m = CalibrationBench.medianOf3 { () -> Double? in
                guard let (staged, ns) = try? w.store.download(p) else { return nil }
                try? FileManager.default.removeItem(atPath: (staged as NSString).deletingLastPathComponent)
                return Nanos.millis(ns)
            }
            if let m { xs.append(Bytes.mb(bytes)); ys.append(m) } else { unread.append(p.name) }
        }
        let skipped = unread.isEmpty ? "" : " (left out, the worker could not fetch them: \(unread.joined(separator: ", ")))"
        guard xs.count >= 3 else {
            let m = mirrorThroughput(wheelhouse: wheelhouse)
            return (0, m.mbps, m.source + "; no fixed cost a wheel: fewer than 3 wheels the worker could fetch" + skipped)
        }
        guard let (intercept, slope) = CalibrationBench.line(xs, ys), slope > 0 else { // slope: ms per MB
            let m = mirrorThroughput(wheelhouse: wheelhouse)
            return (0, m.mbps, m.source + "; no fixed cost a wheel: the fetches of \(xs.count) wheels did not grow with their size" + skipped)
        }
        let overhead = max(0, intercept)
        return (overhead, 1000 / slope, String(format: "the worker's fetch of %d wheels of %@ from %.2f to %.1f MB, median of 3 each, fitted: the smallest took %.3f ms, the biggest %.1f ms", xs.count, wheelhouse, xs.first!, xs.last!, ys.first!, ys.last!) + skipped)
    }

    /// `k` of `sorted` spread evenly by rank, its first and last among them (all of them when it holds no more
    /// than `k`; with `k` 1, the first).
    static func byRank<T>(_ sorted: [T], _ k: Int) -> [T] {
        let k = min(k, sorted.count)
        return (0..<k).map { sorted[k == 1 ? 0 : $0 * (sorted.count - 1) / (k - 1)] }
    }

    /// The median of 3 timings by `once` (ms); nil as soon as one fails.
    static func medianOf3(_ once: () -> Double?) -> Double? {
        var ms: [Double] = []
        for _ in 0..<3 { guard let x = once() else { return nil }; ms.append(x) }
        return Summary(ms).p50
    }

    /// The weighted least-squares line through (xs, ys) (`weights`: one per point; none: all 1): its intercept
    /// and slope; nil with fewer than 2 points, xs all alike, or a weight not positive.
    static func line(_ xs: [Double], _ ys: [Double], weights: [Double]? = nil) -> (intercept: Double, slope: Double)? {
        let w = weights ?? Array(repeating: 1, count: xs.count)
        guard xs.count == ys.count, w.count == xs.count, xs.count >= 2, w.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        let sw = w.reduce(0, +)
        let mx = zip(w, xs).reduce(0) { $0 + $1.0 * $1.1 } / sw, my = zip(w, ys).reduce(0) { $0 + $1.0 * $1.1 } / sw
        var sxy = 0.0, sxx = 0.0
        for i in xs.indices { sxy += w[i] * (xs[i] - mx) * (ys[i] - my); sxx += w[i] * (xs[i] - mx) * (xs[i] - mx) }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        return slope.isFinite ? (my - slope * mx, slope) : nil
    }

    /// The line through (xs, ys) with the least squared relative errors (each residual over its y): the
    /// install fit's. Unweighted, the few costly packages set the intercept and the many small ones, which
    /// are mostly intercept (the table's median install_ms is 44 ms), came out 21% short at their median, up to 31%
    /// (here: 375 ms + 1.55× against 510-585 ms measured for the five under 180 ms in the table; relative:
    /// 478 + 1.32×, 10% at their median).
    static func relativeLine(_ xs: [Double], _ ys: [Double]) -> (intercept: Double, slope: Double)? {
        guard ys.allSatisfy({ $0 > 0 }) else { return nil }
        return line(xs, ys, weights: ys.map { 1 / ($0 * $0) })
    }

    /// A worker over `packages` from `wheelhouse`, installing into `work/directory`, with no cache to serve
    /// anything: its store fetches and installs as the worker's requests do (`mirror`, `installs`).
    func storeWorker(_ packages: [Package], wheelhouse: String, directory: String) throws -> RuntimeWorker {
        let handlers = HandlerTable([Handler(id: "store", customer: "c", packages: packages.map(\.name), execMillis: CalibrateJob.workMillis)])
        var c = PolicyConfig.presets["all"]!
        c.handlerCache.enabled = false; c.importCache.enabled = false
        let planner = try Planner(config: c, catalog: Catalog(packages: packages, handlers: handlers), popularPackages: [])
        var o = RuntimeOptions(wheelhouse: wheelhouse)
        o.stateDirectory = work + "/state"; o.packageDirectory = work + "/" + directory
        return try RuntimeWorker(planner: planner, handlers: handlers, packages: Dictionary(packages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
                                 options: o, python: python)
    }

    /// Packages of the table `installs` installs as the worker does, at most: spread by rank over their
    /// install_ms, and the `installCostliest` costliest.
    static let installPackages = 9
    static let installCostliest = 3

    /// The packages `installs` fits over: of the table's measured packages (those whose wheels `wheelhouse`
    /// holds, unless `everyPackage`), ranked by install_ms, `installPackages` spread by rank (the intercept) and
    /// the `installCostliest` costliest (one costly package alone sets the slope: pandas installed at 1.3 times
    /// its table figure while numpy and fonttools took 0.87, 2026-12-03).
    static func installPicks(_ table: PackageTable, wheelhouse: String, everyPackage: Bool) -> [Package] {
        let files = everyPackage ? [] : (try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []
        let held = table.names.compactMap { table[$0] }
            .filter { !$0.estimated && (everyPackage || PackageStore.wheel(name: $0.name, version: $0.version, in: wheelhouse, files: files) != nil) }
            .sorted { $0.installMillis != $1.installMillis ? $0.installMillis < $1.installMillis : $0.name < $1.name }
        let top = Array(held.suffix(installCostliest))
        return byRank(Array(held.dropLast(top.count)), installPackages - top.count) + top
    }

    /// Packages whose imports `importsAgain` times again, and its rounds of each.
    static let retimedImports = 12
    static let retimeRounds = 7

    /// The packages whose imports `importsAgain` times, heaviest first, `count` of them: with `handlers` (a
    /// trace's), each package's import_ms × how many of them need it (itself or as a dependency: a handler's
    /// imports are paid at its cold starts, not at its handler-cache hits), only those some handler needs;
    /// without, the table's costliest imports. Only packages whose wheels the wheelhouse holds with their
    /// dependencies' (all with `everyPackage`).
    static func retimePicks(_ table: PackageTable, wheelhouse: String, everyPackage: Bool, handlers: [Handler]? = nil,
                            count: Int = retimedImports) -> [Package] {
        weighedImports(table, wheelhouse: wheelhouse, everyPackage: everyPackage, handlers: handlers, count: count)
    }

    /// `count` packages of `table` with an import cost, heaviest first: import_ms, × how many of `handlers` need
    /// it when given (none needing it: left out); only those whose wheels the wheelhouse holds with their
    /// dependencies' (all with `everyPackage`). `importPicks` and `retimePicks`.
    static func weighedImports(_ table: PackageTable, wheelhouse: String, everyPackage: Bool, handlers: [Handler]? = nil, count: Int) -> [Package] {
        let files = everyPackage ? [] : (try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []
        func held(_ p: Package) -> Bool { everyPackage || PackageStore.wheel(name: p.name, version: p.version, in: wheelhouse, files: files) != nil }
        var needers: [String: Int]? = nil
        if let handlers {
            var n: [String: Int] = [:]
            for h in handlers {
                for p in table.closure(of: h.packages) { n[p, default: 0] += 1 }
            }
            needers = n
        }
        func weight(_ p: Package) -> Double { p.importMillis * Double(needers.map { $0[p.name, default: 0] } ?? 1) }
        return table.names.compactMap { table[$0] }
            .filter { p in !p.estimated && p.importMillis > 0 && weight(p) > 0 && held(p) && p.transitiveDependencies.allSatisfy { table[$0].map(held) ?? false } }
            .sorted { weight($0) != weight($1) ? weight($0) > weight($1) : $0.name < $1.name }
            .prefix(count).map { $0 }
    }

    /// The imports of `retimePicks` timed again as `measure` times them (a fresh interpreter, the package's
    /// dependencies imported first), `retimeRounds` rounds each: the median of each, ms by name (the runtime
    /// cost file's `imported_ms:NAME` rows, charged instead of the table's `import_ms`), and a line saying
    /// what was timed. A package that cannot be installed or imported here is left out (and named).
    func importsAgain(table: PackageTable, packagesPath: String, wheelhouse: String, everyPackage: Bool, handlers: [Handler]?) -> (timed: [String: Double], text: String) {
        let picks = CalibrationBench.retimePicks(table, wheelhouse: wheelhouse, everyPackage: everyPackage, handlers: handlers)
        guard !picks.isEmpty else { return ([:], "none timed: no package of the table with an import cost has its and its dependencies' wheels in \(wheelhouse)") }
        let m: PackageMeasurer
        do { m = try measurer(packagesPath: packagesPath, wheelhouse: wheelhouse, everyPackage: everyPackage, repeats: CalibrationBench.retimeRounds) } catch {
            return ([:], "none timed: \(error)")
        }
        var timed: [String: Double] = [:], parts: [String] = [], failed: [String] = []
        for p in picks {
            guard let r = try? m.retimeImports([p.name], of: table).first, r.now > 0 else { failed.append(p.name); continue }
            timed[p.name] = r.now
            parts.append(String(format: "%@ %.1f (%.1f in the table)", p.name, r.now, r.then))
        }
        let now = timed.values.reduce(0, +), then = picks.filter { timed[$0.name] != nil }.reduce(0) { $0 + $1.importMillis }
        let text = String(format: "%d packages, %d rounds each (median), %.0f ms against %.0f in the table (× %.2f): ", timed.count, CalibrationBench.retimeRounds, now, then, then > 0 ? now / then : 1)
            + parts.joined(separator: ", ") + (failed.isEmpty ? "" : "; left out (could not be installed or imported here): " + failed.joined(separator: ", "))
        return (timed, text)
    }

    /// Packages whose imports are timed alone and at once (`importContention`).
    static let importContentionPackages = 3
    static let importContentionRounds = 8

    /// The `importContentionPackages` of the table with the costliest imports whose own and dependencies' wheels
    /// `wheelhouse` holds (every measured package when `everyPackage`), costliest first.
    static func importPicks(_ table: PackageTable, wheelhouse: String, everyPackage: Bool, count: Int = importContentionPackages) -> [Package] {
        weighedImports(table, wheelhouse: wheelhouse, everyPackage: everyPackage, count: count)
    }

    /// The imports of the packages that weigh most in the trace (`retimePicks` over `handlers`, the first
    /// `importContentionPackages`; without a trace the table's costliest, `importPicks`) as the worker serves
    /// them: each a request forked from the root zygote that imports the package (its dependencies first) in
    /// its container, `importContentionRounds` rounds of one alone, then `together` at once, 50 ms apart (the
    /// root's standby children back in their groups). A package's figure at once is the mean of every import
    /// started together, the slower as much as the faster: two numpy imports started together here took 60 and
    /// 88-103 ms against 60-65 alone (2026-12-05), which the median of all of them (the measure before, over three
    /// other packages' own imports in fresh interpreters) put at 1.0. nil when the wheelhouse holds none of
    /// them, no worker could serve them, or a request failed (and why).
    func importContention(table: PackageTable, wheelhouse: String, everyPackage: Bool, handlers: [Handler]?, together: Int)
        -> (contention: Contention?, why: String) {
        let picks = handlers == nil ? CalibrationBench.importPicks(table, wheelhouse: wheelhouse, everyPackage: everyPackage)
            : Array(CalibrationBench.retimePicks(table, wheelhouse: wheelhouse, everyPackage: everyPackage, handlers: handlers).prefix(CalibrationBench.importContentionPackages))
        guard !picks.isEmpty else { return (nil, "no package \(handlers == nil ? "of the table" : "the trace needs") with an import cost has its and its dependencies' wheels in \(wheelhouse)") }
        let w: RuntimeWorker
        do { w = try rootImportWorker(picks.map { [$0] }, table: table, wheelhouse: wheelhouse, directory: "contended-imports") } catch {
            return (nil, "no worker to serve them: \(error)")
        }
        // Its install cache removed and written back now, minutes before the calibration ends (`removeTimedInstalls`).
        defer { w.shutdown(); try? FileManager.default.removeItem(atPath: work + "/contended-imports"); Sys.syncFileSystems() }
        var each: [(name: String, alone: Double, together: Double)] = []
        for (k, p) in picks.enumerated() {
            var alone: [Double] = [], at: [Double] = [], failure: String? = nil
            // A request's import, ms, or why it is not one (a failure, or not a fork from the root).
            func serveOne() -> Result<Double, RuntimeError> {
                let r = w.serve(handler: Int32(k), arrivalNanos: w.now(), startNanos: w.now())
                guard r.error.isEmpty, r.tier == .import, (r.zygote ?? 0) == 0 else {
                    return .failure(.unavailable(r.error.isEmpty ? "a request for \(p.name) was a \(r.tier) start, not a fork from the root" : "serving \(p.name) failed: \(r.error)"))
                }
                return .success(Double(r.importNanos) / 1e6)
            }
            Sys.sleep(micros: 50_000)
            if case .failure(let e) = serveOne() { failure = "\(e)" } // the files read once, untimed
            for _ in 0..<CalibrationBench.importContentionRounds where failure == nil {
                Sys.sleep(micros: 50_000)
                switch serveOne() { case .success(let m): alone.append(m); case .failure(let e): failure = "\(e)" }
                Sys.sleep(micros: 50_000)
                for r in atOnce(together, { _ in serveOne() }) {
                    switch r { case .success(let m): at.append(m); case .failure(let e): failure = "\(e)" }
                }
            }
            if let failure { return (nil, failure) }
            guard !alone.isEmpty, !at.isEmpty else { continue }
            each.append((p.name, Summary(alone).p50, at.reduce(0, +) / Double(at.count)))
        }
        guard let c = Contention(each) else { return (nil, "none of \(picks.map(\.name).joined(separator: ", ")) could be timed") }
        return (c, "")
    }

    /// `measure`'s machinery over the table at `packagesPath` (its cache of installed packages), offline
    /// unless `everyPackage` (`--online`).
    func measurer(packagesPath: String, wheelhouse: String, everyPackage: Bool, repeats: Int? = nil) throws -> PackageMeasurer {
        var o = MeasureOptions(wheelhouse: wheelhouse)
        o.output = packagesPath; o.offline = !everyPackage
        if let repeats { o.repeats = repeats }
        return try PackageMeasurer(options: o, log: { _ in })
    }

    /// Sets of packages imported together for `importOverlapCredit`, and packages in each (with their
    /// dependencies): the costliest imports with wheels, in turn.
    static let overlapSets = 3
    static let overlapSetPackages = 3
    static let overlapRepeats = 7

    /// What importing several packages together saves of the sum of their own imports, against what the
    /// import overlap (`ImportOverlap`, beside `packagesPath`) says it saves: `overlapSets` sets of the table's
    /// costliest imports with wheels (`overlapSetPackages` each, their dependencies too) imported together in
    /// a fresh interpreter after the worker's own modules, as a handler imports them, against the sum of every
    /// one of those packages' own imports timed in the same rounds (as `measure` times them), `overlapRepeats`
    /// rounds (medians); what the overlap says it saves is the table's figure at this moment's speed (the
    /// set's own imports summed over the table's). The share kept pools the sets: their savings summed over
    /// what the overlap says they save summed, within 0...1 (a set whose overlap saves little weighs little:
    /// its share is a small difference of two noisy sums). Stop 41's version took the sum from the table at
    /// a speed timed on 3 other packages and the median of the sets' shares: 0.36, 0.76 and 0.35 in three
    /// calibrations, one set 0.18 then 0.93. nil (and why) without an overlap file, or with no set whose
    /// wheels the wheelhouse holds.
    ///
    /// `served` (nil, and why, when the sets could not be served): the same sets served by a worker in the same
    /// rounds (`rootImportWorker`: each a fork from the root zygote that imports the whole set in its
    /// container), their imports summed over the fresh interpreter's (medians): `served_import_scale`.
    func importOverlapCredit(table: PackageTable, packagesPath: String, wheelhouse: String, everyPackage: Bool, log: (String) -> Void = { _ in })
        -> (credit: Double?, text: String, served: Double?, servedText: String) {
        let overlap: ImportOverlap?
        do { overlap = try ImportOverlap.beside(packagesPath: packagesPath) } catch { return (nil, "\(error)", nil, "\(error)") }
        guard let overlap else { return (nil, "no import overlap beside \(packagesPath): nothing credited", nil, "no import overlap beside \(packagesPath): no sets picked") }
        let picks = CalibrationBench.importPicks(table, wheelhouse: wheelhouse, everyPackage: everyPackage,
                                                 count: CalibrationBench.overlapSets * CalibrationBench.overlapSetPackages)
        let sets = stride(from: 0, to: picks.count, by: CalibrationBench.overlapSetPackages)
            .map { Array(picks[$0..<min(picks.count, $0 + CalibrationBench.overlapSetPackages)]) }.filter { $0.count > 1 }
        guard !sets.isEmpty else {
            let why = "fewer than 2 packages of the table with an import cost have their and their dependencies' wheels in \(wheelhouse)"
            return (nil, why, nil, why)
        }
        let catalog = Catalog(packages: table.names.compactMap { table[$0] }, handlers: HandlerTable(), overlap: overlap)
        var shares: [Double] = [], saved = 0.0, credited = 0.0, parts: [String] = []
        // The worker serving the sets (none: `servedWhy` says why; a failed request ends the serving, not the rest).
        var server: RuntimeWorker? = nil, servedWhy = ""
        do {
            log("  installing the sets' packages into a worker's install cache, untimed")
            server = try rootImportWorker(sets, table: table, wheelhouse: wheelhouse)
        } catch { servedWhy = "no worker to serve the sets: \(error)" }
        // Its install cache (thousands of files) removed and written back now, minutes before the calibration
        // ends, so that no install timed soon after (compare's) skips its freed inodes (`removeTimedInstalls`).
        defer { server?.shutdown(); Sys.syncFileSystems() }
        var served: [(set: String, served: Double, fresh: Double)] = []
        do {
            let m = try measurer(packagesPath: packagesPath, wheelhouse: wheelhouse, everyPackage: everyPackage)
            for (k, set) in sets.enumerated() {
                let order = catalog.dependencyOrder(set.compactMap { catalog.id(of: $0.name) })
                var imports: [Double] = []
                let timed = try m.combinedImport(set.map(\.name), of: table, preload: overlap.preloaded, repeats: CalibrationBench.overlapRepeats) {
                    guard let w = server else { return }
                    Sys.sleep(micros: 50_000) // the root's standby child back in its cgroup
                    let r = w.serve(handler: Int32(k), arrivalNanos: w.now(), startNanos: w.now())
                    if !r.error.isEmpty || r.tier != .import || (r.zygote ?? 0) != 0 {
                        servedWhy = r.error.isEmpty ? "a request for \(set.map(\.name).joined(separator: "+")) was a \(r.tier) start (zygote \(r.zygote.map(String.init) ?? "none")), not a fork from the root" : "serving \(set.map(\.name).joined(separator: "+")) failed: \(r.error)"
                        w.shutdown(); server = nil
                        return
                    }
                    imports.append(Double(r.importNanos) / 1e6)
                }
                if server != nil, !imports.isEmpty { served.append((set.map(\.name).joined(separator: "+"), Summary(imports).p50, timed.together)) }
                // The packages timed both ways (one that failed to import is in neither).
                let both = order.filter { timed.own[catalog.packages[Int($0)].name] != nil }
                let inTable = Double(both.reduce(0) { $0 + catalog.importNanos[Int($1)] }) / 1e6
                let sum = both.reduce(0.0) { $0 + timed.own[catalog.packages[Int($1)].name]! }
                guard inTable > 0 else { continue }
                let speed = sum / inTable
                let overlapSaves = (inTable - Double(catalog.importNanos(both, on: nil)) / 1e6) * speed
                guard overlapSaves > 1 else { continue }
                shares.append((sum - timed.together) / overlapSaves)
                saved += sum - timed.together; credited += overlapSaves
                parts.append(String(format: "%@ (%d packages with their dependencies): %.0f ms together, %.0f their own imports summed (%.2f × the table's), %.0f less the overlap",
                                    set.map(\.name).joined(separator: "+"), both.count, timed.together, sum, speed, sum - overlapSaves))
            }
        } catch {
            return (nil, "\(error)", nil, "\(error)")
        }
        var scale: Double? = nil, servedText = servedWhy
        if server != nil, !served.isEmpty {
            let s = served.reduce(0) { $0 + $1.served }, f = served.reduce(0) { $0 + $1.fresh }
            if f > 0 {
                scale = s / f
                servedText = String(format: "%.3f (pooled: %.0f ms served over %.0f in a fresh interpreter; %d rounds, the median of each): ", s / f, s, f, CalibrationBench.overlapRepeats)
                    + served.map { String(format: "%@ %.0f served, %.0f fresh (× %.2f)", $0.set, $0.served, $0.fresh, $0.fresh > 0 ? $0.served / $0.fresh : 0) }.joined(separator: "; ")
            }
        }
        guard credited > 0 else { return (nil, "no set's imports overlap", scale, servedText) }
        let share = min(1, max(0, saved / credited))
        return (share, String(format: "%.3f (pooled: %.0f ms saved of %.0f the overlap says; the sets' own %@; %d rounds, each package's own import timed in the same rounds): ",
                              share, saved, credited, shares.map { String(format: "%.2f", $0) }.joined(separator: ", "), CalibrationBench.overlapRepeats) + parts.joined(separator: "; "),
                scale, servedText)
    }

    /// A worker over `sets`' packages and their dependencies from `wheelhouse` (all installed at its start), set
    /// up as `serve` sets one up for `cores` cores, serving handler `k` needing the `k`th set, with no handler
    /// cache and nothing in the import cache but the root zygote: every request is a fork from the root (its
    /// standby child) that imports the whole set in its container, as the worker serves a set no zygote holds.
    func rootImportWorker(_ sets: [[Package]], table: PackageTable, wheelhouse: String, directory: String = "served-imports") throws -> RuntimeWorker {
        var packages: [Package] = [], seen = Set<String>()
        for p in sets.joined() {
            for q in p.transitiveDependencies.compactMap({ table[$0] }) + [p] where seen.insert(q.name).inserted { packages.append(q) }
        }
        let handlers = HandlerTable(sets.enumerated().map { k, set in
            Handler(id: "set-\(k)", customer: "c", packages: set.map(\.name), initMillis: CalibrateJob.workMillis, execMillis: CalibrateJob.workMillis)
        })
        var c = PolicyConfig.presets["all"]!
        c.handlerCache.enabled = false
        c.importCache.tree = "static"; c.importCache.topK = 0
        c.installCache.preinstallTop = packages.count
        let planner = try Planner(config: c, catalog: Catalog(packages: packages, handlers: handlers), popularPackages: packages.map(\.name))
        return try servingWorker(planner: planner, handlers: handlers, packages: packages, wheelhouse: wheelhouse, directory: directory)
    }

    /// What a package's install costs the worker against the package table's `install_ms` (pip on the host,
    /// less pip's fixed cost, as `measure` times it): the worker's own fetch and sandboxed install
    /// (`store.install`: a cgroup, namespaces, a read-only root, pip in it) of up to `installPackages` packages
    /// of `table` whose wheels `wheelhouse` holds, spread by rank from the cheapest, and the 3 costliest, the
    /// median of 3 installs each, fitted by least squares as `overhead + scale × install_ms`. Before, an install was
    /// the table's figure plus a tiny wheel's sandboxed install (376 ms), while real packages with no install
    /// time in the table took 510-730 ms in the worker (2026-12-03). nil (with why) with fewer than 3 packages of
    /// different install_ms, or a fit that does not grow with install_ms: then the tiny wheel's figure stands.
    /// `everyPackage`: picked over every measured package of the table (their wheels fetched: `--online`), not
    /// only those whose wheels the wheelhouse holds.
    /// `together` > 1: then the `installCostliest` costliest that installed, each `together` at once (one
    /// round), against their installs alone: `contention` (nil when none could be timed).
    func installs(table: PackageTable, wheelhouse: String, everyPackage: Bool = false, together: Int = 1, log: (String) -> Void = { _ in })
        -> (fit: (overheadMillis: Double, scale: Double)?, source: String, installed: [String: Double], contention: Contention?) {
        let picks = CalibrationBench.installPicks(table, wheelhouse: wheelhouse, everyPackage: everyPackage)
        guard Set(picks.map(\.installMillis)).count >= 3 else {
            return (nil, "fewer than 3 packages of the table with different install_ms have a wheel in \(wheelhouse)", [:], nil)
        }
        let w: RuntimeWorker
        do { w = try storeWorker(picks, wheelhouse: wheelhouse, directory: "install-probe") } catch {
            return (nil, "no worker to install with: \(error)", [:], nil)
        }
        defer {
            w.shutdown(); try? FileManager.default.removeItem(atPath: work + "/install-probe")
            // Every copy kept until all were timed, then removed at once and written back (`timedInstall`).
            removeTimedInstalls()
        }
        var xs: [Double] = [], ys: [Double] = [], fitted: [String] = [], failed: [String] = [], installed: [String: Double] = [:]
        for p in picks {
            // Each install into an empty directory of its own, as a request's (kept until every install was
            // timed). A package the worker cannot install here is left out (and named), not fatal.
            let m = CalibrationBench.medianOf3 { timedInstall(p, by: w) }
            if let m {
                xs.append(p.installMillis); ys.append(m); fitted.append(p.name); installed[p.name] = m
                log(String(format: "  %@ %@: %.0f ms in the package table, %.0f ms installed by the worker (median of 3)", p.name, p.version, p.installMillis, m))
            } else { failed.append(p.name) }
        }
        let skipped = failed.isEmpty ? "" : " (left out, the worker could not install them: \(failed.joined(separator: ", ")))"
        var contention: Contention? = nil
        if together > 1 {
            let costliest = picks.filter { installed[$0.name] != nil }.suffix(CalibrationBench.installCostliest)
            var each: [(name: String, alone: Double, together: Double)] = []
            for p in costliest {
                log("  \(p.name) \(p.version): \(together) installs at once")
                guard let at = timedInstalls(p, together: together, by: w) else { continue }
                each.append((p.name, installed[p.name]!, Summary(at).p50))
            }
            contention = Contention(each)
        }
        guard Set(xs).count >= 3, let (intercept, slope) = CalibrationBench.relativeLine(xs, ys), slope > 0 else {
            return (nil, "the installs of \(xs.count) packages did not fit a line growing with install_ms" + skipped, [:], contention)
        }
        return ((max(0, intercept), slope), String(format: "the worker's fetch and sandboxed install of %d packages of the table (%@; %.0f to %.0f ms in it), median of 3 each, fitted for the least relative error: the cheapest took %.0f ms, the costliest %.0f ms; each one's median: rows installed_ms:NAME, which compare times again", xs.count, fitted.joined(separator: ", "), xs.first!, xs.last!, ys.first!, ys.last!) + skipped, installed, contention)
    }

    /// Contention beyond the cores' sharing: packages' costs alone and with as many at once as cores (medians,
    /// ms), and the factor the simulator takes: the median of their ratios, at least 1.
    struct Contention {
        var each: [(name: String, alone: Double, together: Double)]
        init?(_ each: [(name: String, alone: Double, together: Double)]) {
            guard !each.isEmpty, each.allSatisfy({ $0.alone > 0 }) else { return nil }
            self.each = each
        }
        var factor: Double { max(1, Summary(each.map { $0.together / $0.alone }).p50) }
        var text: String { each.map { String(format: "%@ %.0f alone, %.0f at once", $0.name, $0.alone, $0.together) }.joined(separator: "; ") }
    }

    /// `together` installs of `p` at once by `w`'s store, each into its own empty directory (the wheels fetched
    /// first, untimed; the copies kept, as `timedInstall`'s): ms each; nil when one failed.
    func timedInstalls(_ p: Package, together: Int, by w: RuntimeWorker) -> [Double]? {
        var staged: [String] = []
        for _ in 0..<together { guard let (s, _) = try? w.store.download(p) else { return nil }; staged.append(s) }
        let targets = (0..<together).map { _ in nextTimedInstallDirectory() }
        let python = self.python
        let ns = atOnce(together) { i in try? w.store.install(p, wheel: staged[i], python: python, into: targets[i]) }.compactMap { $0 }
        return ns.count == together ? ns.map(Nanos.millis) : nil
    }

    /// One install of `p` by `w`'s store into an empty directory of its own, as a request's, ms (the wheel
    /// fetched first, untimed); nil when the worker could not install it. The copy is kept (under
    /// `timedInstallsDirectory`, until `removeTimedInstalls` or the bench's removal): on ext4 without a
    /// journal (this machine's root), inodes deleted in the last 60 s (360 s while their inode-table block is
    /// unwritten) are skipped one by one at every file creation, so removing each copy right after it, as
    /// before, made every install pay for the copies removed before it (django 2.1 s in a first install, 4.9-5.8
    /// s after 40 installs and removals; calibrate's installs came out ~10% above the same installs in
    /// compare's runs, campaigns AC and AD).
    func timedInstall(_ p: Package, by w: RuntimeWorker) -> Double? {
        let target = nextTimedInstallDirectory()
        guard let (staged, _) = try? w.store.download(p), let ns = try? w.store.install(p, wheel: staged, python: python, into: target) else { return nil }
        return Nanos.millis(ns)
    }

    /// Where `timedInstall` and `timedInstalls` keep their copies.
    var timedInstallsDirectory: String { work + "/timed-installs" }
    private var timedInstallCount = 0
    /// A new directory for a timed install's copy (not made: the install makes it).
    func nextTimedInstallDirectory() -> String {
        timedInstallCount += 1
        return timedInstallsDirectory + "/\(timedInstallCount)"
    }

    /// Removes every copy the timed installs kept, then writes back what the removal dirtied (`sync`): with the
    /// inode tables written, ext4 without a journal skips the freed inodes for 60 s rather than 360.
    func removeTimedInstalls() {
        guard Sys.exists(timedInstallsDirectory) else { return }
        try? FileManager.default.removeItem(atPath: timedInstallsDirectory)
        Sys.syncFileSystems()
    }

    /// One install each of `packages` from `wheelhouse` as the worker runs them (`timedInstall`), in order: ms
    /// by name. The copies stay until `removeTimedInstalls` or the bench's removal (`compare` removes its after
    /// its last real run). - Throws: when no worker can be set up or a package cannot be installed.
    func reinstall(_ packages: [Package], wheelhouse: String) throws -> [String: Double] {
        let w = try storeWorker(packages, wheelhouse: wheelhouse, directory: "install-probe")
        defer { w.shutdown(); try? FileManager.default.removeItem(atPath: work + "/install-probe") }
        var out: [String: Double] = [:]
        for p in packages {
            guard let m = timedInstall(p, by: w) else { throw RuntimeError.unavailable("the worker could not install \(p.name) \(p.version) from \(wheelhouse)") }
            out[p.name] = m
        }
        return out
    }

    /// MB/s copying the biggest wheel in `wheelhouse` (the local mirror), median of 5. A fresh machine's
    /// wheelhouse is empty: then a 64 MB file of the workbench's (on the same disk when both are) stands in for
    /// the wheel, and `source` says so. Before, an empty wheelhouse gave 0 and the simulator silently charged
    /// every download the package table's time from the index (seconds, against milliseconds for real).
    func mirrorThroughput(wheelhouse: String) -> (mbps: Double, source: String) {
        let size = CalibrationBench.fileBytes
        let wheels = ((try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []).filter { $0.hasSuffix(".whl") }
        var src: String, source: String
        if let biggest = wheels.max(by: { size(wheelhouse + "/" + $0) < size(wheelhouse + "/" + $1) }), size(wheelhouse + "/" + biggest) >= 1 << 20 {
            src = wheelhouse + "/" + biggest
            source = "copying \(biggest) from the wheelhouse"
        } else {
            src = work + "/mirror-stand-in.bin"
            var g = SystemRandomNumberGenerator()
            let block = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &g) })
            _ = FileManager.default.createFile(atPath: src, contents: nil)
            guard let h = FileHandle(forWritingAtPath: src) else { return (0, "no file to copy") }
            for _ in 0..<64 { h.write(block) }
            try? h.close()
            source = "the wheelhouse \(wheelhouse) holds no wheel of 1 MB or more: copying a 64 MB file in \(work) instead"
        }
        let dst = work + "/copy.whl"
        var mbps: [Double] = []
        for _ in 0..<5 {
            let t0 = Sys.monotonicNanos()
            try? FileManager.default.removeItem(atPath: dst)
            guard (try? FileManager.default.copyItem(atPath: src, toPath: dst)) != nil else { return (0, "copying \(src) failed") }
            mbps.append(Bytes.mb(size(src)) / (Double(Sys.monotonicNanos() - t0) / 1e9))
        }
        try? FileManager.default.removeItem(atPath: dst)
        return (Summary(mbps).p50, source)
    }
}

extension CalibrationBench.ImportHits {
    /// The phases of served records (memory figures as given).
    init(_ rs: [RequestRecord], rootMemoryBytes: Int64 = 0, zygoteGB: Double = 0) {
        self.init(create: rs.map(\.createNanos), fork: rs.map(\.forkNanos), invoke: rs.map(\.execNanos), initialize: rs.map(\.initNanos),
                  rootMemoryBytes: rootMemoryBytes, zygoteGB: zygoteGB)
    }
}

extension CalibrationBench.HandlerHits {
    /// The thaw (create phase) and invoke of served records (no freezes, no memory figure).
    init(_ rs: [RequestRecord]) { self.init(thaw: rs.map(\.createNanos), freeze: [], invoke: rs.map(\.execNanos), containerMemoryBytes: nil) }
}
