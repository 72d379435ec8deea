import ArgumentParser
import Experiments
import Foundation

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Replay a trace against a real worker over HTTP: zygotes, containers, freezer, sandboxed pip (needs root).",
        discussion: """
        The trace's requests are sent open loop (each at its arrival time, whatever the earlier replies) to \
        POST /run/<handler> of a worker: one started here on loopback with --cores and --queue (the trace's \
        handlers generated as f.py folders, as `serve` lays them out), or the worker at --url (`pipsqueak serve` \
        with a registry holding the trace's handlers). Each reply's Pipsqueak-Record header becomes the request's \
        record; an answer other than 200, or none, is an error. Every decision comes from the same planner \
        `simulate` uses; records and the decision log (a worker started here) have the same columns. \
        Packages come from the wheelhouse filled by `pipsqueak measure`, so every package of the trace must be in \
        traces/packages.csv (generate traces with `trace generate mixed --only-measured traces/packages.csv`). \
        --in-process calls the runtime directly, one request at a time, as `compare` does. Ctrl-C stops \
        sending, lets the requests in flight finish and removes everything; after a crash, `pipsqueak cleanup` does.
        """)

    @OptionGroup var replay: ReplayOptions

    @Option(help: "Package cost table (versions and modules of the packages to install).")
    var packages: String?

    @Option(help: "The wheelhouse (local package mirror).")
    var wheelhouse: String?

    @Option(help: "Write per-request records to this CSV.")
    var out: String?

    @Option(help: "Write the decision log to this file.")
    var decisions: String?

    @Option(parsing: .unconditional, help: "Memory limit of each container, MB.")
    var containerMemoryMB: Int = 1024

    @Flag(help: "Fetch the wheels the trace needs and the wheelhouse lacks from the package index, before the run starts.")
    var online = false

    @Option(parsing: .unconditional, help: "The share of requests that may fail (0 to 1) before the exit status is 1.")
    var maxErrorShare: Double = 0

    @Option(help: "Send the requests to the worker at this URL (plain HTTP, e.g. http://127.0.0.1:5000) instead of starting one.")
    var url: String?

    @Option(parsing: .unconditional, help: "Requests the worker started here runs at once.")
    var cores = 1

    @Option(parsing: .unconditional, help: "Requests that may wait for a core in the worker started here; more are refused (503, an error).")
    var queue = 64

    @Flag(help: "Call the runtime in this process, one request at a time, without HTTP (as `compare` does).")
    var inProcess = false

    @Option(help: "Write each request's phase timestamps (received, create, unpause, import, execute, zygote miss: ReqBench's) to this CSV.")
    var timestamps: String?

    func validate() throws {
        if !(0...1).contains(maxErrorShare) { throw ValidationError("--max-error-share must be between 0 and 1, found \(maxErrorShare)") }
        if cores < 1 { throw ValidationError("--cores must be at least 1, found \(cores)") }
        if queue < 0 { throw ValidationError("--queue must be 0 or more, found \(queue)") }
        if inProcess && (url != nil || timestamps != nil) { throw ValidationError("--in-process takes neither --url nor --timestamps") }
        if let u = url, !u.lowercased().hasPrefix("http://") {
            throw ValidationError("--url must be http://host:port (a worker serves plain HTTP on loopback or in a network namespace), found \(u)")
        }
    }

    func run() throws {
        var job = RunJob()
        try replay.apply(to: &job)
        if let p = packages { job.packagesPath = p }
        if let w = wheelhouse { job.wheelhouse = w }
        job.recordsPath = out; job.decisionsPath = decisions
        job.runtime.containerMemoryLimitMB = Double(containerMemoryMB)
        job.runtime.online = online
        job.overHTTP = !inProcess
        job.url = url; job.cores = cores; job.queueLimit = queue
        job.timestampsPath = timestamps
        job.progress = { printProgress($0) }
        RunJob.stopOnInterrupt()
        let s = try job.run()
        print(s.report(title: "real run of \(replay.trace)\nconfig \(job.config.summary)", real: true))
        if RunJob.interrupted { print("interrupted: stopped early and cleaned up") }
        if let o = out { print("records: \(o)") }
        if let d = decisions { print("decision log: \(d)") }
        if let t = timestamps { print("phase timestamps: \(t)") }
        if s.errors > 0 && Double(s.errors) > maxErrorShare * Double(s.requests) {
            printProgress("error: \(s.errors) of \(s.requests) requests failed (allowed: \(maxErrorShare); --max-error-share allows a share)")
            throw ExitCode(1)
        }
    }
}

/// What every real replay takes: the trace, the cache configuration, speed, length and seed.
struct ReplayOptions: ParsableArguments {
    @Option(help: "Trace CSV (its handler table is NAME.handlers.csv).")
    var trace: String

    @OptionGroup var policy: PolicyOptions

    @Option(parsing: .unconditional, help: "Replay speed: 1 = real time, 10 = ten times faster.")
    var speed: Double = 1

    @Option(parsing: .unconditional, help: "Only the first N requests.")
    var limit: Int?

    @Option(parsing: .unconditional, help: "Root seed.")
    var seed: UInt64 = 1

    @Flag(help: ArgumentHelp("Run zygotes without their sandbox (own mount and user namespaces).",
                             discussion: "For machines where user namespaces are not available. A package's import code in a zygote then runs as root on the host."))
    var noZygoteSandbox = false

    func validate() throws {
        if !(speed > 0) { throw ValidationError("--speed must be positive") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func apply(to job: inout RunJob) throws {
        job.tracePath = trace
        job.config = try policy.load()
        job.speed = speed; job.limit = limit; job.seed = seed
        job.runtime.sandboxZygotes = !noZygoteSandbox
    }
}

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Remove what a crashed run left: processes in pipsqueak cgroups, the cgroups, mounts, run directories, temporary files.",
        discussion: """
        Every cgroup and run directory a run makes carries its process id in its name (run<pid>w<n>, \
        install-<pid>-…). Those whose process is still alive belong to a live run or worker and are left \
        alone, and said so, unless --force. A worker's own process's CPU groups (worker-<pid>, and \
        worker-<pid>-maintenance for its maintenance thread) are never killed, even with --force: they hold the \
        worker itself; it is removed once that process is gone. --dry-run lists what would be removed and removes nothing. Also \
        removes, from the temporary directory, the files and directories a killed process could not \
        (pipsqueak-out-<pid>-…, pipsqueak-err-<pid>-…, pipsqueak-calibrate-<pid>, pipsqueak-reproduce-<pid>), when that process is gone: \
        a live process's are left alone, even with --force. Mounts under what it removes are detached first; \
        nothing is removed through a mount, and what could not be removed is an error (exit non-zero), not a line \
        saying removed.
        """)

    @Flag(help: "Also remove what a live run owns (its processes are killed).")
    var force = false

    @Flag(help: "Say what would be removed; remove nothing.")
    var dryRun = false

    @Option(parsing: .unconditional, help: "Only what this process id owns (the pid in run<pid>w…).")
    var pid: Int32?

    func run() throws {
        let done = try CleanupJob.run(force: force, dryRun: dryRun, owner: pid)
        if done.isEmpty { print("nothing to clean up") } else { done.forEach { print($0) } }
    }
}
