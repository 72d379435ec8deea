import CachePolicy
import Foundation
import Workload

/// Containers: starting one for a plan (fork from a zygote or a cold interpreter), the pool of cgroups
/// made ahead of need, the worker script's processes, handler code, and removing a container.
extension RuntimeWorker {
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
                do { try channel.send(WorkerProtocol.Request.fork(container: containerConfig, paths: paths, imports: imports).message) } catch {
                    // A zygote that died after the kernel accepted the connection: the write fails (EPIPE).
                    if !isAlive(z) {
                        zygoteLost(zid)
                        throw RuntimeError.unavailable("zygote z\(zid) is gone (\(error)); it leaves the tree and is rebuilt when asked")
                    }
                    throw error
                }
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

    func destroyContainer(_ id: Int64) {
        store.removePrivate(owner: "c\(id)")
        guard let c = containers.removeValue(forKey: id) else { return }
        c.channel.close()
        try? c.cgroup.destroy()
    }
}
