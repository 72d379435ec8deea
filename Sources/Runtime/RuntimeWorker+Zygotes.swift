import CachePolicy
import Foundation
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

/// Zygotes: building them as the planner asks (root or forked child, in their sandbox), their standby
/// children, reporting failed builds and lost zygotes to the planner, and removing them.
extension RuntimeWorker {
    /// Gives every zygote its standby children (`options.standbysPerZygote`: as many as requests may fork
    /// from it at once), each in a pooled cgroup with its namespaces made, off the request path: joining a
    /// cgroup costs an RCU grace period on v1, and a fork from a numpy zygote a millisecond or two.
    func prepareStandbys() {
        let want: [ZygoteHandle] = locked {
            zygotes.values.filter { !$0.doomed }.sorted(by: { $0.id < $1.id })
                .flatMap { z in Array(repeating: z, count: max(0, options.standbysPerZygote - z.standbys.count)) }
        }
        for z in want {
            guard let (g, path) = try? locked({ () throws -> (Cgroup, String) in
                z.standbySeq += 1
                return (try takeCgroup(), runDir + "/sockets/z\(z.id)-s\(z.standbySeq).sock")
            }) else { return }
            do {
                let t0 = Sys.monotonicNanos()
                let fd = try Sys.connectUnix(z.socket)
                let ch = LineChannel(readFD: fd, writeFD: fd)
                try ch.send(WorkerProtocol.Request.prepare(cgroupProcs: g.procsFiles, newNetwork: options.isolateNetwork, socket: path).message)
                _ = try ch.receive(timeoutSeconds: 10)
                let kept: Bool = locked {
                    stats.note(Sys.monotonicNanos() - t0, in: \.standbyPrepNanos)
                    guard zygotes[z.id] === z, !z.doomed, z.standbys.count < options.standbysPerZygote else { return false }
                    z.standbys.append(Standby(cgroup: g, socket: path, askedNanos: t0))
                    return true
                }
                if !kept { Standby(cgroup: g, socket: path).discard() }
            } catch {
                Standby(cgroup: g, socket: path).discard()
            }
        }
        refillCgroupPoolOffLock()
        Sys.reapZombieChildren() // containers whose process ended by itself (an exit, an OOM kill)
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
        try cgroups.ensureParent() // mounted into the view: it must exist (another process may have removed it, empty)
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
                _ = try installPackage(p, privateTo: z.installCached ? nil : "z\(z.id)", plannedBy: "z\(z.id)")
            }
        } catch {
            throw ZygoteInstallError(zygote: z.id, underlying: error)
        }
        // Exactly what the plan lists is installed. A package it counted on as installed may still be being
        // installed for a request (wait for it), or be gone since (an earlier install of it failed): that is
        // a failed build the planner hears of, not a decision to install it here.
        do { _ = try awaitInstalls(z.imports.filter { !z.install.contains($0) }) } catch {
            throw ZygoteInstallError(zygote: z.id, underlying: error)
        }
        for p in z.imports where !z.install.contains(p) && !Sys.exists(packagePath(p, zygote: z)) {
            throw ZygoteInstallError(zygote: z.id, underlying: RuntimeError.unavailable("package \(packages[Int(p)].name) is not installed where the plan expected it (\(packagePath(p, zygote: z)))"))
        }
        let t0 = Sys.monotonicNanos()
        var ready: [String: Any] = [:] // the zygote's ready message: its imports' wall and time on a core
        let group = cgroups.group("\(runID)-z\(z.id)")
        try group.create(memoryLimitBytes: options.zygoteMemoryLimitBytes, pidsLimit: 1024)
        do { try delegate(group) } catch { try? group.destroy(); throw error }
        let handle = ZygoteHandle(spec: z, socket: runDir + "/sockets/z\(z.id).sock", cgroup: group)
        // A zygote's sys.path holds every package of its set (its parent's included).
        var config: [String: Any] = locked {
            zygotes[z.id] = handle
            let set = planner.importCache?[z.id]?.packages.ids ?? z.imports
            return ["socket": handle.socket, "paths": set.map { packagePath($0, zygote: z) },
                    "imports": z.imports.flatMap { packages[Int($0)].topLevelModules },
                    "cgroup_procs": group.procsFiles]
        }
        if let parent = z.parent, let ph = locked({ zygotes[parent] }) {
            let fd = try Sys.connectUnix(ph.socket)
            let ch = LineChannel(readFD: fd, writeFD: fd)
            try ch.send(WorkerProtocol.Request.forkZygote(config: config).message)
            let reply = try ch.receive(timeoutSeconds: options.zygoteStartTimeoutSeconds)
            try ZygoteBuildError.check(reply, zygote: z.id)
            ready = reply
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
            ready = first
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
        let wall = Sys.monotonicNanos() - t0
        locked { stats.noteBuild(ZygoteBuildTime(wall: wall, imports: (ready["import_ns"] as? NSNumber)?.int64Value ?? 0,
                                                 importsOnCPU: (ready["import_cpu_ns"] as? NSNumber)?.int64Value)) }
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
        return locked {
            let rebuild = lifecycle.zygoteFailed(id, packages: culprits, now: now())
            if let z = rebuild, z.installCached { reserve(z.install, owner: "z\(z.id)") }
            destroyZygote(id) // whatever the planner knew of it, its process and cgroup go
            return rebuild
        }
    }

    /// Zygote `id` was found dead while a request forked from it: reported (`zygoteLost`); the request's error.
    func lost(_ id: Int64, because why: String) -> Error {
        zygoteLost(id)
        return RuntimeError.unavailable("zygote z\(id) is gone (\(why)); it leaves the tree and is rebuilt when asked")
    }

    /// A zygote died: the planner drops it and its subtree, and says what to rebuild (the root).
    func zygoteLost(_ id: Int64) {
        let rebuild: ZygoteSpec? = locked {
            guard let dead = zygotes[id] else { return nil } // another request found it gone first
            let rebuild = lifecycle.zygoteLost(id, now: now())
            destroyZygote(id)
            tearDown(dead) // dead already: its cgroup goes now, users or not (a rebuild of the root reuses its name)
            return rebuild
        }
        if let spec = rebuild {
            if backgroundMaintenance { inBackground { self.build(spec) } } else { build(spec) }
        }
    }

    /// Removes zygote `id` from the tables; its process and cgroup go now, or, while requests fork from it,
    /// when the last of them is done (`now`: at once whatever; shutdown). Called under `state`.
    func destroyZygote(_ id: Int64, now: Bool = false) {
        guard let z = zygotes.removeValue(forKey: id) else { return }
        z.doomed = true
        if z.users == 0 || now { tearDown(z) }
    }

    /// A request is done forking from `z` (under `state`): the last one out removes an evicted zygote.
    func releaseZygote(_ z: ZygoteHandle) {
        z.users -= 1
        if z.users == 0 && z.doomed { tearDown(z) }
    }

    func tearDown(_ z: ZygoteHandle) {
        guard !z.tornDown else { return }
        z.tornDown = true
        for sb in z.standbys { sb.discard() }
        z.standbys = []
        try? z.cgroup.destroy()
        store.removePrivate(owner: "z\(z.id)")
        try? FileManager.default.removeItem(atPath: z.socket)
    }
}
