import CachePolicy
import Foundation
import Synchronization
import Workload

/// One zygote build as the worker timed it: ns from the maintenance thread taking it up (installs done) until
/// its socket answered; of that, its imports inside the zygote, wall time; and the CPU time the zygote spent
/// on them (nil where not known: a file written before it was reported). Imports that ran slower than alone
/// either waited for a core (wall well over CPU) or did more work (CPU over an import alone).
public struct ZygoteBuildTime: Sendable, Equatable {
    public var wall: Int64
    public var imports: Int64
    public var importsOnCPU: Int64?
    public init(wall: Int64, imports: Int64, importsOnCPU: Int64? = nil) {
        self.wall = wall; self.imports = imports; self.importsOnCPU = importsOnCPU
    }
}

/// The real executor: carries out the planner's decisions with real processes, cgroups, namespaces,
/// freezer and pip, and times every phase on the monotonic clock.
///
/// Lifecycle: `init` (creates the `pipsqueak` parent cgroup and the state directory, builds the initial
/// zygotes and pre-installs) → `serve` per request, from any number of threads at once → `shutdown` (kills
/// and removes everything it made).
///
/// Concurrency: the planner is single-owner, so every lifecycle call (a plan, an outcome) and every change
/// to the worker's tables happens under `state`; the mechanics (thaw, install, fork, import, a handler's
/// execution) run outside it, so C requests make progress at once. Two requests needing one package share
/// its install (the second waits for the first); a zygote the planner evicts while a request forks from it
/// goes when that fork is done. Zygotes the planner asks for are built after the request that asked: on
/// the request's thread before it returns (`backgroundMaintenance` off: a one-core replay, as the simulator
/// has it), or on the maintenance thread (on: `serve`, so the reply is not held up).
public final class RuntimeWorker: @unchecked Sendable {
    /// Owns every plan from start to finish (decision log, outcomes, records); the worker only carries
    /// plans out and reports what happened. `lifecycle.onDecision` receives the decision log.
    public let lifecycle: PlanLifecycle
    public var planner: Planner { lifecycle.planner }
    var catalog: Catalog { planner.catalog }
    /// Handlers by planner id (grows when `addHandler` registers one).
    public internal(set) var handlers: HandlerTable
    /// Package metadata (version, top-level modules) by catalog id.
    var packages: [Package]
    let options: RuntimeOptions
    let python: PythonInterpreter
    let cgroups: Cgroups
    let script: WorkerScript
    public let store: PackageStore
    let runDir: String
    let runID: String
    let packageDir: String
    /// The run's time origin, set when start-up (initial zygotes, pre-installs, handler code) is done: the
    /// planner is handed monotonic time since this instant, and a replay's clock starts here.
    public private(set) var epochNanos = Sys.monotonicNanos()
    /// Monotonic ns since `epochNanos`.
    public func now() -> Int64 { Sys.monotonicNanos() - epochNanos }

    final class ZygoteHandle {
        let id: Int64
        let socket: String
        let cgroup: Cgroup
        /// Requests forking from it now; an eviction while there are any waits for the last (`doomed`).
        var users = 0
        var doomed = false, tornDown = false
        /// A root zygote's process id (the shell that joined its cgroup, exec'd into Python).
        var pid: Int32?
        /// Its standby children (up to `options.standbysPerZygote`): each sits in a pooled cgroup with its
        /// namespaces made and waits on its own socket for one fork request.
        var standbys: [Standby] = []
        var standbySeq = 0
        /// What the planner asked for: which packages it installs, and where (its own copy or the cache).
        let spec: ZygoteSpec
        init(spec: ZygoteSpec, socket: String, cgroup: Cgroup) { id = spec.id; self.spec = spec; self.socket = socket; self.cgroup = cgroup }
    }

    struct Standby {
        let cgroup: Cgroup
        let socket: String
        /// When the maintenance thread asked the zygote for it (monotonic ns): with the child's own stamp of
        /// when it was ready, how long a standby takes to be ready after it is asked for.
        var askedNanos: Int64 = 0
        /// Kills the standby child (with its group) and removes its socket.
        func discard() {
            try? cgroup.destroy()
            try? FileManager.default.removeItem(atPath: socket)
        }
    }

    final class ContainerHandle {
        let id: Int64
        let cgroup: Cgroup
        let channel: LineChannel
        /// Held while the container is being frozen (outside `state`): a request the planner gives it to
        /// next waits until the freeze is done before it thaws it.
        let pausing = DispatchSemaphore(value: 1)
        /// Its freezer and memory files, kept open for its hits; closed before the group is removed.
        let files: CgroupFiles
        init(id: Int64, cgroup: Cgroup, channel: LineChannel) {
            self.id = id; self.cgroup = cgroup; self.channel = channel; files = CgroupFiles(cgroup)
        }
    }

    /// The read-only base root every handler container starts from (system directories mounted once).
    var base: ContainerRoot!
    /// The sandboxed zygotes' world (nil: zygotes run unsandboxed).
    var zygoteView: ContainerRoot?
    /// Cgroups created ahead of need, so a start only takes one (SOCK keeps such a pool too).
    var cgroupPool: [Cgroup] = []
    var cgroupSeq = 0
    /// The v1 freezer's anchor (see `init`), removed at shutdown.
    var freezerAnchor: Cgroup?
    /// Registered handlers' code folders (`addHandler`), by id.
    var handlerDirs: [Int32: String] = [:]
    static let workersStarted = Atomic<Int>(0)
    /// This process's own CPU group (`Cgroups.enterSelfGroup`): how many workers are in it, and the group the
    /// process came from (it goes back when the last one shuts down).
    static let selfGroup = Mutex<(workers: Int, origin: String?)>((0, nil))
    /// Whether this worker counts in `selfGroup`.
    private var inSelfGroup = false

    var zygotes: [Int64: ZygoteHandle] = [:]
    /// Guards the lifecycle and the tables (zygotes, containers, the cgroup pool, installs in flight). Held for
    /// bookkeeping only, never across a fork, an install, an import or a handler's execution. Recursive: the
    /// lifecycle's `carryOut` re-enters it.
    let state = NSRecursiveLock()
    @inline(__always) func locked<T>(_ body: () throws -> T) rethrows -> T {
        state.lock(); defer { state.unlock() }
        return try body()
    }
    /// Requests served (maintenance reaps zombies every so many).
    var served = 0
    /// Set when `shutdown` begins (under `state`): maintenance queued earlier and run later does nothing.
    var closing = false
    /// Shared installs in flight, by package: a second request needing the package waits for the first.
    var installing: [Int32: InstallWait] = [:]
    /// Builds zygotes, prepares standby children and refills the cgroup pool off the request path, in order:
    /// one thread (`pipsqueak-maint`, started when first needed), at a container's CPU weight where the
    /// cgroups allow (`Cgroups.maintenanceGroupName`).
    let maintenance = NamedThreads()
    /// Do maintenance (zygote builds, standbys, the cgroup pool) on `maintenance` instead of on the request's
    /// thread before it returns. `serve` sets it; a one-core replay keeps it off, so the next request sees
    /// the zygotes built, as in the simulator.
    public var backgroundMaintenance = false
    /// Leave the install cache (`installCacheDirectory`) in place at shutdown for the caller to remove later:
    /// `compare` removes its runs' after the last one, so that no run installs just after thousands of files
    /// were deleted (on ext4 without a journal, inodes deleted in the last 60-360 s are skipped one by one at
    /// every file creation: an install after many deletions took up to 5 × as long here).
    public var keepsInstallCache = false
    /// This worker's install cache (under `RuntimeOptions.packageDirectory`, named after the run).
    public var installCacheDirectory: String { packageDir }
    /// How long the last freeze took, ns (calibration reads it).
    public private(set) var lastFreezeNanos: Int64 = 0
    /// What the worker's own off-path work cost and how starts used it (calibration reads it; under `state`).
    public struct MaintenanceStats: Sendable {
        /// Import starts that forked from a zygote's standby child, and those that found none and forked
        /// the zygote itself (the child then joins its cgroup and makes its namespaces on the request's path).
        public var standbyForks = 0, directForks = 0
        /// Each standby child prepared (the zygote forks, the child joins a pooled cgroup and makes its
        /// namespaces), wall time, ns; the latest `sampleLimit`.
        public var standbyPrepNanos: [Int64] = []
        /// Each standby child a start used: from when it was asked for until it was in its cgroup with its
        /// namespaces made (the child's own stamp), ns; the latest `sampleLimit`. Joining a cgroup on v1 waits
        /// for an RCU grace period, after the zygote has answered: a start that takes the child sooner waits.
        public var standbyReadyNanos: [Int64] = []
        /// Each pooled cgroup made (created in every controller, delegated), wall time, ns; the latest `sampleLimit`.
        public var cgroupCreateNanos: [Int64] = []
        /// Each zygote built (those of start-up too): from the maintenance thread taking it up (installs done)
        /// until its socket answered, and the part of that its imports took inside it, ns; the latest
        /// `sampleLimit`.
        public var zygoteBuilds: [ZygoteBuildTime] = []
        public static let sampleLimit = 10_000
        /// Appends a sample to `xs`, keeping the latest `sampleLimit` (the older half dropped when full).
        static func keep<T>(_ x: T, in xs: inout [T]) {
            if xs.count >= sampleLimit { xs.removeFirst(sampleLimit / 2) }
            xs.append(x)
        }
        mutating func noteBuild(_ b: ZygoteBuildTime) { Self.keep(b, in: &zygoteBuilds) }
        mutating func note(_ ns: Int64, in xs: WritableKeyPath<MaintenanceStats, [Int64]>) { Self.keep(ns, in: &self[keyPath: xs]) }
    }
    var stats = MaintenanceStats()
    /// A copy of the maintenance figures so far.
    public var maintenanceStats: MaintenanceStats { locked { stats } }
    var containers: [Int64: ContainerHandle] = [:]

    /// - Parameter packages: metadata for every package the catalog knows, by name.
    public init(planner: Planner, handlers: HandlerTable, packages: [String: Package], options: RuntimeOptions,
                python: PythonInterpreter) throws {
        guard Sys.isRoot else { throw RuntimeError.unavailable("the real runtime needs root (cgroups, namespaces, mounts)") }
        lifecycle = PlanLifecycle(planner: planner, handlers: handlers)
        let catalog = planner.catalog // the argument: self.planner is not set yet
        self.handlers = handlers
        self.options = options
        self.python = python
        self.packages = (0..<catalog.count).map { packages[catalog[Int32($0)].name] ?? Package(name: catalog[Int32($0)].name) }
        cgroups = try Cgroups.detect()
        try cgroups.ensureParent()
        script = try WorkerScript.locate()
        // Unique per worker, not only per process: two workers of one process must never share a cgroup.
        runID = "run\(Sys.pid)w\(RuntimeWorker.workersStarted.add(1, ordering: .relaxed).newValue)"
        runDir = options.stateDirectory + "/" + runID
        try? FileManager.default.removeItem(atPath: runDir)
        for d in ["sockets", "roots", "handlers"] { try Sys.mkdirs(runDir + "/" + d) }
        packageDir = options.packageDirectory + "/" + runID
        try? FileManager.default.removeItem(atPath: packageDir)
        store = try PackageStore(root: packageDir, wheelhouse: options.wheelhouse, worker: script,
                                 cgroups: cgroups, sandboxBase: runDir + "/roots")
        store.online = options.online
        store.python = python
        lifecycle.carryOut = { [unowned self] e in self.carryOut(e) }
        Sys.becomeSubreaper()
        Sys.ignoreBrokenPipes()
        Sys.raiseOpenFileLimit()
        do {
            // The worker's own threads share the cores with its containers and zygotes from a group of their own,
            // at a sixteenth of a container's weight (`Cgroups.selfGroupWeightShare`).
            try RuntimeWorker.selfGroup.withLock { g in
                if g.workers == 0 { g.origin = try cgroups.enterSelfGroup() }
                g.workers += 1
            }
            inSelfGroup = true
            // The zygotes' and standby children's sockets live in a tmpfs of their own: bound on the host's disk,
            // each socket is a new inode, and ext4 without a journal (this project's machine) skips the inodes
            // deleted in the last minute one by one, so every standby child bound its socket slower than the
            // last (a fresh worker's first burst spent 53 ms of CPU in those binds; `perf`: unix_bind →
            // ext4_mknod → recently_deleted).
            try Sys.mountTmpfs(runDir + "/sockets", megabytes: 1, mode: 0o755)
            // Handler code is written (and compiled) up front, not on a request's path.
            for h in 0..<handlers.count { _ = try handlerDirectory(Int32(h)) }
            base = try ContainerRoot(base: runDir + "/roots", name: "base", python: python)
            try base.makeBase(extraPoints: [packageDir])
            if options.sandboxZygotes { try makeZygoteView() }
            try refillCgroupPool()
            if cgroups.version == .v1 {
                // An empty group kept frozen for the worker's life. The v1 freezer switches a kernel static key
                // whenever the number of freezing groups goes between 0 and 1, which patches kernel text on
                // every CPU (IPIs): with one container, every handler hit thawed the last frozen group and
                // froze it again, paying that twice (18% of the CPU under wrk). The anchor keeps the count up.
                let anchor = cgroups.group("\(runID)-anchor")
                try anchor.create(memoryLimitBytes: Bytes.perMB * 16, pidsLimit: 1)
                try anchor.freeze()
                freezerAnchor = anchor
            }
            for id in planner.initialInstalls { _ = try installPackage(id) }
            for z in planner.initialZygotes {
                do { _ = try buildZygote(z) } catch where z.parent != nil { _ = zygoteFailed(z.id, error) }
            }
            prepareStandbys()
        } catch {
            shutdown()
            throw error
        }
        epochNanos = Sys.monotonicNanos()
    }

    // MARK: Serving

    /// Serves one request now; returns its record (phases measured). Safe to call from several threads at once.
    public func serve(handler: Int32, arrivalNanos: Int64, startNanos: Int64) -> RequestRecord {
        serveWithReply(handler: handler, arrivalNanos: arrivalNanos, startNanos: startNanos).0
    }

    /// Serves one request and also returns what the handler returned (tests inspect it).
    public func serveReturningResult(handler: Int32, now: Int64) throws -> (RequestRecord, Any?) {
        let (r, reply) = serveWithReply(handler: handler, arrivalNanos: now, startNanos: now)
        return (r, reply?["result"])
    }

    func serveWithReply(handler: Int32, arrivalNanos: Int64, startNanos: Int64) -> (RequestRecord, [String: Any]?) {
        let s = serveEvent(handler: handler, event: nil, arrivalNanos: arrivalNanos, startNanos: startNanos)
        return (s.record, s.reply)
    }

    /// What serving one request gave: its record, the handler process's reply (its `result`, or its `error`
    /// and `traceback` when it raised), and how it failed if it did.
    public struct Served {
        public var record: RequestRecord
        public var reply: [String: Any]?
        public enum Failure: Equatable, Sendable {
            /// The handler raised: the reply has `error` and `traceback`; its container is sound.
            case raised
            /// No reply within the request timeout (the container is destroyed).
            case timedOut
            /// The start or the request failed otherwise (`record.error` says how).
            case failed
        }
        public var failure: Failure?
        public init(record: RequestRecord, reply: [String: Any]?, failure: Failure?) {
            self.record = record; self.reply = reply; self.failure = failure
        }
    }

    /// Serves one request with `event` (nil: `{"request": N}`), planned at `startNanos` (ns since `epochNanos`).
    /// Safe to call from several threads at once.
    public func serveEvent(handler: Int32, event: Any?, arrivalNanos: Int64, startNanos: Int64) -> Served {
        var lastReply: [String: Any]? = nil
        var (plan, r) = locked {
            let started = lifecycle.start(handler: handler, arrivalNanos: arrivalNanos, now: startNanos)
            reserveInstalls(started.0)
            return started
        }
        var container: ContainerHandle?
        /// The handler raised (its container is sound and may be paused); any other error breaks it.
        var raised = false, timedOut = false
        do {
            switch plan.tier {
            case .handler:
                guard let c = locked({ containers[plan.container] }) else { throw RuntimeError.unavailable("container c\(plan.container) is gone") }
                let t0 = Sys.monotonicNanos()
                c.pausing.wait(); c.pausing.signal() // its last request's freeze is done
                try c.files.thaw()
                r.createNanos = Sys.monotonicNanos() - t0
                container = c
            case .import, .cold:
                let shared = Set(plan.installCached), owner = "c\(plan.container)"
                for p in plan.install {
                    let (dl, inst) = try installPackage(p, privateTo: shared.contains(p) ? nil : owner, plannedBy: owner)
                    r.downloadNanos += dl
                    r.installNanos += inst
                }
                // Packages the plan counts on as installed may still be installing for another request.
                r.installNanos += try awaitInstalls(locked { catalog.profile(handler).importOrder })
                container = try start(plan: plan, handler: handler, record: &r)
            }
            let t0 = Sys.monotonicNanos()
            try container!.channel.send(WorkerProtocol.Request.invoke(event: event ?? ["request": plan.request]).message)
            let reply = try container!.channel.receive(timeoutSeconds: options.requestTimeoutSeconds)
            r.execNanos = Sys.monotonicNanos() - t0
            lastReply = reply
            if let e = reply["error"] as? String { r.error = e; raised = reply["raised"] as? Bool == true }
        } catch {
            // Only on failure: was a paused container's process already dead? (Not asked on every hit.)
            if plan.tier == .handler, let c = container, c.cgroup.isEmpty {
                r.error = "container c\(plan.container)'s process died while it was paused (\(error))"
            } else {
                r.error = "\(error)"
            }
            if case RuntimeError.timeout = error { timedOut = true }
        }
        if plan.tier != .handler { locked { releaseReservations(owner: "c\(plan.container)", because: "the request that was to install it failed first") } }
        r.endNanos = startNanos + r.downloadNanos + r.installNanos + r.createNanos + r.forkNanos + r.importNanos + r.initNanos + r.execNanos
        // Idle: freeze into the handler cache or destroy, as the planner says. Once the planner has the
        // container in its cache another request may take it: it waits for the freeze (`pausing`).
        let memory = container?.files.memoryBytes() ?? 0
        let broken = container == nil || (!r.error.isEmpty && !raised)
        let (paused, createZygotes): (Bool, [ZygoteSpec]) = locked {
            let idle = lifecycle.finish(r, container: plan.container, memoryBytes: memory, failed: broken, now: now())
            if idle.paused, let c = container {
                // In the handler cache from now on: whoever takes it waits for this freeze (`pausing`).
                c.pausing.wait()
                return (true, plan.createZygotes)
            }
            destroyContainer(plan.container)
            return (false, plan.createZygotes)
        }
        if paused, let c = container {
            let tf = Sys.monotonicNanos()
            do {
                if faults.failNextFreeze { faults.failNextFreeze = false; throw RuntimeError.unavailable("freeze failed (injected by a test)") }
                try c.files.freeze()
                lastFreezeNanos = Sys.monotonicNanos() - tf // frozen in the handler cache
                c.pausing.signal()
            } catch {
                // The planner counted it as paused: it hears of the failure and drops it (destroyed).
                FileHandle.standardError.write(Data("pipsqueak: could not pause container c\(plan.container): \(error)\n".utf8))
                c.pausing.signal()
                locked { lifecycle.pauseFailed(container: plan.container, now: now()) }
            }
        }
        maintain(building: createZygotes)
        let failure: Served.Failure? = r.error.isEmpty ? nil : raised ? .raised : timedOut ? .timedOut : .failed
        return Served(record: r, reply: lastReply, failure: failure)
    }

    /// After a request: builds the zygotes its plan asked for, tops up the cgroup pool and gives zygotes
    /// their standby children; on the maintenance thread with `backgroundMaintenance`, else now.
    func maintain(building specs: [ZygoteSpec]) {
        let work = { [self] in
            for z in specs { build(z) }
            refillCgroupPoolOffLock()
            prepareStandbys()
        }
        guard backgroundMaintenance else { return work() }
        // Only when there is something to do (a handler-cache hit leaves nothing): a build, a pool below its
        // size, a zygote short of standby children, or zombies to reap now and then.
        let needed: Bool = locked {
            served &+= 1
            return !specs.isEmpty || cgroupPool.count < options.cgroupPoolSize || served % 64 == 0
                || zygotes.values.contains { $0.standbys.count < options.standbysPerZygote && !$0.doomed }
        }
        if needed { inBackground(work) }
    }

    /// The maintenance thread's name (the kernel keeps 15 bytes: this).
    public static let maintenanceThreadName = "pipsqueak-maint"

    /// Moves the calling thread into the group the maintenance thread is in (`Cgroups.enterMaintenanceGroup`:
    /// a container's CPU weight, on v1): `serve`'s cores' threads call it, since between the steps of a
    /// request they carry it out (send it, read the reply, freeze the container), and at the worker's
    /// sixteenth each of those steps waited for a core behind the containers.
    public func enterThreadGroup() { cgroups.enterMaintenanceGroup() }

    /// Runs `work` on the maintenance thread, unless a shutdown has begun by the time it comes up (what it
    /// would make would outlive the worker).
    func inBackground(_ work: @escaping () -> Void) {
        let cg = cgroups
        maintenance.start(name: RuntimeWorker.maintenanceThreadName, count: 1, prologue: { cg.enterMaintenanceGroup() })
        maintenance.submit { [self] in
            guard !locked({ closing }) else { return }
            work()
        }
    }

    /// Waits until none of `ids` is being installed by another request; returns ns waited. Throws when the
    /// install waited for failed.
    func awaitInstalls(_ ids: [Int32]) throws -> Int64 {
        let waits = locked { ids.compactMap { installing[$0] } }
        guard !waits.isEmpty else { return 0 }
        let t0 = Sys.monotonicNanos()
        for w in waits { try w.wait(timeoutSeconds: options.installWaitSeconds) }
        return Sys.monotonicNanos() - t0
    }

    /// Failures a test can ask for, where the kernel gives no way to cause them on demand.
    public struct Faults: Sendable {
        /// The next freeze of a container fails.
        public var failNextFreeze = false
        /// The next this many zygote builds fail (before any process is started).
        public var failZygoteBuilds = 0
    }
    public var faults = Faults()

    /// Builds a zygote the planner asked for and reports the outcome; builds whatever the planner asks for
    /// in its place when it fails (bounded: the planner answers a failed build with no rebuild).
    func build(_ first: ZygoteSpec) {
        var next: ZygoteSpec? = first
        while let z = next {
            next = nil
            do {
                let mem = try buildZygote(z)
                locked { _ = lifecycle.zygoteReady(z.id, memoryBytes: mem, now: now()) }
            } catch {
                next = zygoteFailed(z.id, error)
            }
            locked { releaseReservations(owner: "z\(z.id)", because: "zygote z\(z.id), which was to install it, failed first") }
        }
    }

    /// Kills and removes every process, cgroup, mount and directory this worker made (its install cache
    /// left for the caller with `keepsInstallCache`).
    public func shutdown() {
        // Maintenance queued from now on does nothing; what is in progress finishes first (its processes
        // and cgroups are then removed below), and the thread ends.
        locked { closing = true }
        maintenance.stop()
        state.lock(); defer { state.unlock() }
        releaseReservations(owner: nil, because: "the worker shut down")
        for id in Array(containers.keys) { destroyContainer(id) }
        for id in Array(zygotes.keys).sorted(by: >) { destroyZygote(id, now: true) }
        // A group that cannot be removed is said, not swallowed: `cleanup` removes it later, but someone
        // should know (a test's leftover check then names what stayed and why).
        func remove(_ g: Cgroup) {
            do { try g.destroy() } catch { FileHandle.standardError.write(Data("pipsqueak: shutdown of \(runID) could not remove cgroup \(g.name): \(error)\n".utf8)) }
        }
        for g in cgroupPool { remove(g) }
        cgroupPool.removeAll()
        if let a = freezerAnchor { remove(a) }
        freezerAnchor = nil
        base?.remove()
        zygoteView?.remove()
        for name in cgroups.leftovers() where name.hasPrefix(runID + "-") || name.hasPrefix("install-\(Sys.pid)-") || name.hasPrefix("download-\(Sys.pid)-") {
            remove(cgroups.group(name))
        }
        Sys.detachMounts(under: runDir)
        try? FileManager.default.removeItem(atPath: runDir)
        if !keepsInstallCache { try? FileManager.default.removeItem(atPath: packageDir) }
        if inSelfGroup {
            inSelfGroup = false
            let cg = cgroups
            RuntimeWorker.selfGroup.withLock { g in
                g.workers -= 1
                if g.workers == 0, let o = g.origin { cg.leaveSelfGroup(origin: o); g.origin = nil }
            }
        }
        if cgroups.leftovers().isEmpty { cgroups.removeParent() }
        Sys.reapZombieChildren()
    }

    /// Asks a container's process for its `sys.modules` (tests check the subset rule with it).
    public func modules(ofContainer id: Int64) throws -> [String] {
        guard let c = locked({ containers[id] }) else { throw RuntimeError.unavailable("no container c\(id)") }
        try? c.files.thaw()
        defer { try? c.files.freeze() }
        try c.channel.send(WorkerProtocol.Request.modules.message)
        return (try c.channel.receive()["modules"] as? [String]) ?? []
    }

    /// Memory of zygote `id`'s cgroup now, bytes.
    public func zygoteMemory(_ id: Int64) -> Int64? { locked { zygotes[id] }?.cgroup.memoryBytes() }

    /// Zygotes alive now.
    public var zygoteCount: Int { locked { zygotes.count } }

    /// Standby children alive now (each a process in its own cgroup).
    public var standbyCount: Int { locked { zygotes.values.reduce(0) { $0 + $1.standbys.count } } }

    /// Containers alive now (running or frozen).
    public var containerIDs: [Int64] { locked { containers.keys.sorted() } }

    /// Waits until the maintenance thread has done what it was given (tests, and `serve` before it reports ready).
    public func settle() { maintenance.drain() }
}

extension RuntimeWorker {
    /// The package this worker installs under `name` (canonical), if its catalog has it.
    public func package(named name: String) -> Package? {
        locked { catalog.id(of: PackageName.canonical(name)).map { packages[Int($0)] } }
    }

    /// What the three caches hold now, as the planner counts it.
    public struct CacheState: Sendable {
        public var pausedContainers = 0, pausedBytes: Int64 = 0, handlerBudgetBytes: Int64 = 0
        public var zygotes = 0, zygoteBytes: Int64 = 0, importBudgetBytes: Int64 = 0
        public var installedPackages = 0, installedBytes: Int64 = 0, installBudgetBytes: Int64 = 0
        /// Handler-cache hits and misses, import-cache hits and misses (plans so far).
        public var handlerHits = 0, handlerMisses = 0, importHits = 0, importMisses = 0
        public init() {}
    }

    public func cacheState() -> CacheState {
        locked {
            var s = CacheState()
            if let h = planner.handlerCache {
                s.pausedContainers = h.count; s.pausedBytes = h.usedBytes; s.handlerBudgetBytes = h.budgetBytes
                s.handlerHits = h.counts[.hit]; s.handlerMisses = h.counts[.miss]
            }
            if let i = planner.importCache {
                s.zygotes = i.zygotes.count; s.zygoteBytes = i.usedBytes; s.importBudgetBytes = i.budgetBytes
                s.importHits = i.counts[.hit]; s.importMisses = i.counts[.miss]
            }
            if let c = planner.installCache {
                s.installedPackages = c.entries.count; s.installedBytes = c.usedBytes; s.installBudgetBytes = c.budgetBytes
            }
            return s
        }
    }
}
