import Foundation

/// cgroups, v1 or v2, detected once at start. Everything pipsqueak creates lives under a `pipsqueak`
/// parent group; groups it did not create are never touched.
public struct Cgroups: Sendable {
    public enum Version: String, Sendable { case v1, v2 }
    public let version: Version
    /// v1: controller mount points by name; v2: the unified mount.
    let mounts: [String: String]
    public static let parentName = "pipsqueak"

    static let v1Controllers = ["memory", "pids", "cpu", "freezer"]

    /// Detects the hierarchy: v2 when `/sys/fs/cgroup/cgroup.controllers` lists memory and pids, else v1 when
    /// the memory, pids, cpu and freezer controllers are mounted. - Throws: `.unavailable` otherwise.
    public static func detect(root: String = "/sys/fs/cgroup") throws -> Cgroups {
        if let c = try? Sys.readFile(root + "/cgroup.controllers"),
           c.split(separator: " ").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }).contains("memory") {
            return Cgroups(version: .v2, mounts: ["unified": root])
        }
        var m: [String: String] = [:]
        for c in v1Controllers where Sys.exists("\(root)/\(c)/cgroup.procs") { m[c] = "\(root)/\(c)" }
        if m.count == v1Controllers.count { return Cgroups(version: .v1, mounts: m) }
        throw RuntimeError.unavailable("no usable cgroups: need v2 with the memory controller at \(root), or v1 memory, pids, cpu and freezer")
    }

    /// The directories of the parent group (one per controller on v1).
    var parentDirs: [String] {
        version == .v2 ? [mounts["unified"]! + "/" + Cgroups.parentName] : Cgroups.v1Controllers.map { mounts[$0]! + "/" + Cgroups.parentName }
    }

    /// Creates the parent group (and on v2 enables the controllers for its children).
    public func ensureParent() throws {
        for d in parentDirs { try Sys.mkdir(d) }
        if version == .v2 {
            let root = mounts["unified"]!
            try? Sys.writeFile(root + "/cgroup.subtree_control", "+memory +pids +cpu")
            try? Sys.writeFile(parentDirs[0] + "/cgroup.subtree_control", "+memory +pids +cpu")
        }
    }

    /// The group `name` under the parent.
    public func group(_ name: String) -> Cgroup { Cgroup(cgroups: self, name: name) }

    /// Names of the groups under the parent (what a crashed run may have left).
    public func leftovers() -> [String] {
        var names = Set<String>()
        for d in parentDirs {
            for e in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: d + "/" + e, isDirectory: &isDir), isDir.boolValue { names.insert(e) }
            }
        }
        return names.sorted()
    }

    /// Removes the parent group itself when empty.
    public func removeParent() {
        for d in parentDirs { try? Sys.rmdir(d) }
    }
}

/// One group (a container or a zygote) across the controllers.
public struct Cgroup: Sendable {
    let cgroups: Cgroups
    public let name: String

    var dirs: [String] { cgroups.parentDirs.map { $0 + "/" + name } }
    func dir(_ controller: String) -> String {
        cgroups.version == .v2 ? dirs[0] : cgroups.mounts[controller]! + "/" + Cgroups.parentName + "/" + name
    }

    /// The `cgroup.procs` files a process writes its pid into to join (one per hierarchy).
    public var procsFiles: [String] { dirs.map { $0 + "/cgroup.procs" } }

    /// Creates the group with a memory limit (bytes), a pids limit and CPU shares/weight. A group of that
    /// name that already exists is not ours: creation fails (naming it) and nothing is adopted; whatever
    /// this call made is removed again.
    public func create(memoryLimitBytes: Int64, pidsLimit: Int) throws {
        var made: [String] = []
        do {
            // The parent may have been removed since this worker made it: another process's cleanup or
            // shutdown removes it when it is empty (between two of our groups, it can be).
            for d in cgroups.parentDirs where !Sys.exists(d) { try Sys.mkdir(d) }
            for d in dirs { try Sys.mkdirExclusive(d); made.append(d) }
            try setLimits(memoryLimitBytes: memoryLimitBytes, pidsLimit: pidsLimit)
        } catch {
            for d in made.reversed() { try? Sys.rmdir(d) }
            throw RuntimeError.unavailable("cannot create cgroup \(Cgroups.parentName)/\(name): \(error)")
        }
    }

    func setLimits(memoryLimitBytes: Int64, pidsLimit: Int) throws {
        switch cgroups.version {
        case .v1:
            try Sys.writeFile(dir("memory") + "/memory.limit_in_bytes", String(memoryLimitBytes))
            try? Sys.writeFile(dir("memory") + "/memory.memsw.limit_in_bytes", String(memoryLimitBytes))
            try Sys.writeFile(dir("pids") + "/pids.max", String(pidsLimit))
        case .v2:
            try Sys.writeFile(dirs[0] + "/memory.max", String(memoryLimitBytes))
            try? Sys.writeFile(dirs[0] + "/memory.swap.max", "0")
            try Sys.writeFile(dirs[0] + "/pids.max", String(pidsLimit))
        }
    }

    public func freeze() throws { try Sys.writeFile(freezeFile, freezeValue(true)) }

    public func thaw() throws { try Sys.writeFile(freezeFile, freezeValue(false)) }

    /// Memory charged to the group, bytes.
    public func memoryBytes() -> Int64 {
        return Int64((try? Sys.readFile(memoryFile))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    /// The file freezing and thawing are written to, and what is written.
    var freezeFile: String { cgroups.version == .v1 ? dir("freezer") + "/freezer.state" : dirs[0] + "/cgroup.freeze" }
    func freezeValue(_ frozen: Bool) -> String { cgroups.version == .v1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0") }
    /// The file saying the memory charged to the group.
    var memoryFile: String { cgroups.version == .v1 ? dir("memory") + "/memory.usage_in_bytes" : dirs[0] + "/memory.current" }

    /// Whether no process is left in the group (one hierarchy read: cheap enough for every handler hit).
    public var isEmpty: Bool { memberPids().isEmpty }

    /// Pids in the group as one hierarchy has them (the last): every process joins all of a group's
    /// hierarchies when it enters, so on a container's path one read is enough.
    public func memberPids() -> [Int32] {
        ((try? Sys.readFile(procsFiles[procsFiles.count - 1])) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// Pids in the group (all hierarchies).
    public func pids() -> [Int32] {
        var out = Set<Int32>()
        for f in procsFiles {
            for l in ((try? Sys.readFile(f)) ?? "").split(separator: "\n") { if let p = Int32(l) { out.insert(p) } }
        }
        return out.sorted()
    }

    /// Kills every process in the group (thawing first, so frozen ones can die), reaps what it can, and
    /// removes the group. Waits up to `timeoutSeconds` for the group to empty.
    public func destroy(timeoutSeconds: Double = 5) throws {
        guard dirs.contains(where: Sys.exists) else { return }
        try? thaw()
        let deadline = Sys.monotonicNanos() + Int64(timeoutSeconds * 1e9)
        var killed = Set<Int32>()
        func killAll() -> [Int32] {
            let ps = pids()
            for p in ps { Sys.kill(p, SIGKILL); killed.insert(p) }
            return ps
        }
        // The killed processes that are ours to reap (direct children, or orphans handed to this process as
        // subreaper: every container's pid 1) are reaped, else each would stay a zombie for as long as the
        // worker runs. A dying process drops out of cgroup.procs before it can be reaped, so this waits for
        // each one to finish dying, within the deadline.
        func reapKilled() {
            for p in killed { while !Sys.reap(p) && Sys.monotonicNanos() < deadline { Sys.sleep(micros: 200) } }
            killed.removeAll()
        }
        defer { reapKilled() }
        while true {
            let ps = killAll()
            if ps.isEmpty { break }
            if Sys.monotonicNanos() > deadline {
                throw RuntimeError.unavailable("cgroup \(name) still has processes \(ps) after SIGKILL")
            }
            Sys.sleep(micros: 1000)
        }
        reapKilled()
        // A killed task still leaving keeps the group busy: rmdir says EBUSY until then. Wait for that too,
        // within the same deadline.
        for d in dirs {
            while true {
                do { try Sys.rmdir(d); break } catch RuntimeError.system(_, let e, _) where e == EBUSY && Sys.monotonicNanos() < deadline {
                    _ = killAll()
                    reapKilled()
                    Sys.sleep(micros: 2000)
                }
            }
        }
    }
}

/// A group's freezer and memory files kept open: a handler-cache hit thaws its container, reads its memory
/// and freezes it again, and opening each file by path (a walk of the cgroup filesystem, then a close) was
/// over half the worker's own CPU per hit (`perf` under `scripts/bench-serve`). Opened on first use; `close`
/// (before the group is removed) makes every later call fail rather than touch a reused descriptor.
public final class CgroupFiles: @unchecked Sendable {
    public let group: Cgroup
    private let lock = NSLock()
    private var freezeFD: Int32 = -1, memoryFD: Int32 = -1, closed = false

    public init(_ group: Cgroup) { self.group = group }
    deinit { close() }

    public func freeze() throws { try write(group.freezeValue(true)) }
    public func thaw() throws { try write(group.freezeValue(false)) }

    /// Memory charged to the group, bytes (0 when it cannot be read, as `Cgroup.memoryBytes`).
    public func memoryBytes() -> Int64 {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { return 0 }
        if memoryFD < 0 { memoryFD = (try? Sys.openFile(group.memoryFile, writing: false)) ?? -1 }
        return memoryFD < 0 ? 0 : Sys.readInteger(atStartOf: memoryFD) ?? 0
    }

    private func write(_ value: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { throw RuntimeError.unavailable("cgroup \(Cgroups.parentName)/\(group.name) is being removed") }
        if freezeFD < 0 { freezeFD = try Sys.openFile(group.freezeFile, writing: true) }
        try Sys.write(value, to: freezeFD, path: group.freezeFile, atStart: true)
    }

    /// Closes the files; every later call fails (or reads 0).
    public func close() {
        lock.lock(); defer { lock.unlock() }
        closed = true
        if freezeFD >= 0 { Sys.close(freezeFD); freezeFD = -1 }
        if memoryFD >= 0 { Sys.close(memoryFD); memoryFD = -1 }
    }
}

extension Cgroups {
    /// The group a worker's own process runs in while it has a worker (`worker-<pid>`): one more child of the
    /// parent, in the CPU controller only on v1 (the one hierarchy on v2), with no limits and a sixteenth of a
    /// container's CPU weight (`selfGroupWeightShare`): while containers and zygotes are runnable they come
    /// first, and the worker's own threads (HTTP, a load generator in the same process) take what they leave,
    /// never starved. Without it the worker's threads stay where the process began, and the machine decides:
    /// where each session is a group for the scheduler (`kernel.sched_autogroup_enabled`, Debian's default) the
    /// process is one group at the top beside the whole `pipsqueak` group, so whenever one of its threads is
    /// runnable every container and zygote together get one share against it (with 2 cores a first burst's
    /// starts waited for a core half their time, against a fifth in the simulation: `/proc/PID/schedstat`);
    /// without autogroups each of its threads weighs as much as all of them.
    public static func selfGroupName(pid: Int32 = Sys.pid) -> String { "worker-\(pid)" }

    /// The worker's own group's CPU weight against a container's (each container has the default weight).
    public static let selfGroupWeightShare = 1.0 / 16

    /// The group of the worker's threads that work on containers' behalf (`worker-<pid>-maintenance`, v1's CPU
    /// hierarchy only), at a container's weight (one for them all): the maintenance thread and, in `serve`, the
    /// cores' threads. The maintenance thread asks zygotes for their standby children and makes pooled cgroups
    /// for the starts to come; at the worker's sixteenth it waited behind a burst's containers and the starts it
    /// prepares for found no standby child ready (micro-pyyaml at 30%: 17 of 118 real import starts, against
    /// 2 of 127 simulated, where the simulated builder has a container's share). A core's thread carries its
    /// request out step by step (send it, read the reply, freeze the container); at the worker's sixteenth it
    /// waited for a core at each step, about 1 ms a request, and the request slots stood part-idle in a first
    /// burst's backlog (1.4-1.7 of 2 occupied). v1 puts a thread in a group of its own (`tasks`); v2 only in a
    /// threaded subtree of the process's group, whose weight it would share, so there the threads stay with the
    /// worker's other threads.
    public static func maintenanceGroupName(pid: Int32 = Sys.pid) -> String { selfGroupName(pid: pid) + "-maintenance" }

    /// The maintenance group's directory (nil on v2: see `maintenanceGroupName`).
    public func maintenanceGroupDir(pid: Int32) -> String? {
        version == .v2 ? nil : selfGroupDir(pid: pid) + "-maintenance"
    }

    /// Moves the calling thread alone into the maintenance group (v1; made by `enterSelfGroup`). False where
    /// there is none (v2) or the move failed (said on stderr: the thread then stays with the worker's others).
    @discardableResult
    public func enterMaintenanceGroup() -> Bool {
        guard let dir = maintenanceGroupDir(pid: Sys.pid), Sys.exists(dir) else { return false }
        do { try Sys.writeFile(dir + "/tasks", String(Sys.threadID())); return true } catch {
            FileHandle.standardError.write(Data("pipsqueak: thread \(Sys.threadID()) stays in the worker's group: \(error)\n".utf8))
            return false
        }
    }

    /// The weight file of a group directory and the value that gives `share` of the default weight.
    func cpuWeight(_ share: Double, dir: String) -> (file: String, value: String) {
        version == .v2 ? (dir + "/cpu.weight", String(max(1, Int((100 * share).rounded()))))
            : (dir + "/cpu.shares", String(max(2, Int((1024 * share).rounded()))))
    }

    /// The directory of this process's own group in the hierarchy that shares the CPU.
    public func selfGroupDir(pid: Int32) -> String {
        version == .v2 ? mounts["unified"]! + "/" + Cgroups.parentName + "/" + Cgroups.selfGroupName(pid: pid)
            : mounts["cpu"]! + "/" + Cgroups.parentName + "/" + Cgroups.selfGroupName(pid: pid)
    }

    /// The `cgroup.procs` file of the group this process is in now, in the hierarchy that shares the CPU.
    func currentProcsFile() throws -> String {
        let text = try Sys.readFile("/proc/self/cgroup")
        for line in text.split(separator: "\n") {
            // "ID:controllers:path"; v2's line has no controllers ("0::/path").
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            let controllers = f[1].split(separator: ",")
            let ours = version == .v2 ? f[0] == "0" && f[1].isEmpty : controllers.contains("cpu")
            guard ours else { continue }
            let root = version == .v2 ? mounts["unified"]! : mounts["cpu"]!
            let path = String(f[2])
            return root + (path == "/" ? "" : path) + "/cgroup.procs"
        }
        throw RuntimeError.unavailable("/proc/self/cgroup names no \(version == .v2 ? "unified" : "cpu") group for this process")
    }

    /// Moves this process (all its threads) into its own group (made if need be); returns the `cgroup.procs`
    /// file of the group it left, for `leaveSelfGroup`.
    public func enterSelfGroup() throws -> String {
        let origin = try currentProcsFile()
        let dir = selfGroupDir(pid: Sys.pid)
        if origin == dir + "/cgroup.procs" { return origin }
        for d in parentDirs where !Sys.exists(d) { try Sys.mkdir(d) }
        if !Sys.exists(dir) { try Sys.mkdir(dir) }
        do {
            // Where the group has no CPU controller (v2 without it delegated) no group has a weight: none set.
            let w = cpuWeight(Cgroups.selfGroupWeightShare, dir: dir)
            if Sys.exists(w.file) { try Sys.writeFile(w.file, w.value) }
            try Sys.writeFile(dir + "/cgroup.procs", String(Sys.pid))
            if let m = maintenanceGroupDir(pid: Sys.pid) {
                if !Sys.exists(m) { try Sys.mkdir(m) }
                let w = cpuWeight(1, dir: m)
                try Sys.writeFile(w.file, w.value)
            }
        } catch {
            if let m = maintenanceGroupDir(pid: Sys.pid) { try? Sys.rmdir(m) }
            try? Sys.rmdir(dir)
            throw RuntimeError.unavailable("cannot move the worker's process into cgroup \(Cgroups.parentName)/\(Cgroups.selfGroupName()): \(error)")
        }
        return origin
    }

    /// Removes group `name` under the parent in every hierarchy that has it, killing nothing (it must be empty).
    public func removeEmpty(_ name: String) throws {
        for d in parentDirs.map({ $0 + "/" + name }) where Sys.exists(d) { try Sys.rmdir(d) }
    }

    /// Moves this process, every thread of it, back to the group it came from and removes its own group and
    /// the maintenance thread's (both empty then).
    public func leaveSelfGroup(origin: String) {
        let dir = selfGroupDir(pid: Sys.pid)
        guard origin != dir + "/cgroup.procs" else { return }
        do { try Sys.writeFile(origin, String(Sys.pid)) } catch {
            FileHandle.standardError.write(Data("pipsqueak: could not move this process back to \(origin): \(error)\n".utf8))
            return
        }
        try? Sys.rmdir(dir)
        if let m = maintenanceGroupDir(pid: Sys.pid) { try? Sys.rmdir(m) }
    }
}
