import ArgumentParser
import Experiments
import Foundation

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure the runtime's primitives on this machine and write the simulator's runtime cost model.",
        discussion: """
        Starts handlers of a tiny synthetic package on the real runtime (needs root) and times container \
        create, fork and relocate (import hits forked, as the import cache serves them, from the zygote that \
        holds the package, a child of the root), invoke round trip, handler load, freeze, thaw, cold interpreter \
        start, a sandboxed pip install (of a tiny wheel, and of up to 9 packages of --packages whose wheels the wheelhouse holds, spread from the cheapest and the 3 costliest, installed as the worker installs them: install_overhead_ms plus install_scale × the table's install_ms, least squares; without 3 such wheels, the tiny wheel's install and a scale of 1) and the local mirror (the worker's own fetch of up to 9 wheels of the \
        wheelhouse, smallest to biggest: a fixed cost per wheel, download_overhead_ms, plus bytes over a throughput, \
        mirror_mb_per_s), each one at a time (its median and its spread: \
        quantiles from min to max (p10, p25, p75, p90, p95, p99 between), which the simulator draws each request's cost from, linearly between them), then the same starts \
        --cores at a time (the contended spread, which a simulated request draws from with the probability the \
        share of the simulator's other cores busy), and what serving over HTTP costs the cores per request \
        (dispatch_ms: this process's CPU per handler-cache hit with the server and an open-loop client in it, \
        less the same hits served directly, the median of 5 rounds of both; the simulator runs it beside the \
        requests from each request's end, sharing the cores). Starts are then taken as served over HTTP, with the server's threads beside them, \
        among 400 requests per second: a handler-cache hit's thaw and invoke, and an import hit's create, fork, \
        init and invoke (3 × --repeat import hits among handler-cache hits, one request in 50): those that \
        started with no other request in flight, and those that started beside another, for the contended \
        spread; with too few of either, the figures served directly stay, as it says. With more than one core, \
        the dispatch's weight in the simulator's sharing of the cores (dispatch_weight, 0 to 1: how much of an \
        equal share the server's threads take from the handlers beside them): in each of 3 rounds spread over \
        the calibration, 10 × --repeat more hits over HTTP at 75% of what the cores can serve, and the weight (of \
        0, 0.05, ..., 1) with which the simulator, replaying that round's and the 400-per-second stream's \
        arrivals, comes closest to their measured latency p50 and p90; the median of the rounds' weights is \
        kept (one loaded stream follows the machine's speed of the moment); the 400-per-second hits and each \
        round are served on a settled machine (written back and idle, as compare's real runs start), and each \
        round's weight in the file's header says how busy the cores were over its stream. Also the \
        worker's off-path work, which the simulator's builder does beside the cores: one start at a time, 50 ms \
        apart, the maintenance thread's time per standby child (standby_prep_ms) and a pooled cgroup \
        (cgroup_create_ms) (the simulator shares the cores among what runs beside them), then with a start per \
        core back to back their contended spreads, a fork from a zygote with no standby child ready \
        (direct_fork_ms) and the child's time to be ready after it is asked for (standby_ready_ms); what a \
        process's joining a cgroup waits after a quiet spell (cgroup_attach_wait_ms: joins 0 to 100 ms apart, \
        and cgroup_attach_window_ms, the largest gap still cheap), which the simulator charges to such forks, \
        standby children and zygote builds when no join came within the window; and a child zygote's build \
        beyond its imports less that wait (zygote_build_ms, 20 builds 100 ms apart). With more than one core, \
        contention that sharing the cores does not explain: up to 3 imports that weigh most in --trace (else \
        the costliest of --packages) whose wheels the wheelhouse holds, served by a worker (each a request \
        forked from its root zygote importing the package in its container, 8 rounds; at once, the mean of \
        every import started together), and the worker's installs of the 3 costliest install picks, alone and \
        --cores at once (import_contention, install_contention: the median over the packages of together over \
        alone, at least 1), which the simulator charges a start by the share of its other cores busy. And how much of the import overlap's saving (traces/import-overlap.csv) packages imported \
        together really save (import_overlap_credit, 0 to 1: 3 sets of 3 of the costliest imports with their \
        dependencies imported together after the worker's own modules, against the sum of every one of those \
        packages' own imports timed in the same 7 rounds, and that sum less the overlap; pooled over the sets), \
        which the simulator's import charges take; and in the same rounds the same sets served by a worker \
        (installed first, untimed; each request a fork from the root zygote importing the whole set in its \
        container): served over fresh, summed (served_import_scale), which stretches the imports of every \
        simulated start forked from a zygote. \
        Finally the imports that weigh most are timed again as `measure` times them (7 rounds each, the \
        median): the 12 whose import_ms × the handlers of --trace that need them is largest (without --trace, \
        the table's 12 costliest), written as rows imported_ms:NAME and charged, by the simulator and both \
        executors' planners, instead of the table's import_ms: the table is measured once, on some machine on \
        some day, and its costliest imports drift apart from the rest (campaign Y: handlers' imports without \
        scikit-learn, matplotlib, pandas or numpy simulated right, those where they weigh 30% or more 22-27% \
        short). `compare`'s import speed probe then times those again. \
        Memory: the root zygote's (interpreter_memory_mb), a cold container's beyond it (container_memory_mb), \
        a container forked from a zygote before it imports anything (fork_memory_mb: the pages it writes of \
        what it shares with the zygote), what a handler's holding memory costs its init (memory_touch_ms_per_mb: \
        the generated handlers write every page of their trace's memory_mb when they load; a handler holding \
        64 MB against one holding none, 15 forks each), and what a forked container's cgroup is charged for \
        its imports against the package table's import_memory_bytes (import_memory_scale: the containers of \
        the imports timed for contention, their median memory less fork_memory_mb over the table's figure, \
        pooled; the table counts a fresh interpreter's resident set, files mapped from the page cache \
        included, which a cgroup is charged for only when it reads them first), which the planner's memory \
        model takes for every container and zygote. --memory-only measures those rows alone and writes them \
        into an existing cost file (--out), keeping its other rows: memory does not move with the machine's \
        speed, as the timed rows do. \
        Writes traces/runtime-costs.csv, which `simulate` and `compare` use when present.
        """)

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Starts per primitive (the median, and quantiles for the spread, are kept).")
    var repeats: Int = 100

    @Option(parsing: .unconditional, help: "Starts at once for the contended figures (default: this machine's cores; 1: none).")
    var cores: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Output file (default: traces/runtime-costs.csv); with --memory-only, the existing file whose memory rows are measured again.")
    var out: String?

    @Option(help: "Package cost table whose install_ms the worker's installs are fitted against (default: traces/packages.csv).")
    var packages: String?

    @Flag(help: ArgumentHelp("Fetch the wheels the install fit picks from the package index first, and pick over every measured package of the table.",
                             discussion: "Without it the fit picks among the packages whose wheels the wheelhouse already holds (a fresh machine's holds none: then no fit, the tiny wheel's install and a scale of 1, and no installed_ms rows for compare's install probe). The wheels (up to 9 of the table) are fetched before anything is timed; the mirror's throughput is then timed on them too."))
    var online = false

    @Option(help: ArgumentHelp("A trace whose handlers decide which imports are timed again (imported_ms rows): those that weigh most in it.",
                               discussion: "Its handlers file beside it (NAME.handlers.csv). Without it: the package table's costliest imports."))
    var trace: String?

    @Flag(help: ArgumentHelp("Measure only the memory rows and write them into the existing --out file, keeping its other rows.",
                             discussion: "interpreter_memory_mb, container_memory_mb, fork_memory_mb, memory_touch_ms_per_mb and import_memory_scale; the file's header keeps its lines and gains one naming this command. A few minutes: the costliest imports (of --trace, else of the table) are installed into a worker first."))
    var memoryOnly = false

    func validate() throws {
        if repeats < 3 { throw ValidationError("--repeat must be at least 3") }
        if cores < 1 { throw ValidationError("--cores must be at least 1") }
    }

    func run() throws {
        var job = CalibrateJob()
        job.repeats = repeats
        job.cores = cores
        if let o = out { job.output = o }
        if let p = packages { job.packages = p }
        job.online = online
        job.trace = trace
        job.log = { printProgress($0) }
        let c = try memoryOnly ? job.runMemoryOnly() : job.run()
        for (n, v, u) in c.rows { print(n.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%10.3f %@", v, u)) }
        print("written to \(job.output)")
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run a trace on the real runtime and in the simulator; compare decisions and latencies.",
        discussion: """
        The simulator runs the same requests on the same cores (--cores, default this machine's) with the calibrated costs (traces/runtime-costs.csv), \
        building zygotes in line as the runtime does, and is fed the real run's measured memory, so with a \
        faithful model the decision logs are identical. Writes results/compare-NAME.csv (one row per request; one \
        that either side refused with its queue full stays: `error` in tier_real with error_real, or `refused` in \
        tier_sim with the simulated columns empty, so each tier's quantiles are over each executor's own served requests), \
        keeps the real side (every real run's requests, decisions and outcomes, the probes' figures) in \
        results/compare-NAME.real.json.gz for `pipsqueak resimulate`, \
        and prints decision agreement, per-tier latency quantiles with their errors, per-phase means, and request \
        by request: the share whose tier and zygote agree, the first that differs and how much agrees after it, \
        and each phase's median and p90 absolute error and median relative error, twice: against a point \
        simulation (every timed primitive at its median: the simulator's guess of each request; columns \
        tier_point, latency_point_ms, PHASE_point_ms) and against the first seed's draws (a draw per request \
        each side, so the spread counts twice). The load the requests put on \
        the cores is printed, with a warning when it saturates them, and, for both executors, how many import \
        starts found a standby child and how long zygote builds took; each start's imports and init as wall \
        against time on a core (`on a core:`; real: the container's own CPU time, so wall well over it is a wait \
        for a core or the disk; simulated: the work drawn, which the shared cores stretch), and each start from its \
        fork to ready as time on a core, time waiting for one and the rest, blocked (real: the kernel's schedstat \
        of the container's processes; simulated: all its wall over its work is a wait); and the machine's CPU over \
        each real run, with this process's own over the first (the worker's threads and the load generator) beside \
        what the simulation charges the dispatches, and by kind of thread: the worker's cores, its server, the \
        load generator, the rest, each with its wait for a core (`machine cpu:`). The first burst (from the first request \
        that waited 1 ms or more for a core, in either run, to the first after it that waited less in both) is \
        told apart: its median wait in each run, and the tiers' errors from its end on (`first burst:`; a start's \
        queue differed up to 5.6x between two real runs here). Budgets make the exit code non-zero when exceeded. \
        Ctrl-C or SIGTERM during a real run stops it after the requests in flight, removes what the worker made \
        and exits non-zero without writing the CSV or the real side (an earlier comparison of the same --name \
        stays as it was).
        """)

    @OptionGroup var replay: ReplayOptions

    @Option(help: "Name of the output (results/compare-NAME.csv).")
    var name: String = "compare"

    @Option(help: "Runtime cost model (default traces/runtime-costs.csv).")
    var runtimeCosts: String?

    @Option(parsing: .unconditional, help: "Fail when a tier's p50 relative error exceeds this (0.1 = 10%).")
    var maxP50Error: Double?

    @Option(parsing: .unconditional, help: "Fail when a tier's p99 relative error exceeds this.")
    var maxP99Error: Double?

    @Flag(help: "Fail when the decision logs differ.")
    var requireIdenticalDecisions = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Cores of the worker and of the simulated one (default: this machine's).",
                                                        discussion: "Above 1: the real run goes over HTTP, open loop, to a worker on that many cores, and the simulator runs the same cores and queue bound; completion order can differ, so agreement is reported request by request. 1: the runtime in this process, one request at a time, zygotes built in line (decision logs then match exactly)."))
    var cores = ProcessInfo.processInfo.activeProcessorCount

    @Option(parsing: .unconditional, help: "With --cores above 1: requests that may wait for a core (more are refused, in both runs).")
    var queue = 64

    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Scale the package table's import costs by how fast this machine imports them now.",
                                                    discussion: "Shared machines drift (one numpy import: 47 ms at one hour, 80 ms two hours later). Just before the real run, compare times again the imports of the trace's three costliest packages (measured import time × requests of the handlers that import them), exactly as `measure` timed them (11 fresh interpreters each, dependencies first, installs in measure's cache, from the run's wheelhouse), and multiplies every import cost by their time now over the table's in both executors' planners; it times them again after the run, and the simulation (run after it) charges imports by the mean of before and after. The CSV header and the report give the figures. (The standard-library probe `measure` records in the table's header tracked numpy's import poorly: 37% slower while numpy was 15% faster.)"))
    var speedProbe = true

    @Flag(inversion: .prefixedNo, help: ArgumentHelp("With --cores above 1: time handler-cache hits and the server's dispatch again around the real run.",
                                                    discussion: "The machine's speed moves between a calibration and a run (one compare's real run faster than calibrated, the next slower). Just before the real run and again after it, compare serves handler-cache hits as `calibrate` does (100 paused containers; 1000 served directly and 1000 over HTTP at 400 per second, in 5 rounds; about 10 s each time) and the simulation and both loads use what they measure: `dispatch_ms` the mean of before and after, the thaw and the thawed invoke overhead (median and spread of the hits that started alone, spread of those that started beside another) from both together. The CSV header's `handler-cache hits` line gives the figures against the runtime cost file's."))
    var hitProbe = true

    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Time installs again around the real run: how fast this machine installs now against the calibration.",
                                                    discussion: "Installs drift with the machine too (campaign Q's, an hour after its calibration, took up to twice what it fitted). `calibrate` keeps its install of each package it fitted over (rows installed_ms:NAME in the runtime cost file, median of 3). Just before the real run and again after it, compare installs the trace's two costliest of those (among the packages its requests need, dependencies included) once each as the worker does (fetched from the wheelhouse, a sandboxed pip into an empty directory): their time now over the calibration's (the mean of before and after) is reported and, with --charge-installs, charged to every simulated install; the planners' estimates, both executors', keep the runtime cost file's, so their decisions are unchanged. Not run when the trace needs none of them or the file records none (calibrated before they were kept). The CSV header's `installs` line gives the figures and the filesystem installed on; a probe that fails leaves the other's (or 1) and says why. The probe's copies and each real run's install cache are removed only after the last real run (also when compare fails; after a crash, `pipsqueak cleanup`): on ext4 without a journal, as this machine's root, a file's creation skips the inodes deleted in the last minutes, so an install just after thousands of files were deleted took up to 5 × as long."))
    var installProbe = true

    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Charge simulated installs by the install probe's figure (with --install-probe; default off).",
                                                    discussion: "Off: the probe still runs and its figures are reported, but simulated installs take the runtime cost file's. Off by default: over 12 comparisons of three campaigns the probe (one install of two packages on an idle machine) ran faster than the run's own installs, and charging by it left simulated installs 21% short on average; uncharged they were right on average (each campaign calibrates minutes before its runs)."))
    var chargeInstalls = false

    @Option(help: ArgumentHelp("Simulations of the same requests, seeds --seed on: the spread of the simulator's own draws.",
                               discussion: "The first is joined to the real run request by request; every one gives each tier's p50 and p99 errors against the real run, and the report and the CSV header (`simulation's own draws`) give their lowest and highest: a p99, or an import p50 made in the first burst, moves by tens of percent from one seed to the next, so one draw against one real run is a noisy judge. Each is a simulation only (well under a second for a micro workload)."))
    var simSeeds = CompareJob.defaultSimSeeds

    @Option(help: ArgumentHelp("How the simulated cores give out CPU time: share or hold (as `pipsqueak simulate --cpu-model`).",
                               discussion: "share (default): processor sharing among the requests, the builder and the worker's per-request dispatch work; hold: the earlier model (stretched once at a request's start, its core held for dispatch_ms after it)."))
    var cpuModel: CPUModelName = .share

    @Flag(help: ArgumentHelp("Run the real side twice and report how far the second run is from the first (--real-runs 2).",
                             discussion: "The real system's own repeatability: the second run's per-tier p50 and p99 against the first's, the same errors the simulation is judged by, and how many requests start in the same tier. Both are written to the CSV (`tier_real2`, `latency_real2_ms`; the header's `real again` line). Doubles the real time."))
    var repeatReal = false

    @Option(help: ArgumentHelp("Real runs of the trace, each on a fresh worker; their latencies are pooled per tier against every simulated seed's.",
                               discussion: "One real run is one sample path: its start-up burst (100 cold handlers arriving faster than they start) queued 16 ms at the median in one run and 196 ms in the next here, and a micro workload's import tier and p99s are made in it. With N above 1, the report and the CSV header (`pooled`) give each tier's p50 and p99 error of all real runs' latencies together against all --sim-seeds simulations' together, beside the one-run figures; the CSV gets every run's tier and latency (`tier_realK`, `latency_realK_ms`) and every seed's (`tier_simK`, `latency_simK_ms`). 2 is --repeat-real. Multiplies the real time by N."))
    var realRuns = 1

    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Bring the machine to rest before each real run: write back dirty pages, wait for idle cores.",
                                                    discussion: "Installs leave dirty pages (the probes' and the last run's: 86 MB before a first run here, up to 1.2 GB during a mixed campaign), which the kernel writes out in bursts beside whatever runs next, and a worker's teardown leaves the kernel work for a moment. Before each real run compare calls sync(2), then watches the machine's cores (/proc/stat) in 0.25 s windows until one is under 10% busy (at most 20 s), so each run starts as the calibration's measurements did. The CSV header's `machine cpu` line says, per run, how much was written back, how long it took and how idle the cores were."))
    var settle = true

    @Flag(help: ArgumentHelp("Fetch the wheels the trace needs and the wheelhouse lacks from the package index, before the run starts.",
                             discussion: "A fresh machine's wheelhouse is empty; without this, compare stops and names the missing wheels. They are fetched before anything is timed, so no request's latency holds a download from the internet."))
    var online = false

    func validate() throws {
        if cores < 1 { throw ValidationError("--cores must be at least 1, found \(cores)") }
        if queue < 0 { throw ValidationError("--queue must be 0 or more, found \(queue)") }
        if simSeeds < 1 { throw ValidationError("--sim-seeds must be at least 1, found \(simSeeds)") }
        if realRuns < 1 { throw ValidationError("--real-runs must be at least 1, found \(realRuns)") }
    }

    func run() throws {
        var job = CompareJob()
        try replay.apply(to: &job.run)
        job.name = name
        job.runtimeCostsPath = runtimeCosts
        job.maxP50Error = maxP50Error; job.maxP99Error = maxP99Error
        job.requireIdenticalDecisions = requireIdenticalDecisions
        job.cores = cores; job.queueLimit = queue
        job.speedProbe = speedProbe
        job.hitProbe = hitProbe
        job.installProbe = installProbe
        job.chargeInstalls = chargeInstalls
        job.realRuns = realRuns
        job.settle = settle
        if repeatReal { job.repeatReal = true }
        job.simSeeds = simSeeds
        job.cpuModel = cpuModel
        job.run.runtime.online = online
        RunJob.stopOnInterrupt()
        let report = try job.execute { printProgress($0) }
        print(report.text)
        if !report.failures.isEmpty { throw ExitCode(2) }
    }
}

struct ResimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resimulate",
        abstract: "Simulate again the real side a compare kept, and compare as it did, without running anything real.",
        discussion: """
        `compare` keeps what its real side measured (every real run's requests, decisions and outcomes, and \
        the probes' figures) in results/compare-NAME.real.json.gz. This simulates those requests again with \
        this pipsqueak's simulator (the trace, config, cores, queue bound and seeds of the compare that \
        measured them; its runtime costs with its probes' figures in) and writes compare-NAME.csv beside the \
        file (results/ for a compare's own) as compare does, with a `real side:` header line naming the file and \
        the compare that made it: a change to \
        the simulator is judged in seconds against real runs already made. The trace, its handlers and the \
        package table must be the ones the real side ran (their digests are checked; paths inside the project \
        are found from its root). Prints the report.
        """)

    @Argument(help: "The real side a compare kept (results/compare-NAME.real.json.gz).")
    var realSide: String

    @Option(help: "Name of the output (compare-NAME.csv beside the real side; default: the compare's own name, whose CSV it replaces).")
    var name: String?

    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Charge simulated installs by the install probe's figure (default: as the compare did).",
                                                    discussion: "The probe's figures stay in the header's `installs` line either way."))
    var chargeInstalls: Bool?

    @Option(help: "Simulations of the same requests (default: as the compare did).")
    var simSeeds: Int?

    @Option(help: "How the simulated cores give out CPU time: share or hold (default: as the compare did).")
    var cpuModel: CPUModelName?

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Simulate with a runtime cost row at another value than the real side's (repeatable), e.g. --set import_overlap_credit=0.",
        discussion: "NAME is a row of the runtime cost file (calibrate --help names them); a row with a spread keeps its shape, scaled to the new median. The CSV's `made by` and `runtime costs` header lines say what was set: a what-if judged against real runs already made.",
        valueName: "NAME=VALUE"))
    var settings: [String] = []

    /// `--set`'s NAME=VALUE pairs.
    func parsedSettings() throws -> [(name: String, value: Double)] {
        try settings.map { s in
            let parts = s.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let v = Double(parts[1]), v.isFinite else {
                throw ValidationError("--set expects NAME=VALUE (a runtime cost row and a number, e.g. import_overlap_credit=0), found '\(s)'")
            }
            return (parts[0], v)
        }
    }

    func validate() throws {
        _ = try parsedSettings()
        if let s = simSeeds, s < 1 { throw ValidationError("--sim-seeds must be at least 1, found \(s)") }
        if let n = name, n.isEmpty || n.contains("/") { throw ValidationError("--name must be a plain name (no '/'), found '\(n)'") }
    }

    func run() throws {
        let side = try CompareJob.RealSide.read(path: realSide)
        var job = try CompareJob(resimulating: side, path: realSide)
        if let n = name { job.name = n }
        if let c = chargeInstalls { job.chargeInstalls = c }
        if let s = simSeeds { job.simSeeds = s }
        if let m = cpuModel { job.cpuModel = m }
        job.runtimeSettings = try parsedSettings()
        let report = try job.resimulate(side) { printProgress($0) }
        print(report.text)
        if !report.failures.isEmpty { throw ExitCode(2) }
    }
}
