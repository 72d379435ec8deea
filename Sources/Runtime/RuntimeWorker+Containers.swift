import CachePolicy
import Foundation
import Workload

/// Containers: starting one for a plan (fork from a zygote or a cold interpreter), the pool of cgroups
/// made ahead of need, the worker script's processes, handler code, and removing a container.
extension RuntimeWorker {
    /// Starts a container for a plan: fork the zygote (import tier) or a fresh interpreter (cold).
    func start(plan: StartPlan, handler: Int32, record r: inout RequestRecord) throws -> ContainerHandle {
        let t0 = Sys.monotonicNanos()
        // Bookkeeping under the lock: the zygote (held, so an eviction now waits for this fork), its standby
        // child's cgroup or a pooled one, where each package is.
        var (zygote, standby, group, paths, imports, code, hostname): (ZygoteHandle?, Standby?, Cgroup, [String], [String], String, String) = try locked {
            var z: ZygoteHandle? = nil
            if plan.tier == .import, let zid = plan.zygote, let h = zygotes[zid] { z = h; h.users += 1 }
            let g: Cgroup
            var standby: Standby? = nil
            // The oldest standby child: the likeliest to be in its cgroup with its namespaces made by now
            // (the newest may still be joining its group).
            if let z, !z.standbys.isEmpty {
                let sb = z.standbys.removeFirst()
                g = sb.cgroup // one of the zygote's standby children is already in it, namespaces unshared
                standby = sb
                stats.standbyForks += 1
            } else {
                if z != nil { stats.directForks += 1 }
                do { g = try takeCgroup() } catch { if let z { releaseZygote(z) }; throw error }
            }
            let dir: String
            do { dir = try handlerDirectory(handler) } catch { if let z { releaseZygote(z) }; try? g.destroy(); throw error }
            return (z, standby, g, catalog.profile(handler).importOrder.map { packagePath($0, plan: plan) },
                    plan.imports.flatMap { packages[Int($0)].topLevelModules }, dir, handlers[handler].id)
        }
        defer { if let z = zygote { locked { releaseZygote(z) } } }
        // A standby child whose zygote has died is not used: the zygote is reported lost (as a failed connect
        // to it would be), so the planner hears of it now, not when its standbys run out. One that has
        // gone itself: its group goes, a fresh one is taken.
        var standbyFD: Int32? = nil
        if let sb = standby, let z = zygote, z.cgroup.isEmpty {
            sb.discard()
            throw lost(z.id, because: "its process ended")
        }
        if let sb = standby {
            do { standbyFD = try Sys.connectUnix(sb.socket) } catch {
                sb.discard()
                group = try locked { stats.standbyForks -= 1; stats.directForks += 1; return try takeCgroup() }
                standby = nil
            }
        }
        // Mounted read-only: the handler's code, and the install cache at its host path (zygotes' modules
        // keep their host paths). Only the handler's own packages go on its sys.path.
        let containerConfig = base.containerConfig(cgroup: group, hostname: hostname, network: options.isolateNetwork,
                                                   mounts: [(code, "/handler", false), (packageDir, packageDir, false)])
        let t1 = Sys.monotonicNanos()
        r.createNanos = t1 - t0
        do {
            let channel: LineChannel
            if let fd = standbyFD {
                // Straight to the standby child: the zygote is not on this request's path.
                channel = LineChannel(readFD: fd, writeFD: fd)
                do { try channel.send(WorkerProtocol.Request.fork(container: containerConfig, paths: paths, imports: imports).message) } catch {
                    // The standby goes with its zygote: a zygote killed just now shows here as EPIPE.
                    if let z = zygote, !isAlive(z) { throw lost(z.id, because: "\(error)") }
                    throw error
                }
            } else if plan.tier == .import, let zid = plan.zygote {
                guard let z = zygote else { throw RuntimeError.unavailable("zygote z\(zid) is gone") }
                let fd: Int32
                do { fd = try Sys.connectUnix(z.socket) } catch { throw lost(zid, because: "\(error)") }
                channel = LineChannel(readFD: fd, writeFD: fd)
                do { try channel.send(WorkerProtocol.Request.fork(container: containerConfig, paths: paths, imports: imports).message) } catch {
                    // A zygote that died after the kernel accepted the connection: the write fails (EPIPE).
                    if !isAlive(z) { throw lost(zid, because: "\(error)") }
                    throw error
                }
            } else {
                channel = try spawn(mode: "cold", config: ["container": containerConfig, "paths": paths, "imports": imports], cgroup: group).channel
            }
            channel.maxLineBytes = options.maxReplyBytes
            let ready: [String: Any]
            do { ready = try channel.receive(timeoutSeconds: options.requestTimeoutSeconds) } catch {
                // The zygote may have died between accepting and forking: look, and drop it if so.
                if plan.tier == .import, let zid = plan.zygote, let z = zygote, !isAlive(z) { throw lost(zid, because: "\(error)") }
                throw error
            }
            guard ready["ready"] as? Bool == true, let t = ready["t"] as? [String: Any] else {
                throw RuntimeError.python("the handler process did not start: \(ready["error"] ?? ready)")
            }
            func stamp(_ k: String) -> Int64 { (t[k] as? NSNumber)?.int64Value ?? t1 }
            if let sb = standby, let ready = (t["standby_ready"] as? NSNumber)?.int64Value, sb.askedNanos > 0 {
                locked { stats.note(ready - sb.askedNanos, in: \.standbyReadyNanos) }
            }
            if ProcessInfo.processInfo.environment["PIPSQUEAK_DEBUG_STAMPS"] != nil {
                // A standby child: from being asked for until ready, and from ready until the request was sent.
                let standbyNote = standby.flatMap { sb in (t["standby_ready"] as? NSNumber).map { r in
                    " standby asked→ready \(Nanos.formatMillis(r.int64Value - sb.askedNanos)) ready→send \(Nanos.formatMillis(t1 - r.int64Value))" } } ?? ""
                FileHandle.standardError.write(Data("stamps: send→received \(Nanos.formatMillis(stamp("received") - t1)) received→forked \(Nanos.formatMillis(stamp("forked") - stamp("received"))) join \(Nanos.formatMillis(stamp("joined") - stamp("forked"))) unshare \(Nanos.formatMillis(stamp("unshared") - stamp("joined"))) mounts \(Nanos.formatMillis(stamp("mounted") - stamp("unshared"))) chroot+pidfork \(Nanos.formatMillis(stamp("relocated") - stamp("mounted")))\(standbyNote)\n".utf8))
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
            r.importCPUNanos = (t["import_cpu_ns"] as? NSNumber)?.int64Value
            r.initCPUNanos = (t["init_cpu_ns"] as? NSNumber)?.int64Value
            // Its processes' time on a core and waiting for one since their fork: they now wait for a request.
            let times = group.memberPids().compactMap { Sys.processTimes($0) }
            if !times.isEmpty {
                r.readyCPUNanos = times.reduce(0) { $0 + $1.cpuNanos }
                r.readyWaitNanos = times.reduce(0) { $0 + $1.waitNanos }
            }
            let handle = ContainerHandle(id: plan.container, cgroup: group, channel: channel)
            locked { containers[plan.container] = handle }
            return handle
        } catch {
            try? group.destroy()
            throw error
        }
    }

    func takeCgroup() throws -> Cgroup {
        if cgroupPool.isEmpty { try refillCgroupPool() }
        return cgroupPool.removeFirst()
    }

    /// Tops the pool up (called off the request path, after each request).
    func refillCgroupPool() throws {
        while cgroupPool.count < options.cgroupPoolSize { cgroupPool.append(try makePooledCgroup()) }
    }

    /// One cgroup for the pool (not yet in it), timed. Needs no lock of its own: its name is taken under `state`.
    func makePooledCgroup() throws -> Cgroup {
        let name: String = locked { cgroupSeq += 1; return "\(runID)-c\(cgroupSeq)" }
        let t0 = Sys.monotonicNanos()
        let g = cgroups.group(name)
        try g.create(memoryLimitBytes: options.containerMemoryLimitBytes, pidsLimit: options.pidsLimit)
        do { try delegate(g) } catch { try? g.destroy(); throw error }
        locked { stats.note(Sys.monotonicNanos() - t0, in: \.cgroupCreateNanos) }
        return g
    }

    /// Tops the pool up from the maintenance thread, making each group outside `state`: every request's
    /// start and end takes `state`, and making a cgroup (a directory in each controller, its limits, its
    /// delegation) took 0.3 ms at its median and 12–15 ms at its p99 here. Only the maintenance thread calls
    /// it, so no two refills race; a start that finds the pool empty makes its own under `state`.
    func refillCgroupPoolOffLock() {
        while locked({ cgroupPool.count < options.cgroupPoolSize && !closing }) {
            guard let g = try? makePooledCgroup() else { return }
            let kept: Bool = locked {
                guard !closing, cgroupPool.count < options.cgroupPoolSize else { return false }
                cgroupPool.append(g)
                return true
            }
            if !kept { try? g.destroy(); return }
        }
    }

    /// Starts the worker script in `mode` with a pipe pair as its protocol channel. With `cgroup`, a shell
    /// joins it first and then becomes the interpreter, so everything the interpreter touches, its start-up
    /// included, is charged to that group. Nothing waits for the process: it ends with its cgroup, and
    /// whoever reaps it (`Cgroup.destroy` or `Sys.reapZombieChildren`) needs no status.
    func spawn(mode: String, config: [String: Any], cgroup: Cgroup? = nil) throws -> (pid: Int32, channel: LineChannel) {
        let executable: String, arguments: [String], environment: [String: String]
        // HOME is the sandbox's private /tmp, its one writable place: packages that keep a cache or their
        // configuration under HOME (matplotlib) otherwise warn on every import, or fail.
        let home = ["HOME": "/tmp"]
        if let g = cgroup {
            executable = "/bin/sh"
            arguments = ["-c", "for f in $PIPSQUEAK_PROCS; do echo $$ > \"$f\" || exit 99; done; exec \"$0\" \"$@\"", python.executable]
                + (try script.arguments(mode: mode, config: config))
            environment = PythonInterpreter.cleanEnvironment(extra: home.merging(["PIPSQUEAK_PROCS": g.procsFiles.joined(separator: " ")]) { $1 },
                                                             libraryThreads: options.libraryThreads)
        } else {
            executable = python.executable
            arguments = try script.arguments(mode: mode, config: config)
            environment = PythonInterpreter.cleanEnvironment(extra: home, libraryThreads: options.libraryThreads)
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

    /// The folder a handler's container mounts at /handler: `f.py` defining `f(event)` (OpenLambda's layout).
    /// A registered handler's snapshot (`addHandler`), else `options.handlerSources/<id>`, else one
    /// generated from the trace's handler table (with its `requirements.txt`). Called under `state`.
    func handlerDirectory(_ h: Int32) throws -> String {
        if let d = handlerDirs[h] { return d }
        let handler = handlers[h]
        if let src = options.handlerSources, Sys.exists(src + "/" + handler.id + "/f.py") { return src + "/" + handler.id }
        let dir = runDir + "/handlers/" + handler.id
        if Sys.exists(dir + "/f.py") { return dir }
        try Sys.mkdirs(dir)
        let ids = handler.packages.compactMap { catalog.id(of: $0) }
        let modules = ids.flatMap { packages[Int($0)].topLevelModules }
        let pins = catalog.dependencyOrder(ids).map { "\(packages[Int($0)].name)==\(packages[Int($0)].version)\n" }.sorted().joined()
        try pins.write(toFile: dir + "/requirements.txt", atomically: true, encoding: .utf8)
        // The handler imports its packages, then holds its own memory (the trace's memory_mb, every page
        // written, so its cgroup is charged for it as the planner counts it), does its init work and, per
        // request, its execution work (CPU spins of the trace's init_ms and exec_ms), so real and simulated
        // runs do the same work.
        let held = max(0, handler.memoryBytes)
        var code = "# generated by pipsqueak for handler \(handler.id): init \(handler.initMillis) ms, exec \(handler.execMillis) ms, memory \(held) bytes\n"
        code += "import time\n"
        for m in modules { code += "import \(m)\n" }
        code += """

        def _spin(ms):
            end = time.monotonic_ns() + int(ms * 1e6)
            while time.monotonic_ns() < end:
                pass

        def _hold(n):
            b = bytearray(n)
            b[::4096] = b"\\x01" * len(range(0, n, 4096))
            return b

        _held = _hold(\(held))
        _spin(\(handler.initMillis))

        def f(event):
            _spin(\(handler.execMillis))
            return {"handler": \(String(reflecting: handler.id)), "request": event.get("request")}

        """
        try code.write(toFile: dir + "/f.py", atomically: true, encoding: .utf8)
        compileHandler(dir)
        return dir
    }

    /// Compiles a handler folder's Python now: the container mounts it read-only, so it could never cache
    /// bytecode itself.
    func compileHandler(_ dir: String) {
        _ = try? ChildProcess.run(python.executable, ["-S", "-m", "compileall", "-q", dir],
                                  environment: PythonInterpreter.cleanEnvironment(), timeoutSeconds: 60)
    }

    /// Registers a user's handler while the worker serves: `folder` (its `f.py` and whatever else it holds) is
    /// copied into the run's state (a snapshot: later edits make a new version, never change a live
    /// container's code) and compiled; the planner learns its packages. Returns its id.
    /// - Throws: `Planner.UnknownPackages` when it needs a package the catalog lacks; a copy error.
    public func addHandler(_ h: Handler, folder: String) throws -> Int32 {
        let snapshot = runDir + "/handlers/" + h.id
        try? FileManager.default.removeItem(atPath: snapshot)
        try Sys.mkdirs(runDir + "/handlers")
        try FileManager.default.copyItem(atPath: folder, toPath: snapshot)
        compileHandler(snapshot)
        return try locked {
            let id = try lifecycle.addHandler(h)
            _ = try handlers.add(h)
            handlerDirs[id] = snapshot
            return id
        }
    }

    func destroyContainer(_ id: Int64) {
        store.removePrivate(owner: "c\(id)")
        guard let c = containers.removeValue(forKey: id) else { return }
        c.channel.close()
        c.files.close()
        try? c.cgroup.destroy()
    }
}
