import CachePolicy
import Foundation
import Replay
import Results
import Runtime
import Simulation
import Workload

/// The job behind `pipsqueak run`: replay a trace on the real runtime, in real time or faster, with the
/// same planner the simulator uses, writing the same records and decision log.
public struct RunJob {
    public var tracePath = ProjectPaths.defaultMixedTrace
    public var handlersPath: String?
    public var config: PolicyConfig = PolicyConfig.presets["all"]!
    public var seed: UInt64 = 1
    /// Replay speed: 1 is real time, 10 is ten times faster.
    public var speed = 1.0
    /// Stop after this many requests (nil: the whole trace).
    public var limit: Int?
    public var packagesPath = ProjectPaths.packages
    public var wheelhouse = MeasureOptions.defaultCache + "/wheelhouse"
    public var recordsPath: String?
    public var decisionsPath: String?
    public var runtime = RuntimeOptions(wheelhouse: "")
    public var progress: (String) -> Void = { _ in }
    /// Called when the last reply is in, before the load generator and the worker are stopped (their threads
    /// are still alive to be read).
    public var onReplayed: () -> Void = {}
    /// Send the requests over HTTP, open loop, to a worker (`url`, or one started here on loopback with
    /// `cores` and `queueLimit`) instead of calling the runtime in this process one at a time.
    public var overHTTP = false
    public var url: String?
    public var cores = 1
    public var queueLimit = 64
    /// Before the replay, send each handler of the trace one request, one at a time, and record none of
    /// them (installs and zygotes are then built before the load starts; a soak measures steady state).
    public var warmUp = false
    /// Write ReqBench-style phase timestamps (one row per request) here.
    public var timestampsPath: String?
    /// Package import costs times this in the planner's catalog (`CostModel.importScale`; `compare` sets it
    /// from its import speed probe, the same for both executors).
    public var importScale = 1.0

    public init() {}

    /// Set by a signal handler: the replay stops after the request in flight and shuts down cleanly.
    nonisolated(unsafe) public static var interrupted = false

    /// SIGINT and SIGTERM set `interrupted` (instead of ending the process with its containers alive).
    public static func stopOnInterrupt() { Sys.onInterrupt { _ in RunJob.interrupted = true } }

    /// A real run stopped by SIGINT or SIGTERM (`interrupted`; its worker has shut down and removed what it
    /// made): the job that ran it stops there, without writing the file whose rows would be partial.
    public struct Interrupted: Error, CustomStringConvertible {
        public let unwritten: String
        public var description: String { "interrupted: the real run stopped and cleaned up; \(unwritten) is not written (files written before it are kept)" }
    }

    /// Throws `Interrupted` once a real run has been stopped (`reproduce` and `compare` call it after each).
    static func stopIfInterrupted(unwritten: String) throws {
        if interrupted { throw Interrupted(unwritten: unwritten) }
    }

    /// Makes sure the wheelhouse holds a wheel for every package `trace`'s handlers need (their dependencies
    /// included) before anything runs: with `runtime.online`, fetches the missing ones from the package index
    /// now (`pip download`), so no request's latency holds a download from the internet; otherwise throws,
    /// naming them and saying how to get them. A fresh machine's wheelhouse is empty.
    public func ensureWheels(_ trace: Trace, table: PackageTable, progress: (String) -> Void = { _ in }) throws {
        var names = Set<String>()
        for h in trace.handlers.handlers {
            for n in h.packages { if let p = table[n] { names.insert(p.name); names.formUnion(p.transitiveDependencies) } }
        }
        let missing = PackageMeasurer.missingWheels(names.sorted().compactMap { table[$0] }, in: wheelhouse)
        guard !missing.isEmpty else { return }
        let list = missing.prefix(8).map { "\($0.name) \($0.version)" }.joined(separator: ", ") + (missing.count > 8 ? " and \(missing.count - 8) more" : "")
        guard runtime.online else {
            throw RuntimeError.unavailable("the wheelhouse \(wheelhouse) lacks the wheels of \(missing.count) package(s) the trace needs: \(list). Pass --online to fetch them from the package index before the run starts, or fill it with `pipsqueak measure NAME …`.")
        }
        try PackageMeasurer.fetchWheels(missing, into: wheelhouse, python: try PythonInterpreter.resolve(), purpose: "before the run", progress: progress)
    }

    /// The real worker for `trace`'s handlers with this job's configuration (every package of the trace must
    /// be measured: the runtime installs named versions), and the interpreter it runs.
    func makeWorker(_ trace: Trace, cores: Int = 1) throws -> (RuntimeWorker, PythonInterpreter) {
        let table = try PackageTable.read(path: packagesPath)
        var missing = Set<String>()
        for h in trace.handlers.handlers { for p in h.packages where table[p] == nil { missing.insert(p) } }
        guard missing.isEmpty else {
            throw CostModelError("the real runtime can only install measured packages; not in \(packagesPath): \(missing.sorted().prefix(10).joined(separator: ", "))\(missing.count > 10 ? " …" : ""). Generate the trace with `trace generate mixed --only-measured \(packagesPath)`.")
        }
        try ensureWheels(trace, table: table, progress: progress)
        let job = SimulateJob()
        let costs = try CostModel(table: table, handlers: trace.handlers, runtime: try job.runtimeCosts(),
                                  overlap: try ImportOverlap.beside(packagesPath: packagesPath), importScale: importScale, seed: seed)
        let planner = try Planner(config: config, catalog: costs.catalog(handlers: trace.handlers), popularPackages: job.popularPackages())
        var options = runtime
        options.wheelhouse = wheelhouse
        options.cgroupPoolSize = max(options.cgroupPoolSize, cores + 1)
        options.standbysPerZygote = max(options.standbysPerZygote, cores)
        let python = try PythonInterpreter.resolve()
        let worker = try RuntimeWorker(planner: planner, handlers: trace.handlers, packages: costs.packages, options: options, python: python)
        return (worker, python)
    }

    /// Runs the replay. `onRecord` sees each record, `onDecision` each decision-log line, `onStart` the worker
    /// once it is built (a soak samples it), and `observe` the worker before it shuts down (compare reads the
    /// outcomes it reported).
    public func run(onRecord: @escaping (RequestRecord) -> Void = { _ in }, onDecision: @escaping (String) -> Void = { _ in },
                    onStart: (RuntimeWorker) -> Void = { _ in },
                    observe: (RuntimeWorker) -> Void = { _ in }) throws -> SimulationSummary {
        if overHTTP { return try runOverHTTP(onRecord: onRecord, onDecision: onDecision, onStart: onStart, observe: observe) }
        let trace = try Trace(path: tracePath, handlersPath: handlersPath)
        let (worker, python) = try makeWorker(trace)
        defer { observe(worker); worker.shutdown() }
        onStart(worker)
        let header = ["made by: " + Provenance.madeBy("pipsqueak run --trace \(tracePath) --speed \(speed) --seed \(seed)\(limit.map { " --limit \($0)" } ?? "")"), "config: \(config.summary)",
                      "machine: \(MachineDescription.summary)", "python: \(python.version)"]
        var records: RecordWriter?
        if let r = recordsPath { try ProjectPaths.ensureParent(of: r); records = try RecordWriter(path: r, handlers: trace.handlers, comments: header) }
        var decisions: DecisionLog?
        if let d = decisionsPath { try ProjectPaths.ensureParent(of: d); decisions = try DecisionLog(path: d, comments: header) }
        worker.lifecycle.onDecision = { decisions?.append($0); onDecision($0) }
        var summary = SimulationSummary()
        let reader = try trace.makeReader()
        let start = worker.epochNanos
        var n = 0
        var errors = 0
        // The same driver the simulator replays on, over the wall clock; one core (the worker serves one
        // request at a time), arrivals at the trace's times divided by `speed`.
        let executor = RuntimeReplayExecutor(worker: worker)
        executor.onServed = { r in
            summary.add(r)
            records?.append(r)
            onRecord(r)
            if !r.error.isEmpty { errors += 1; progress("request \(r.request) (\(trace.handlers[r.handler].id)): \(r.error)") }
            if summary.requests % 50 == 0 {
                progress(String(format: "[%d] %.1f s; handler %.0f%%, import %.0f%%, cold %.0f%%; %d errors", summary.requests,
                                Double(Sys.monotonicNanos() - start) / 1e9, 100 * summary.ratio(.handler), 100 * summary.ratio(.import),
                                100 * summary.ratio(.cold), errors))
            }
        }
        let replay = Replay<RuntimeReplayExecutor, WallClock>(cores: 1, clock: WallClock(origin: start))
        // Interrupted: the requests already waiting are not started either (at 10x speed a queue of pip
        // installs went on for minutes after SIGINT).
        replay.shouldStop = { RunJob.interrupted }
        try replay.run(executor) {
            guard !RunJob.interrupted, limit.map({ n < $0 }) ?? true, let inv = try reader.nextInvocation() else { return nil }
            n += 1
            return Invocation(arrivalNanos: Int64(Double(inv.arrivalNanos) / speed), handler: inv.handler)
        }
        onReplayed()
        summary.simulatedSeconds = Double(Sys.monotonicNanos() - start) / 1e9
        summary.zygotesCreated = worker.lifecycle.zygotesReady
        summary.zygotesFailed = worker.lifecycle.zygotesFailed
        summary.pausesFailed = worker.lifecycle.pausesFailed
        summary.installsFailed = worker.lifecycle.installsFailed
        summary.queued = replay.queued; summary.maxWaiting = replay.maxWaiting
        if replay.dropped > 0 { progress("interrupted: \(replay.dropped) requests waiting for the core were not started") }
        try records?.commit()
        try decisions?.commit()
        return summary
    }
}

/// The job behind `pipsqueak cleanup`: removes what a crashed run left behind, and nothing of a live one.
public enum CleanupJob {
    /// The pid of the process that owns a cgroup or run directory, from its name (`run<pid>w<n>…`,
    /// `install-<pid>-…`, `download-<pid>-…`), if it has one.
    static func owner(of name: String) -> Int32? { pid(in: name, after: ["run", "install-", "download-", "worker-"]) }

    /// The pid that follows whichever of `prefixes` `name` starts with, when `ends` accepts the character after
    /// it (nil: the name ends there).
    static func pid(in name: String, after prefixes: [String], ends: (Character?) -> Bool = { _ in true }) -> Int32? {
        for prefix in prefixes where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let digits = rest.prefix { $0.isNumber }
            if !digits.isEmpty, ends(rest.dropFirst(digits.count).first) { return Int32(digits) }
        }
        return nil
    }

    /// What a process leaves in the temporary directory and removes itself unless it is killed first:
    /// `ChildProcess`'s output files, `calibrate`'s workbench and `reproduce`'s generated traces, each named
    /// `PREFIX<pid>-…` or `PREFIX<pid>`.
    static let temporaryPrefixes = ["pipsqueak-out-", "pipsqueak-err-", "pipsqueak-calibrate-", "pipsqueak-reproduce-",
                                    "pipsqueak-reproduce-real-"]

    /// The pid in a temporary entry's name (`temporaryPrefixes`), if it is one of them.
    static func temporaryOwner(of name: String) -> Int32? {
        // The pid ends the name or a dash follows it (not a UUID's first hex group).
        pid(in: name, after: temporaryPrefixes, ends: { $0 == nil || $0 == "-" })
    }

    /// Whether the owner named in `name` is alive (and is not this process).
    static func ownerIsAlive(_ name: String) -> Int32? {
        guard let pid = owner(of: name), pid != Sys.pid, Sys.isAlive(pid) else { return nil }
        return pid
    }

    /// Kills every process in a `pipsqueak` cgroup, removes the groups, detaches mounts under the state
    /// directories, and removes the run directories, except those whose owner (the pid in the name) is
    /// alive: a live worker or run is left alone unless `force`. With `dryRun`, removes nothing and says
    /// what it would do. With `owner`, only what that pid owns is touched. Returns a line per thing. Every leftover is tried even when one fails; failures
    /// are thrown together at the end, after everything else was removed.
    public static func run(stateDirectory: String = "/run/pipsqueak", packageDirectory: String = "/var/cache/pipsqueak/install-cache",
                           force: Bool = false, dryRun: Bool = false, owner only: Int32? = nil) throws -> [String] {
        var done: [String] = [], failures: [String] = []
        func mine(_ name: String) -> Bool { only == nil || owner(of: name) == only }
        let verb = dryRun ? "would remove" : "removed"
        func live(_ name: String) -> Bool {
            guard !force, let pid = ownerIsAlive(name) else { return false }
            done.append("left alone \(name): its owner, pid \(pid), is alive (--force removes it)")
            return true
        }
        /// Detaches every mount under `path` (deepest first), then removes it; with a mount that stays, nothing
        /// is removed (never through a mount: a killed calibration left its containers' read-only views of /usr
        /// and the interpreter, and devices, mounted in its workbench), and a removal that fails is a failure,
        /// not a line saying it was removed.
        func remove(_ path: String, as what: String) {
            for m in Sys.mounts(under: path + "/") { done.append("\(verb) mount \(m)") }
            if dryRun { done.append("\(verb) \(what)"); return }
            let stuck = Sys.detachMounts(under: path + "/")
            guard stuck.isEmpty else {
                failures.append("\(path): \(stuck.count) mounts under it would not detach (\(stuck[0])): left in place")
                return
            }
            // Its owner may be removing it meanwhile (a run ending as --force tears it down): a part gone under
            // the removal is tried again, and a directory gone is gone.
            for attempt in 1...3 {
                do {
                    try FileManager.default.removeItem(atPath: path)
                    done.append("\(verb) \(what)")
                    return
                } catch {
                    if !FileManager.default.fileExists(atPath: path) { done.append("\(what): gone already"); return }
                    if attempt == 3 { failures.append("\(path): \(error)") } else { Sys.sleep(micros: 50_000) }
                }
            }
        }
        var liveRuns = Set<String>()
        if let cg = try? Cgroups.detect() {
            for name in cg.leftovers() where mine(name) {
                if name.hasPrefix("worker-"), let pid = owner(of: name) {
                    // A worker's own process's CPU group: never killed, even with --force; removed once empty.
                    if Sys.isAlive(pid) {
                        done.append("left alone cgroup pipsqueak/\(name): the worker's own process, pid \(pid), is in it")
                        liveRuns.insert(name)
                    } else if dryRun { done.append("\(verb) cgroup pipsqueak/\(name)") } else {
                        do { try cg.removeEmpty(name); done.append("\(verb) cgroup pipsqueak/\(name)") }
                        catch { failures.append("cgroup pipsqueak/\(name): \(error)") }
                    }
                    continue
                }
                if live(name) { liveRuns.insert(name); continue }
                let g = cg.group(name)
                let pids = g.pids()
                if dryRun { done.append("\(verb) cgroup pipsqueak/\(name)" + (pids.isEmpty ? "" : " (killing \(pids.count) processes)")); continue }
                do {
                    try g.destroy()
                    done.append("\(verb) cgroup pipsqueak/\(name)" + (pids.isEmpty ? "" : " (killed \(pids.count) processes)"))
                } catch { failures.append("cgroup pipsqueak/\(name): \(error)") }
            }
            if !dryRun && liveRuns.isEmpty && only == nil { cg.removeParent() }
        }
        for dir in [stateDirectory, packageDirectory] {
            for e in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where e.hasPrefix("run") && mine(e) {
                if !force, let pid = ownerIsAlive(e) {
                    done.append("left alone \(dir)/\(e): its owner, pid \(pid), is alive (--force removes it)")
                    continue
                }
                remove(dir + "/" + e, as: "directory \(dir)/\(e)")
            }
        }
        // Temporary files and directories of processes that are gone (a live one's, this process's included,
        // may be in use: left alone without a word). `calibrate`'s workbench is under /tmp, ChildProcess's
        // files under $TMPDIR.
        let temporary = Set([FileManager.default.temporaryDirectory.path, "/tmp"]).sorted().flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { (dir, $0) }
        }
        for (dir, e) in temporary {
            guard let pid = temporaryOwner(of: e), only == nil || pid == only, pid != Sys.pid, !Sys.isAlive(pid) else { continue }
            remove(dir + "/" + e, as: "\(dir)/\(e)")
        }
        if !failures.isEmpty {
            throw RuntimeError.unavailable("cleanup removed \(done.count) things but not: \(failures.joined(separator: "; ")) (run it again)")
        }
        return done
    }
}
