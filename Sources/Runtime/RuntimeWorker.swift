import CachePolicy
import Foundation
import Synchronization
import Workload

/// A zygote reported it could not start; `module` names the import that failed, when it is known.
struct ZygoteBuildError: Error, CustomStringConvertible {
    let zygote: Int64
    let message: String
    let module: String?
    var description: String { "zygote z\(zygote) failed: \(message)" }

    static func check(_ reply: [String: Any], zygote: Int64) throws {
        guard reply["ready"] as? Bool != true else { return }
        throw ZygoteBuildError(zygote: zygote, message: (reply["error"] as? String) ?? "\(reply)", module: reply["module"] as? String)
    }
}

/// A zygote's packages could not be installed (its imports were never tried).
struct ZygoteInstallError: Error, CustomStringConvertible {
    let zygote: Int64
    let underlying: Error
    var description: String { "zygote z\(zygote) not built: installing its packages failed: \(underlying)" }
}

/// Settings of a real worker.
public struct RuntimeOptions: Sendable {
    /// Where sockets, container roots and handler code live (removed at shutdown).
    public var stateDirectory = "/run/pipsqueak"
    /// The run's install cache (one directory per name-version), kept apart from the state directory
    /// because containers mount packages at their host paths (a zygote's modules keep those paths).
    public var packageDirectory = "/var/cache/pipsqueak/install-cache"
    public var wheelhouse: String
    public var containerMemoryLimitBytes: Int64 = 1 << 30
    public var zygoteMemoryLimitBytes: Int64 = 4 << 30
    public var pidsLimit = 64
    public var requestTimeoutSeconds = 60.0
    /// How long a zygote may take to import its packages and report ready (an import that hangs ends here).
    public var zygoteStartTimeoutSeconds = 120.0
    /// The largest reply a handler may send; a larger one fails its request and the container is destroyed.
    public var maxReplyBytes = 16 << 20
    /// Handler directories to use instead of generated ones: `DIR/<handler id>/handler.py`.
    public var handlerSources: String?
    /// Fetch wheels missing from the wheelhouse from the package index.
    public var online = false
    /// Run zygotes in their sandbox: a mount namespace holding only what they need (pivot_root, the host's
    /// tree detached) and a user namespace whose root is `zygoteHostUID` on the host, so a package's import
    /// code in a zygote has no power over the host.
    public var sandboxZygotes = true
    /// The unprivileged host uid (and gid) a sandboxed zygote's root maps to.
    public var zygoteHostUID: UInt32 = 700_000_000

    public init(wheelhouse: String) { self.wheelhouse = wheelhouse }
}

/// The real executor: carries out the planner's decisions with real processes, cgroups, namespaces,
/// freezer and pip, and times every phase on the monotonic clock.
///
/// Lifecycle: `init` (creates the `pipsqueak` parent cgroup and the state directory, builds the initial
/// zygotes and pre-installs) → `serve` per request → `shutdown` (kills and removes everything it made).
/// Requests are served one at a time (a one-core worker); zygotes the planner asks for are built right
/// after the request that asked, before the next one.
public final class RuntimeWorker {
    /// Owns every plan from start to finish (decision log, outcomes, records); the worker only carries
    /// plans out and reports what happened. `lifecycle.onDecision` receives the decision log.
    public let lifecycle: PlanLifecycle
    public var planner: Planner { lifecycle.planner }
    let catalog: Catalog
    let handlers: HandlerTable
    /// Package metadata (version, top-level modules) by catalog id.
    let packages: [Package]
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
        /// A root zygote's process id (the shell that joined its cgroup, exec'd into Python).
        var pid: Int32?
        /// The pooled cgroup its standby child already sits in (nil: none prepared).
        var standby: Cgroup?
        /// What the planner asked for: which packages it installs, and where (its own copy or the cache).
        let spec: ZygoteSpec
        init(spec: ZygoteSpec, socket: String, cgroup: Cgroup) { id = spec.id; self.spec = spec; self.socket = socket; self.cgroup = cgroup }
    }

    final class ContainerHandle {
        let id: Int64
        let cgroup: Cgroup
        let channel: LineChannel
        init(id: Int64, cgroup: Cgroup, channel: LineChannel) {
            self.id = id; self.cgroup = cgroup; self.channel = channel
        }
    }

    /// The read-only base root every handler container starts from (system directories mounted once).
    var base: ContainerRoot!
    /// The sandboxed zygotes' world (nil: zygotes run unsandboxed).
    var zygoteView: ContainerRoot?
    /// Cgroups created ahead of need, so a start only takes one (SOCK keeps such a pool too).
    var cgroupPool: [Cgroup] = []
    var cgroupSeq = 0
    static let poolSize = 2
    static let workersStarted = Atomic<Int>(0)

    var zygotes: [Int64: ZygoteHandle] = [:]
    /// How long the last freeze took, ns (calibration reads it).
    public private(set) var lastFreezeNanos: Int64 = 0
    var containers: [Int64: ContainerHandle] = [:]

    /// - Parameter packages: metadata for every package the catalog knows, by name.
    public init(planner: Planner, handlers: HandlerTable, packages: [String: Package], options: RuntimeOptions,
                python: PythonInterpreter) throws {
        guard Sys.isRoot else { throw RuntimeError.unavailable("the real runtime needs root (cgroups, namespaces, mounts)") }
        lifecycle = PlanLifecycle(planner: planner, handlers: handlers)
        let catalog = planner.catalog // the argument: self.planner is not set yet
        self.catalog = catalog
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
        do {
            // Handler code is written (and compiled) up front, not on a request's path.
            for h in 0..<handlers.count { _ = try handlerDirectory(Int32(h)) }
            base = try ContainerRoot(base: runDir + "/roots", name: "base", python: python)
            try base.makeBase(extraPoints: [packageDir])
            if options.sandboxZygotes { try makeZygoteView() }
            try refillCgroupPool()
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

    /// Serves one request now; returns its record (phases measured).
    public func serve(handler: Int32, arrivalNanos: Int64, startNanos: Int64) -> RequestRecord {
        serveWithReply(handler: handler, arrivalNanos: arrivalNanos, startNanos: startNanos).0
    }

    /// Serves one request and also returns what the handler returned (tests inspect it).
    public func serveReturningResult(handler: Int32, now: Int64) throws -> (RequestRecord, Any?) {
        let (r, reply) = serveWithReply(handler: handler, arrivalNanos: now, startNanos: now)
        return (r, reply?["result"])
    }

    func serveWithReply(handler: Int32, arrivalNanos: Int64, startNanos: Int64) -> (RequestRecord, [String: Any]?) {
        var lastReply: [String: Any]? = nil
        var (plan, r) = lifecycle.start(handler: handler, arrivalNanos: arrivalNanos, now: startNanos)
        var container: ContainerHandle?
        do {
            switch plan.tier {
            case .handler:
                guard let c = containers[plan.container] else { throw RuntimeError.unavailable("container c\(plan.container) is gone") }
                let t0 = Sys.monotonicNanos()
                try c.cgroup.thaw()
                r.createNanos = Sys.monotonicNanos() - t0
                container = c
            case .import, .cold:
                let shared = Set(plan.installCached)
                for p in plan.install {
                    let (dl, inst) = try installPackage(p, privateTo: shared.contains(p) ? nil : "c\(plan.container)")
                    r.downloadNanos += dl
                    r.installNanos += inst
                }
                container = try start(plan: plan, handler: handler, record: &r)
            }
            let t0 = Sys.monotonicNanos()
            try container!.channel.send(WorkerProtocol.Request.invoke(event: ["request": plan.request]).message)
            let reply = try container!.channel.receive(timeoutSeconds: options.requestTimeoutSeconds)
            r.execNanos = Sys.monotonicNanos() - t0
            lastReply = reply
            if let e = reply["error"] as? String { r.error = e }
        } catch {
            // Only on failure: was a paused container's process already dead? (Not asked on every hit.)
            if plan.tier == .handler, let c = container, c.cgroup.isEmpty {
                r.error = "container c\(plan.container)'s process died while it was paused (\(error))"
            } else {
                r.error = "\(error)"
            }
        }
        r.endNanos = startNanos + r.downloadNanos + r.installNanos + r.createNanos + r.forkNanos + r.importNanos + r.initNanos + r.execNanos
        // Idle: freeze into the handler cache or destroy, as the planner says.
        let memory = container?.cgroup.memoryBytes() ?? 0
        let broken = !r.error.isEmpty || container == nil
        let idle = lifecycle.finish(r, container: plan.container, memoryBytes: memory, failed: broken, now: now())
        if idle.paused, let c = container {
            let tf = Sys.monotonicNanos()
            do {
                if faults.failNextFreeze { faults.failNextFreeze = false; throw RuntimeError.unavailable("freeze failed (injected by a test)") }
                try c.cgroup.freeze()
                lastFreezeNanos = Sys.monotonicNanos() - tf // frozen in the handler cache
            } catch {
                // The planner counted it as paused: it hears of the failure and drops it (destroyed).
                FileHandle.standardError.write(Data("pipsqueak: could not pause container c\(plan.container): \(error)\n".utf8))
                lifecycle.pauseFailed(container: plan.container, now: now())
            }
        } else {
            destroyContainer(plan.container)
        }
        for z in plan.createZygotes { build(z) }
        try? refillCgroupPool()
        prepareStandbys()
        return (r, lastReply)
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
                lifecycle.zygoteReady(z.id, memoryBytes: mem, now: now())
            } catch {
                next = zygoteFailed(z.id, error)
            }
        }
    }

    /// Gives every zygote without one a standby child in a pooled cgroup (off the request path): joining
    /// a cgroup costs an RCU grace period on v1, so it is done before a request needs it.
    func prepareStandbys() {
        for z in zygotes.values.sorted(by: { $0.id < $1.id }) where z.standby == nil {
            guard let g = try? takeCgroup() else { return }
            do {
                let fd = try Sys.connectUnix(z.socket)
                let ch = LineChannel(readFD: fd, writeFD: fd)
                try ch.send(WorkerProtocol.Request.prepare(cgroupProcs: g.procsFiles).message)
                _ = try ch.receive(timeoutSeconds: 10)
                z.standby = g
            } catch {
                try? g.destroy()
            }
        }
        try? refillCgroupPool()
        Sys.reapZombieChildren() // containers whose process ended by itself (an exit, an OOM kill)
    }

    /// Starts a container for a plan: fork the zygote (import tier) or a fresh interpreter (cold).
    func start(plan: StartPlan, handler: Int32, record r: inout RequestRecord) throws -> ContainerHandle {
        let t0 = Sys.monotonicNanos()
        let group: Cgroup
        if plan.tier == .import, let zid = plan.zygote, let z = zygotes[zid], let g = z.standby {
            group = g // the zygote's standby child is already in it, namespaces unshared
            z.standby = nil
        } else {
            group = try takeCgroup()
        }
        // Mounted read-only: the handler's code, and the install cache at its host path (zygotes' modules
        // keep their host paths). Only the handler's own packages go on its sys.path.
        let containerConfig: [String: Any]
        do {
            containerConfig = base.containerConfig(cgroup: group, hostname: handlers[handler].id,
                                                   mounts: [(try handlerDirectory(handler), "/handler", false), (packageDir, packageDir, false)])
        } catch { try? group.destroy(); throw error }
        let paths = catalog.profile(handler).importOrder.map { packagePath($0, plan: plan) }
        let imports = plan.imports.flatMap { packages[Int($0)].topLevelModules }
        let t1 = Sys.monotonicNanos()
        r.createNanos = t1 - t0
        do {
            let channel: LineChannel
            if plan.tier == .import, let zid = plan.zygote, let z = zygotes[zid] {
                let fd: Int32
                do { fd = try Sys.connectUnix(z.socket) } catch {
                    zygoteLost(zid)
                    throw RuntimeError.unavailable("zygote z\(zid) is gone (\(error)); it leaves the tree and is rebuilt when asked")
                }
                channel = LineChannel(readFD: fd, writeFD: fd)
                try channel.send(WorkerProtocol.Request.fork(container: containerConfig, paths: paths, imports: imports).message)
            } else {
                channel = try spawn(mode: "cold", config: ["container": containerConfig, "paths": paths, "imports": imports], cgroup: group).channel
            }
            channel.maxLineBytes = options.maxReplyBytes
            let ready: [String: Any]
            do { ready = try channel.receive(timeoutSeconds: options.requestTimeoutSeconds) } catch {
                // The zygote may have died between accepting and forking: look, and drop it if so.
                if plan.tier == .import, let zid = plan.zygote, let z = zygotes[zid], !isAlive(z) {
                    zygoteLost(zid)
                    throw RuntimeError.unavailable("zygote z\(zid) is gone (\(error)); it leaves the tree and is rebuilt when asked")
                }
                throw error
            }
            guard ready["ready"] as? Bool == true, let t = ready["t"] as? [String: Any] else {
                throw RuntimeError.python("the handler process did not start: \(ready["error"] ?? ready)")
            }
            func stamp(_ k: String) -> Int64 { (t[k] as? NSNumber)?.int64Value ?? t1 }
            if ProcessInfo.processInfo.environment["PIPSQUEAK_DEBUG_STAMPS"] != nil {
                FileHandle.standardError.write(Data("stamps: send→received \(Nanos.formatMillis(stamp("received") - t1)) received→forked \(Nanos.formatMillis(stamp("forked") - stamp("received"))) join \(Nanos.formatMillis(stamp("joined") - stamp("forked"))) unshare \(Nanos.formatMillis(stamp("unshared") - stamp("joined"))) mounts \(Nanos.formatMillis(stamp("mounted") - stamp("unshared"))) chroot+pidfork \(Nanos.formatMillis(stamp("relocated") - stamp("mounted")))\n".utf8))
            }
            // Relocation ends when the process has hardened itself (descriptors, capabilities, seccomp): that
            // is part of entering the container, not of importing.
            let entered = t["hardened"] != nil ? stamp("hardened") : stamp("relocated")
            if plan.tier == .import {
                r.forkNanos = entered - t1
            } else {
                r.createNanos += entered - t1 // interpreter start + relocation
            }
            r.importNanos = stamp("imported") - entered
            r.initNanos = stamp("initialized") - stamp("imported")
            let handle = ContainerHandle(id: plan.container, cgroup: group, channel: channel)
            containers[plan.container] = handle
            return handle
        } catch {
            try? group.destroy()
            throw error
        }
    }

    /// The skeleton of the sandboxed zygotes' world (see `RuntimeOptions.sandboxZygotes`): mount points, at
    /// their host paths, for the system directories, the interpreter, the install cache, the handler code,
    /// the containers' base root (read-only), the socket directory and the `pipsqueak` cgroups (writable).
    /// The zygote mounts them in its own namespace. The socket directory belongs to the zygotes' host uid.
    func makeZygoteView() throws {
        var mounts: [(String, String, Bool)] = [(packageDir, packageDir, false), (base.path, base.path, false),
                                                (runDir + "/handlers", runDir + "/handlers", false),
                                                (runDir + "/sockets", runDir + "/sockets", true)]
        if let src = options.handlerSources { mounts.append((src, src, false)) }
        for d in cgroups.parentDirs { mounts.append((d, d, true)) }
        let view = try ContainerRoot(base: runDir + "/roots", name: "zygote-view", python: python)
        try view.prepare(mounts: mounts)
        try? FileManager.default.createSymbolicLink(atPath: view.path + "/dev/shm", withDestinationPath: "../tmp")
        zygoteView = view
        try Sys.chown(runDir + "/sockets", uid: options.zygoteHostUID, gid: options.zygoteHostUID)
    }

    /// Lets a sandboxed zygote (and what it forks) move itself into `group`.
    /// On cgroup v2 a move also needs write access to the common ancestor's `cgroup.procs` (our `pipsqueak`
    /// parent, which holds no process itself: its controllers are enabled for its children). Untested here:
    /// this machine has v1.
    func delegate(_ group: Cgroup) throws {
        guard options.sandboxZygotes else { return }
        var files = group.procsFiles
        if cgroups.version == .v2 { files += cgroups.parentDirs.map { $0 + "/cgroup.procs" } }
        for f in files { try Sys.chown(f, uid: options.zygoteHostUID, gid: options.zygoteHostUID) }
    }

    func takeCgroup() throws -> Cgroup {
        if cgroupPool.isEmpty { try refillCgroupPool() }
        return cgroupPool.removeFirst()
    }

    /// Tops the pool up (called off the request path, after each request).
    func refillCgroupPool() throws {
        while cgroupPool.count < RuntimeWorker.poolSize {
            cgroupSeq += 1
            let g = cgroups.group("\(runID)-c\(cgroupSeq)")
            try g.create(memoryLimitBytes: options.containerMemoryLimitBytes, pidsLimit: options.pidsLimit)
            do { try delegate(g) } catch { try? g.destroy(); throw error }
            cgroupPool.append(g)
        }
    }

    /// Starts the worker script in `mode` with a pipe pair as its protocol channel. With `cgroup`, a shell
    /// joins it first and then becomes the interpreter, so everything the interpreter touches, its start-up
    /// included, is charged to that group. Nothing waits for the process: it ends with its cgroup, and
    /// whoever reaps it (`Cgroup.destroy` or `Sys.reapZombieChildren`) needs no status.
    func spawn(mode: String, config: [String: Any], cgroup: Cgroup? = nil) throws -> (pid: Int32, channel: LineChannel) {
        let executable: String, arguments: [String], environment: [String: String]
        if let g = cgroup {
            executable = "/bin/sh"
            arguments = ["-c", "for f in $PIPSQUEAK_PROCS; do echo $$ > \"$f\" || exit 99; done; exec \"$0\" \"$@\"", python.executable]
                + (try script.arguments(mode: mode, config: config))
            environment = PythonInterpreter.cleanEnvironment(extra: ["PIPSQUEAK_PROCS": g.procsFiles.joined(separator: " ")])
        } else {
            executable = python.executable
            arguments = try script.arguments(mode: mode, config: config)
            environment = PythonInterpreter.cleanEnvironment()
        }
        let toChild = try Sys.pipe(), fromChild = try Sys.pipe()
        defer { Sys.close(toChild.read); Sys.close(fromChild.write) }
        let p: SpawnedProcess
        do {
            p = try SpawnedProcess(executable, arguments, environment: environment, stdin: toChild.read,
                                   stdout: fromChild.write, stderr: 2, awaited: false)
        } catch {
            Sys.close(toChild.write); Sys.close(fromChild.read)
            throw error
        }
        return (p.pid, LineChannel(readFD: fromChild.read, writeFD: toChild.write))
    }

    func handlerDirectory(_ h: Int32) throws -> String {
        let handler = handlers[h]
        if let src = options.handlerSources, Sys.exists(src + "/" + handler.id + "/handler.py") { return src + "/" + handler.id }
        let dir = runDir + "/handlers/" + handler.id
        if Sys.exists(dir + "/handler.py") { return dir }
        try Sys.mkdirs(dir)
        let ids = handler.packages.compactMap { catalog.id(of: $0) }
        let modules = ids.flatMap { packages[Int($0)].topLevelModules }
        // The handler imports its packages, then does its init work and, per request, its execution work
        // (CPU spins of the trace's init_ms and exec_ms), so real and simulated runs do the same work.
        var code = "# generated by pipsqueak for handler \(handler.id): init \(handler.initMillis) ms, exec \(handler.execMillis) ms\n"
        code += "import time\n"
        for m in modules { code += "import \(m)\n" }
        code += """

        def _spin(ms):
            end = time.monotonic_ns() + int(ms * 1e6)
            while time.monotonic_ns() < end:
                pass

        _spin(\(handler.initMillis))

        def f(event):
            _spin(\(handler.execMillis))
            return {"handler": \(String(reflecting: handler.id)), "request": event.get("request")}

        """
        try code.write(toFile: dir + "/handler.py", atomically: true, encoding: .utf8)
        // Compile it now: the container mounts the directory read-only, so it could never cache bytecode.
        _ = try? ChildProcess.run(python.executable, ["-S", "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)", dir + "/handler.py"],
                                  environment: PythonInterpreter.cleanEnvironment(), timeoutSeconds: 60)
        return dir
    }

    // MARK: Zygotes and packages

    /// Builds a zygote (root: a fresh process; child: forked from its parent). Returns its memory, bytes.
    @discardableResult
    func buildZygote(_ z: ZygoteSpec) throws -> Int64 {
        if faults.failZygoteBuilds > 0 {
            faults.failZygoteBuilds -= 1
            throw ZygoteBuildError(zygote: z.id, message: "build failed (injected by a test)", module: nil)
        }
        do {
            for p in z.install {
                _ = try installPackage(p, privateTo: z.installCached ? nil : "z\(z.id)")
            }
        } catch {
            throw ZygoteInstallError(zygote: z.id, underlying: error)
        }
        // Exactly what the plan lists is installed. A package it counted on as installed may be gone since
        // (an earlier install of it failed): that is a failed build the planner hears of, not a decision
        // to install it here.
        for p in z.imports where !z.install.contains(p) && !Sys.exists(packagePath(p, zygote: z)) {
            throw ZygoteInstallError(zygote: z.id, underlying: RuntimeError.unavailable("package \(packages[Int(p)].name) is not installed where the plan expected it (\(packagePath(p, zygote: z)))"))
        }
        let group = cgroups.group("\(runID)-z\(z.id)")
        try group.create(memoryLimitBytes: options.zygoteMemoryLimitBytes, pidsLimit: 1024)
        do { try delegate(group) } catch { try? group.destroy(); throw error }
        let handle = ZygoteHandle(spec: z, socket: runDir + "/sockets/z\(z.id).sock", cgroup: group)
        zygotes[z.id] = handle
        // A zygote's sys.path holds every package of its set (its parent's included).
        let set = planner.importCache?[z.id]?.packages.ids ?? z.imports
        var config: [String: Any] = ["socket": handle.socket, "paths": set.map { packagePath($0, zygote: z) },
                                     "imports": z.imports.flatMap { packages[Int($0)].topLevelModules },
                                     "cgroup_procs": group.procsFiles]
        if let parent = z.parent, let ph = zygotes[parent] {
            let fd = try Sys.connectUnix(ph.socket)
            let ch = LineChannel(readFD: fd, writeFD: fd)
            try ch.send(WorkerProtocol.Request.forkZygote(config: config).message)
            try ZygoteBuildError.check(try ch.receive(timeoutSeconds: options.zygoteStartTimeoutSeconds), zygote: z.id)
        } else {
            if let view = zygoteView {
                config["view"] = ["root": view.path, "mounts": view.mounts.map { [$0.0, $0.1, $0.2] as [Any] }]
            }
            let (rootPid, ch) = try spawn(mode: "zygote", config: config, cgroup: group)
            handle.pid = rootPid
            var first = try ch.receive(timeoutSeconds: options.zygoteStartTimeoutSeconds)
            if let pid = first["userns"] as? Int {
                // It is in its new user namespace: map its root to the zygotes' unprivileged host uid.
                let id = options.zygoteHostUID
                do {
                    try Sys.writeFile("/proc/\(pid)/setgroups", "deny")
                    // 0: the zygotes; 1: the containers forked from them (see _container_uid).
                    try Sys.writeFile("/proc/\(pid)/uid_map", "0 \(id) 2")
                    try Sys.writeFile("/proc/\(pid)/gid_map", "0 \(id) 2")
                } catch {
                    throw RuntimeError.unavailable("cannot map zygote z\(z.id)'s user namespace (\(error)); the zygote sandbox needs user namespaces, `--no-zygote-sandbox` runs zygotes without it")
                }
                try ch.send(["go": true])
                first = try ch.receive(timeoutSeconds: options.zygoteStartTimeoutSeconds)
            } else if zygoteView != nil, first["ready"] as? Bool != true {
                throw RuntimeError.unavailable("zygote z\(z.id) could not enter its sandbox: \(first["error"] ?? first); it needs mount and user namespaces, `--no-zygote-sandbox` runs zygotes without it")
            }
            try ZygoteBuildError.check(first, zygote: z.id)
        }
        // Wait until the socket answers (the child zygote binds after reporting ready), within the start
        // timeout: a zygote that never answers is a failed build, not a wait.
        let deadline = Sys.monotonicNanos() + Int64(options.zygoteStartTimeoutSeconds * 1e9)
        while true {
            let left = Double(deadline - Sys.monotonicNanos()) / 1e9
            guard left > 0 else {
                throw ZygoteBuildError(zygote: z.id, message: "its socket did not answer within \(options.zygoteStartTimeoutSeconds) s", module: nil)
            }
            if let fd = try? Sys.connectUnix(handle.socket, timeoutSeconds: left) {
                let ch = LineChannel(readFD: fd, writeFD: fd)
                if (try? ch.send(WorkerProtocol.Request.ping.message)) != nil, (try? ch.receive(timeoutSeconds: left)) != nil { break }
            }
            Sys.sleep(micros: 1000)
        }
        return group.memoryBytes()
    }

    /// Whether a zygote's process is still there: its cgroup holds it and nothing else for long (children
    /// move to their own groups at once). Foundation's `Process.isRunning` lags behind a SIGKILL, so it is
    /// not asked.
    func isAlive(_ z: ZygoteHandle) -> Bool {
        for _ in 0..<50 {  // a SIGKILL takes a moment to land
            if z.cgroup.isEmpty { return false }
            Sys.sleep(micros: 1000)
        }
        return true
    }

    /// A zygote could not be built: the planner hears why (the package whose import failed, or none when
    /// the failure was not an import) and decides; its process and cgroup go. Returns what the planner wants
    /// built in its place.
    func zygoteFailed(_ id: Int64, _ error: Error) -> ZygoteSpec? {
        let what = error is ZygoteBuildError || error is ZygoteInstallError ? "\(error)" : "zygote z\(id) failed: \(error)"
        FileHandle.standardError.write(Data("pipsqueak: \(what)\n".utf8))
        var culprits: [Int32]? = nil
        if error is ZygoteInstallError {
            culprits = [] // not the package's import: nothing is blamed
        } else if let e = error as? ZygoteBuildError, let m = e.module,
                  let p = packages.firstIndex(where: { $0.topLevelModules.contains(m) }) {
            culprits = [Int32(p)]
        }
        let rebuild = lifecycle.zygoteFailed(id, packages: culprits, now: now())
        destroyZygote(id) // whatever the planner knew of it, its process and cgroup go
        return rebuild
    }

    /// A zygote died: the planner drops it and its subtree, and says what to rebuild (the root).
    func zygoteLost(_ id: Int64) {
        let rebuild = lifecycle.zygoteLost(id, now: now())
        destroyZygote(id)
        if let spec = rebuild { build(spec) }
    }

    /// Where package `id` is for a container started by `plan`: its own copy when the plan installed it
    /// privately, else the shared install cache. Decided by the plan, not by looking at the disk.
    func packagePath(_ id: Int32, plan: StartPlan) -> String {
        plan.install.contains(id) && !plan.installCached.contains(id)
            ? store.privateDirectory(packages[Int(id)], owner: "c\(plan.container)") : store.directory(packages[Int(id)])
    }

    /// Where package `id` is for zygote `z`: the copy of the zygote (or ancestor) whose spec installed it
    /// privately, else the shared install cache. Decided by the specs, not by looking at the disk.
    func packagePath(_ id: Int32, zygote z: ZygoteSpec) -> String {
        var spec: ZygoteSpec? = z
        while let s = spec {
            if s.install.contains(id) {
                return s.installCached ? store.directory(packages[Int(id)]) : store.privateDirectory(packages[Int(id)], owner: "z\(s.id)")
            }
            spec = s.parent.flatMap { zygotes[$0]?.spec }
        }
        return store.directory(packages[Int(id)])
    }

    /// Fetches a package from the mirror and installs it, into the shared install cache or privately for
    /// `owner` ("c3", "z2"). Returns (download ns, install ns).
    /// A failed fetch or install is reported to the planner (the package leaves the install cache) and thrown.
    func installPackage(_ id: Int32, privateTo owner: String? = nil) throws -> (Int64, Int64) {
        let p = packages[Int(id)]
        do {
            let (staged, dl) = try store.download(p)
            return (dl, try store.install(p, wheel: staged, python: python, into: owner.map { store.privateDirectory(p, owner: $0) }))
        } catch {
            lifecycle.installFailed(id, now: now())
            if let owner { store.removePrivate(owner: owner) } else { store.remove(p) }
            throw error
        }
    }

    /// Carries out one eviction the planner decided (the lifecycle calls this).
    func carryOut(_ e: Eviction) {
        switch e {
        case .container(let id, _): destroyContainer(id)
        case .zygote(let id): destroyZygote(id)
        case .package(let id): store.remove(packages[Int(id)])
        }
    }

    func destroyContainer(_ id: Int64) {
        store.removePrivate(owner: "c\(id)")
        guard let c = containers.removeValue(forKey: id) else { return }
        c.channel.close()
        try? c.cgroup.destroy()
    }

    func destroyZygote(_ id: Int64) {
        guard let z = zygotes.removeValue(forKey: id) else { return }
        try? z.standby?.destroy()
        try? z.cgroup.destroy()
        store.removePrivate(owner: "z\(id)")
        try? FileManager.default.removeItem(atPath: z.socket)
    }

    /// Kills and removes every process, cgroup, mount and directory this worker made.
    public func shutdown() {
        for id in Array(containers.keys) { destroyContainer(id) }
        for id in Array(zygotes.keys).sorted(by: >) { destroyZygote(id) }
        for g in cgroupPool { try? g.destroy() }
        cgroupPool.removeAll()
        base?.remove()
        zygoteView?.remove()
        for name in cgroups.leftovers() where name.hasPrefix(runID + "-") || name.hasPrefix("install-\(Sys.pid)-") || name.hasPrefix("download-\(Sys.pid)-") {
            try? cgroups.group(name).destroy()
        }
        for m in Sys.mounts(under: runDir) { Sys.unmount(m) }
        try? FileManager.default.removeItem(atPath: runDir)
        try? FileManager.default.removeItem(atPath: packageDir)
        if cgroups.leftovers().isEmpty { cgroups.removeParent() }
        Sys.reapZombieChildren()
    }

    /// Asks a container's process for its `sys.modules` (tests check the subset rule with it).
    public func modules(ofContainer id: Int64) throws -> [String] {
        guard let c = containers[id] else { throw RuntimeError.unavailable("no container c\(id)") }
        try? c.cgroup.thaw()
        defer { try? c.cgroup.freeze() }
        try c.channel.send(WorkerProtocol.Request.modules.message)
        return (try c.channel.receive()["modules"] as? [String]) ?? []
    }

    /// Memory of zygote `id`'s cgroup now, bytes.
    public func zygoteMemory(_ id: Int64) -> Int64? { zygotes[id]?.cgroup.memoryBytes() }

    /// Zygotes alive now.
    public var zygoteCount: Int { zygotes.count }

    /// Containers alive now (running or frozen).
    public var containerIDs: [Int64] { containers.keys.sorted() }
}
