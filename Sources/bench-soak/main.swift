// bench-soak: the real runtime serves a mixed trace at a steady rate for a long time (default 10 minutes),
// and every window (default 30 s) reports requests served, errors, latency percentiles, and the worker's
// resident memory, open descriptors, the processes and cgroups under `pipsqueak/`, and mounts under the state
// directory. The baseline is the first window after warm-up in the same run; the last window is compared
// with it, so a leak shows as growth whatever the machine's speed.
//
//   scripts/bench-soak [--seconds 600] [--rate 2] [--handlers 40] [--window 30] [--seed 1] [--handler-mb MB]
//                      [--http] [--cores C] [--load L] [--online] [--out results/soak.csv]
//
// --http sends the requests over HTTP, open loop, to a worker on C cores (default: the machine's), as
// `pipsqueak run` does; --load L sets the rate so that the handlers' execution alone keeps L of the C cores
// busy (the trace's mean exec_ms; starts come on top); --online fetches missing wheels from the index.
//
// Needs root, cgroups, and the measured packages' wheels in the wheelhouse (`pipsqueak measure`).
import CachePolicy
import Experiments
import Foundation
import Runtime
import Statistics
import Workload

struct Options {
    var seconds = 600.0, rate = 2.0, handlers = 40, window = 30.0, seed: UInt64 = 1
    /// Handler-cache budget, MB (nil: the preset's). A small one makes containers churn: every request
    /// then forks or starts a container and destroys another, which is where leaks would show.
    var handlerMB: Double?
    var out = ProjectPaths.results("soak.csv")
    var http = false, online = false
    var cores = ProcessInfo.processInfo.activeProcessorCount
    var load: Double?
}

func parse() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    func value(_ flag: String) -> String {
        guard !args.isEmpty else { fail("\(flag) needs a value") }
        return args.removeFirst()
    }
    func number(_ flag: String) -> Double {
        let v = value(flag)
        guard let d = Double(v), d > 0 else { fail("\(flag): expected a positive number, got \(v)") }
        return d
    }
    while !args.isEmpty {
        let a = args.removeFirst()
        switch a {
        case "--seconds": o.seconds = number(a)
        case "--rate": o.rate = number(a)
        case "--handlers": o.handlers = Int(number(a))
        case "--window": o.window = number(a)
        case "--seed": o.seed = UInt64(number(a))
        case "--handler-mb": o.handlerMB = number(a)
        case "--out": o.out = value(a)
        case "--http": o.http = true
        case "--online": o.online = true
        case "--cores": o.cores = Int(number(a))
        case "--load": o.load = number(a)
        case "-h", "--help":
            print("usage: bench-soak [--seconds 600] [--rate 2] [--handlers 40] [--window 30] [--seed 1] [--handler-mb MB] [--http] [--cores C] [--load L] [--online] [--out results/soak.csv]")
            exit(0)
        default: fail("unknown argument \(a) (try --help)")
        }
    }
    return o
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-soak: \(message)\n".utf8))
    exit(2)
}

/// What the worker holds at one instant. `expected` is the processes its caches account for: each zygote
/// and its standby children, and one process per live container; `processes - expected` is what nothing
/// accounts for (a leak, or a process caught mid-start), and should stay at zero. `zombies` are the
/// worker's children that have exited and not been reaped (they sit in no cgroup); also zero.
struct Resources {
    var rssMB = 0.0, fds = 0, processes = 0, cgroups = 0, mounts = 0, zygotes = 0, containers = 0, expected = 0, zombies = 0

    static func sample(state: String, worker: RuntimeWorker?) -> Resources {
        var r = Resources()
        if let w = worker {
            r.zygotes = w.zygoteCount
            r.containers = w.containerIDs.count
            r.expected = r.zygotes + w.standbyCount + r.containers
        }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
           let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
            r.rssMB = kb / 1024
        }
        r.fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
        if let cg = try? Cgroups.detect() {
            let groups = cg.leftovers()
            r.cgroups = groups.count
            r.processes = groups.reduce(0) { $0 + cg.group($1).pids().count }
        }
        r.mounts = Sys.mounts(under: state).count
        r.zombies = Sys.zombieChildren().count
        return r
    }
}

setvbuf(stdout, nil, _IOLBF, 0) // progress shows as it comes, even into a file
var o = parse()
let state = "/run/pipsqueak"
let scratch = "/tmp/pipsqueak-soak-\(getpid())"
let tracePath = scratch + "/soak.csv"
let sets = try TraceJobs.loadHandlerSets(restrictTo: ProjectPaths.packages)
var (table, body) = try TraceGenerator.mixed(sets: sets, handlers: o.handlers, rate: o.rate, seconds: o.seconds, seed: o.seed)
if let load = o.load {
    // Execution alone: the trace's requests' exec_ms over its span, at this rate; scaled to the load asked.
    try Sys.mkdirs(scratch)
    _ = try TraceJobs.write(table: table, body: body, to: tracePath, comments: [])
    let busy = try TraceStats(trace: try Trace(path: tracePath)).offeredCores
    o.rate *= load * Double(o.cores) / max(busy, 1e-9)
    (table, body) = try TraceGenerator.mixed(sets: sets, handlers: o.handlers, rate: o.rate, seconds: o.seconds, seed: o.seed)
}
// The command as given (a --load run also says the rate it chose).
let command = (["scripts/bench-soak"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
    + (o.load != nil ? String(format: " # → --rate %.4f", o.rate) : "")
let requests = try TraceJobs.write(table: table, body: body, to: tracePath, comments: TraceJobs.provenance(command: command, seed: o.seed))
print("bench-soak: \(requests) requests over \(Int(o.seconds)) s (\(String(format: "%.2f", o.rate)) req/s, \(o.handlers) handlers, seed \(o.seed)); window \(Int(o.window)) s" + (o.http ? "; over HTTP, \(o.cores) cores" : "; in process, one core"))
print("machine: \(MachineDescription.summary)")
print("")
let columns = ["window_end_s", "served", "errors", "p50_ms", "p99_ms", "max_ms", "handler_hits", "import_hits", "cold",
               "rss_mb", "fds", "zygotes", "containers", "processes", "unaccounted", "zombies", "cgroups", "mounts"]
print(columns.joined(separator: "  "))

var rows: [[String]] = []
var windowLatencies: [Double] = []
var windowErrors = 0
var windowTiers = [0, 0, 0]
var windowEnd = Int64(o.window * 1e9)
var totalServed = 0, totalErrors = 0
var firstErrors: [String] = []
var samples: [Resources] = []
var liveWorker: RuntimeWorker?

func closeWindow(at end: Int64) {
    let s = windowLatencies.isEmpty ? nil : Summary(windowLatencies)
    let r = Resources.sample(state: state, worker: liveWorker)
    samples.append(r)
    let row = [String(format: "%.0f", Double(end) / 1e9), "\(windowLatencies.count)", "\(windowErrors)",
               String(format: "%.2f", s?.p50 ?? 0), String(format: "%.2f", s?.p99 ?? 0), String(format: "%.2f", s?.max ?? 0),
               "\(windowTiers[0])", "\(windowTiers[1])", "\(windowTiers[2])",
               String(format: "%.1f", r.rssMB), "\(r.fds)", "\(r.zygotes)", "\(r.containers)", "\(r.processes)",
               "\(r.processes - r.expected)", "\(r.zombies)", "\(r.cgroups)", "\(r.mounts)"]
    rows.append(row)
    print(row.joined(separator: "  "))
    windowLatencies.removeAll(keepingCapacity: true)
    windowErrors = 0
    windowTiers = [0, 0, 0]
}

var job = RunJob()
job.tracePath = tracePath
job.runtime.requestTimeoutSeconds = 60
job.runtime.online = o.online
job.overHTTP = o.http; job.cores = o.cores
job.warmUp = o.http // each handler once before the load: the soak measures steady state, not installs
if let mb = o.handlerMB { job.config.handlerCache.memoryMB = mb }
print("config: \(job.config.summary)")
var lastEnd: Int64 = 0
let summary = try job.run(onRecord: { r in
    while r.arrivalNanos >= windowEnd {
        closeWindow(at: windowEnd)
        windowEnd += Int64(o.window * 1e9)
    }
    windowLatencies.append(Double(r.endNanos - r.arrivalNanos) / 1e6)
    totalServed += 1
    if !r.error.isEmpty {
        windowErrors += 1; totalErrors += 1
        if firstErrors.count < 5 { firstErrors.append(r.error) }
    }
    switch r.tier {
    case .handler: windowTiers[0] += 1
    case .import: windowTiers[1] += 1
    case .cold: windowTiers[2] += 1
    }
    lastEnd = r.endNanos
}, onStart: { liveWorker = $0 }, observe: { _ in
    // The last window is sampled here, before the worker shuts down.
    if !windowLatencies.isEmpty { closeWindow(at: max(windowEnd, lastEnd)) }
})
liveWorker = nil
let after = Resources.sample(state: state, worker: nil)
try? FileManager.default.removeItem(atPath: scratch)

print("")
print("served \(totalServed) requests, \(totalErrors) errors, in \(String(format: "%.0f", summary.simulatedSeconds)) s")
for e in firstErrors { print("  error: \(e)") }
// Warm-up: the first third of the run (installs and zygotes are built then). Baseline: the first window
// after it; compared with the last window.
if samples.count >= 3 {
    let base = samples[samples.count / 3], last = samples[samples.count - 1]
    print(String(format: "after warm-up (window %d → last): rss %.1f → %.1f MB (%+.1f), fds %d → %d, zygotes %d → %d, containers %d → %d, processes %d → %d (unaccounted %d → %d), cgroups %d → %d, mounts %d → %d",
                 samples.count / 3 + 1, base.rssMB, last.rssMB, last.rssMB - base.rssMB, base.fds, last.fds, base.zygotes, last.zygotes,
                 base.containers, last.containers, base.processes, last.processes, base.processes - base.expected,
                 last.processes - last.expected, base.cgroups, last.cgroups, base.mounts, last.mounts))
    let unaccounted = samples.map { $0.processes - $0.expected }
    print("unaccounted processes per window: min \(unaccounted.min()!), max \(unaccounted.max()!); zombies: max \(samples.map(\.zombies).max()!)")
}
print("after shutdown: processes \(after.processes), zombies \(after.zombies), cgroups \(after.cgroups), mounts \(after.mounts)")

let out = try OutputFile(path: o.out)
out.write("# made by: \(command)\n# seed: \(o.seed)\n# machine: \(MachineDescription.summary)\n")
out.write("# latency = end - arrival (queueing included), per window of \(Int(o.window)) s; resources sampled at each window's end\n")
out.write(columns.joined(separator: ",") + "\n")
for r in rows { out.write(r.joined(separator: ",") + "\n") }
try out.commit()
print("wrote \(o.out)")
