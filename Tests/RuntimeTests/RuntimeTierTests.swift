import XCTest
import CachePolicy
import Workload
@testable import Runtime

final class RuntimeTierTests: XCTestCase {
    func testEachTierOnARealProcessTree() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["slow"], initMillis: 1, execMillis: 1),
                                     Handler(id: "b", customer: "y", packages: ["slow", "fast"], initMillis: 1, execMillis: 1)])
        var c = PolicyConfig.presets["all"]!
        c.importCache.threshold = 1
        let w = try fx.worker(handlers: handlers, config: c)
        defer { w.shutdown() }
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        var t: Int64 = 0
        func serve(_ h: Int32) -> RequestRecord { t += 1_000_000_000; return w.serve(handler: h, arrivalNanos: t, startNanos: t) }
        // 1. root zygote fork, installs slow (sandboxed pip), imports it in the child; asks for a {slow} zygote.
        let r1 = serve(0)
        XCTAssertEqual(r1.error, ""); XCTAssertEqual(r1.tier, .import); XCTAssertEqual(r1.zygote, 0)
        XCTAssert(log.last { $0.hasPrefix("plan ") }?.contains("install=slow") ?? false, "installed first (sandboxed pip): \(log)")
        XCTAssertEqual(RuntimeFixture.importsOfLastPlan(log), 1, "the forked child imports slow itself")
        // slow's import sleeps 50 ms: wall, not time on a core, which the container reports beside it.
        let onCPU = try XCTUnwrap(r1.importCPUNanos, "an import start reports its imports' time on a core")
        XCTAssertGreaterThanOrEqual(r1.importNanos, 50_000_000)
        XCTAssert(onCPU > 0 && onCPU < r1.importNanos - 40_000_000, "on a core \(onCPU) ns of \(r1.importNanos) ns wall")
        XCTAssertNotNil(r1.initCPUNanos)
        // And its processes' whole time on a core until ready, and waiting for one (the kernel's account).
        let ready = try XCTUnwrap(r1.readyCPUNanos, "an import start reports its time on a core until ready")
        XCTAssertNotNil(r1.readyWaitNanos)
        XCTAssertGreaterThanOrEqual(Double(ready), 0.9 * Double(onCPU + r1.initCPUNanos!), "until ready includes the imports and init")
        XCTAssertLessThan(ready, r1.forkNanos + r1.importNanos + r1.initNanos + 5_000_000, "and fits in their wall")
        // While the worker lives, this process is in its own CPU group under pipsqueak, a sixteenth of a
        // container's weight.
        let cg = try Cgroups.detect()
        let selfDir = cg.selfGroupDir(pid: getpid())
        XCTAssertEqual(try cg.currentProcsFile(), selfDir + "/cgroup.procs")
        let weight = cg.cpuWeight(Cgroups.selfGroupWeightShare, dir: selfDir)
        if Sys.exists(weight.file) { XCTAssertEqual(try Sys.readFile(weight.file).trimmingCharacters(in: .whitespacesAndNewlines), weight.value) }
        // 2. the same handler: its frozen container is thawed.
        let r2 = serve(0)
        XCTAssertEqual(r2.error, ""); XCTAssertEqual(r2.tier, .handler)
        XCTAssertNil(r2.importCPUNanos, "a handler-cache hit starts nothing")
        XCTAssertNil(r2.readyCPUNanos)
        // 3. handler b: forks the {slow} zygote and imports only fast.
        let r3 = serve(1)
        XCTAssertEqual(r3.error, ""); XCTAssertEqual(r3.tier, .import); XCTAssertEqual(r3.zygote, 1)
        XCTAssertEqual(RuntimeFixture.importsOfLastPlan(log), 1, "only fast: slow came from the zygote")
        let mods = try w.modules(ofContainer: 2)
        XCTAssert(mods.contains("slow") && mods.contains("fast"))
        // The zygote for {slow, fast} was built as a child of {slow}: a tree of depth 2.
        XCTAssertEqual(w.planner.importCache?[2]?.parent, 1)
        // Each zygote reports its imports' time on a core too: the {slow} zygote's import slept 50 ms of it.
        let builds = w.maintenanceStats.zygoteBuilds
        XCTAssert(builds.allSatisfy { $0.importsOnCPU != nil }, "\(builds)")
        let slowBuild = try XCTUnwrap(builds.first { $0.imports >= 50_000_000 }, "\(builds)")
        XCTAssert(slowBuild.importsOnCPU! < slowBuild.imports - 40_000_000, "\(slowBuild)")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// In the background (as `serve` has it) the zygotes and standby children are made by one maintenance
    /// thread, `pipsqueak-maint`; on v1 it alone is in its own CPU group at a container's weight (where the
    /// worker's other threads have a sixteenth), so it prepares for a burst's starts at their pace. It ends
    /// with the worker, and its group is removed.
    func testTheMaintenanceThreadAtAContainersWeight() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"], initMillis: 1, execMillis: 1)])
        let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets["all"]!)
        defer { w.shutdown() }
        w.backgroundMaintenance = true
        let r = w.serve(handler: 0, arrivalNanos: 1_000_000, startNanos: 1_000_000)
        XCTAssertEqual(r.error, ""); XCTAssertEqual(r.tier, .import)
        w.settle()
        XCTAssertFalse(w.locked { w.zygotes[0]!.standbys.isEmpty }, "the root zygote's standby child was made in the background")
        let maint = Sys.threadTimes().filter { $0.name == RuntimeWorker.maintenanceThreadName }
        XCTAssertEqual(maint.count, 1, "one maintenance thread: \(Sys.threadTimes().map(\.name))")
        let cg = try Cgroups.detect()
        if let dir = cg.maintenanceGroupDir(pid: getpid()), let tid = maint.first?.tid {
            let text = try Sys.readFile("/proc/self/task/\(tid)/cgroup")
            let cpu = try XCTUnwrap(text.split(separator: "\n").first { $0.split(separator: ":")[1].split(separator: ",").contains("cpu") })
            XCTAssert(cpu.hasSuffix("/" + Cgroups.parentName + "/" + Cgroups.maintenanceGroupName()), "the thread's CPU group: \(cpu)")
            let weight = cg.cpuWeight(1, dir: dir)
            XCTAssertEqual(try Sys.readFile(weight.file).trimmingCharacters(in: .whitespacesAndNewlines), weight.value)
            // The rest of the process is in the worker's own group.
            XCTAssertEqual(try cg.currentProcsFile(), cg.selfGroupDir(pid: getpid()) + "/cgroup.procs")
        }
        w.shutdown()
        XCTAssert(Sys.threadTimes().allSatisfy { $0.name != RuntimeWorker.maintenanceThreadName }, "the thread ended with the worker")
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// Two handlers of `code`, both needing `slow`: the first served from the root zygote, then (once the
    /// {slow} zygote and its standby child are made) the second from that child zygote. Checks both started
    /// as said, shuts the worker down and checks nothing is left; returns both results and the worker's
    /// maintenance figures.
    func fromRootThenFromChildZygote(_ code: String) throws -> (fromRoot: Any?, fromChild: Any?, stats: RuntimeWorker.MaintenanceStats) {
        let fx = try RuntimeFixture()
        let sources = try fx.writeHandlers([(name: "a", code: code), (name: "b", code: code)])
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["slow"]), Handler(id: "b", customer: "y", packages: ["slow"])])
        var c = PolicyConfig.presets["all"]!
        c.importCache.threshold = 1
        let w = try fx.worker(handlers: handlers, config: c, handlerSources: sources)
        defer { w.shutdown() }
        let (root, fromRoot) = try w.serveReturningResult(handler: 0, now: 1)
        XCTAssertEqual(root.error, ""); XCTAssertEqual(root.zygote, 0)
        w.settle() // the {slow} zygote and its standby child are made after the request
        let (child, fromChild) = try w.serveReturningResult(handler: 1, now: 2)
        XCTAssertEqual(child.error, ""); XCTAssertEqual(child.tier, .import); XCTAssertEqual(child.zygote, 1)
        let stats = w.locked { w.stats }
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
        return (fromRoot, fromChild, stats)
    }

    /// A zygote collects and freezes its heap once it has imported: a container forked from it (here from a
    /// child zygote holding `slow`, whose import allocates) finds the zygote's objects in the permanent
    /// generation, where its own collections never walk them (and so never copy their pages). Forked from the
    /// root, the child imports `slow` itself and freezes what that import made.
    /// A worker told to keep its install cache leaves it (and only it) at shutdown, for `compare` to remove
    /// after its last real run; by default the install cache goes with everything else.
    func testAWorkerLeavesItsInstallCacheOnlyWhenAsked() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"], initMillis: 1, execMillis: 1)])
        var c = PolicyConfig.presets["all"]!
        c.installCache.preinstallTop = 1
        for keeps in [true, false] {
            let w = try fx.worker(handlers: handlers, config: c)
            let r = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
            XCTAssertEqual(r.error, "")
            let cache = w.installCacheDirectory
            XCTAssert(cache.hasPrefix(fx.dir + "/packages/"), cache)
            let installed = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
            XCTAssertFalse(installed.isEmpty, "fast is installed in \(cache)")
            w.keepsInstallCache = keeps
            w.shutdown()
            try RuntimeFixture.assertNothingLeft(w)
            XCTAssertEqual(Sys.exists(cache), keeps, "install cache left: \(keeps)")
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? [], keeps ? installed : [])
            try? FileManager.default.removeItem(atPath: cache)
        }
    }

    /// A handler generated from the trace's handler table holds its `memory_mb` (every page written when it
    /// loads), so its container's cgroup is charged for it as the planner counts it; one of 0 MB holds none.
    func testAGeneratedHandlerHoldsItsTracesMemory() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "held", customer: "c", packages: ["fast"], initMillis: 1, execMillis: 1, memoryBytes: 24 << 20),
                                     Handler(id: "bare", customer: "c", packages: ["fast"], initMillis: 1, execMillis: 1)])
        let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets["all"]!)
        w.lifecycle.keepsOutcomes = true
        var memory: [Int64] = []
        for h in [Int32(0), 1] {
            let r = w.serve(handler: h, arrivalNanos: w.now(), startNanos: w.now())
            XCTAssertEqual(r.error, "")
            guard case .container(_, let bytes, false)? = w.lifecycle.outcomes.last(where: { if case .container = $0 { return true } else { return false } }) else {
                return XCTFail("no container outcome")
            }
            memory.append(bytes)
        }
        let code = try String(contentsOfFile: w.runDir + "/handlers/held/f.py", encoding: .utf8)
        XCTAssert(code.contains("_held = _hold(\(24 << 20))"), code)
        XCTAssertGreaterThanOrEqual(memory[0] - memory[1], 22 << 20, "held \(memory[0]) bytes, bare \(memory[1])")
        XCTAssertLessThanOrEqual(memory[0] - memory[1], 30 << 20, "held \(memory[0]) bytes, bare \(memory[1])")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// A group's freezer and memory files kept open (`CgroupFiles`): freezing and thawing through them take
    /// effect, the memory read agrees with a read by path, and once closed every call fails or reads 0.
    func testAGroupsFilesKeptOpenFreezeThawAndReadItsMemory() throws {
        try RuntimeFixture.requireRuntime()
        let cg = try Cgroups.detect()
        try cg.ensureParent()
        let g = cg.group("files-test-\(getpid())")
        try g.create(memoryLimitBytes: 64 << 20, pidsLimit: 8)
        defer { try? g.destroy(); if cg.leftovers().isEmpty { cg.removeParent() } }
        // A child that, once in the group, touches 8 MB (charged there) and waits (only system calls after fork).
        var p: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&p), 0)
        let pid = fork()
        if pid == 0 {
            var b: UInt8 = 0
            _ = read(p[0], &b, 1)
            let m = mmap(nil, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            for off in stride(from: 0, to: 8 << 20, by: 4096) { m.storeBytes(of: 1, toByteOffset: off, as: UInt8.self) }
            while true { _ = Glibc.pause() }
        }
        for f in g.procsFiles { try Sys.writeFile(f, String(pid)) }
        var go: UInt8 = 1
        _ = write(p[1], &go, 1)
        close(p[0]); close(p[1])
        for _ in 0..<200 where g.memoryBytes() < 8 << 20 { usleep(10_000) }
        let files = CgroupFiles(g)
        func state() throws -> String {
            cg.version == .v1 ? try Sys.readFile(g.dir("freezer") + "/freezer.state").trimmingCharacters(in: .whitespacesAndNewlines)
                : (try Sys.readFile(g.dirs[0] + "/cgroup.freeze")).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for _ in 0..<3 { // the same descriptor, again and again
            try files.freeze()
            let frozen = try state()
            XCTAssert(["FROZEN", "FREEZING", "1"].contains(frozen), frozen)
            try files.thaw()
            let thawed = try state()
            XCTAssert(["THAWED", "0"].contains(thawed), thawed)
        }
        let byPath = g.memoryBytes(), kept = files.memoryBytes()
        XCTAssertGreaterThanOrEqual(byPath, 8 << 20)
        XCTAssertEqual(Double(kept), Double(byPath), accuracy: Double(1 << 20), "read through the kept file: \(kept), by path: \(byPath)")
        files.close()
        XCTAssertThrowsError(try files.freeze())
        XCTAssertEqual(files.memoryBytes(), 0)
        XCTAssertEqual(try state(), cg.version == .v1 ? "THAWED" : "0", "a closed handle writes nothing")
    }

    /// The zygotes' and standby children's sockets are bound in a tmpfs of the worker's own (on ext4 without a
    /// journal each bind's new inode skipped the inodes deleted in the last minute), which goes with the worker.
    func testSocketsAreBoundInATmpfsOfTheWorkersOwn() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["fast"], initMillis: 1, execMillis: 1)])
        let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets["all"]!)
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 1, startNanos: 1).error, "")
        let sockets = w.runDir + "/sockets"
        let table = try Sys.readFile("/proc/self/mounts")
        XCTAssertEqual(Sys.mountEntries(in: table).last { $0.point == sockets }?.type, "tmpfs", table)
        let bound = (try? FileManager.default.contentsOfDirectory(atPath: sockets)) ?? []
        XCTAssert(bound.contains { $0.hasSuffix(".sock") }, "a zygote's socket in \(sockets): \(bound)")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// The filesystem installs are timed on, said from the mount table: ext4 with and without a journal (the
    /// jbd2 entries), another filesystem, the mount holding the path (the longest point, the last of a point
    /// mounted over).
    func testTheInstallDiskIsDescribedFromTheMountTable() {
        let table = """
        /dev/vda / ext4 rw,relatime,discard 0 0
        tmpfs /tmp tmpfs rw 0 0
        /dev/vdb /srv ext4 rw 0 0
        /dev/vdc /srv ext4 rw 0 0
        /dev/vdd /srv/data\\040x xfs rw 0 0
        """
        XCTAssertEqual(InstallDisk.mount(of: "/var/cache/pipsqueak/install-cache", in: table), .init(device: "/dev/vda", point: "/", type: "ext4"))
        XCTAssertEqual(InstallDisk.mount(of: "/tmp/x", in: table)?.type, "tmpfs")
        XCTAssertEqual(InstallDisk.mount(of: "/tmpx/y", in: table)?.point, "/", "a sibling sharing the prefix is not under /tmp")
        XCTAssertEqual(InstallDisk.mount(of: "/srv/a", in: table)?.device, "/dev/vdc", "the last mount over a point is in effect")
        XCTAssertEqual(InstallDisk.mount(of: "/srv/data x/w", in: table)?.type, "xfs")
        let bare = InstallDisk.describe(path: "/var/x", table: table, journals: [])
        XCTAssert(bare.hasPrefix("installs timed on ext4 (/dev/vda, mounted at /) without a journal: ") && bare.contains("60 s"), bare)
        XCTAssertEqual(InstallDisk.describe(path: "/var/x", table: table, journals: ["vdb-8", "vda-8"]), "installs timed on ext4 (/dev/vda, mounted at /), with a journal")
        XCTAssertEqual(InstallDisk.describe(path: "/tmp/w", table: table, journals: []), "installs timed on tmpfs (tmpfs, mounted at /tmp)")
        XCTAssert(InstallDisk.describe(path: "/x", table: "", journals: []).contains("unknown"))
    }

    /// A DAMON admin tree laid out as this machine's kernel has it (a pageout scheme over physical memory,
    /// anonymous memory filtered out, unmapped pages allowed), one of an older layout (`filters`, no `allow`),
    /// and the things that are not a reclaim of the page cache: a stopped kdamond, a virtual-address context,
    /// another action.
    func testPageCacheReclaimIsReadFromDAMONsAdminTree() throws {
        let root = NSTemporaryDirectory() + "pipsqueak-damon-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func put(_ path: String, _ value: String) throws {
            let p = root + "/" + path
            try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: p))
        }
        XCTAssertEqual(PageCacheReclaim.schemes(root: root), [], "no tree: no DAMON")
        XCTAssert(PageCacheReclaim.describe(root: root).hasPrefix("page cache: no DAMON pageout scheme running"))
        func kdamond(_ k: Int, state: String = "on", ops: String = "paddr", action: String = "pageout", newLayout: Bool = true) throws {
            let c = "kdamonds/\(k)/contexts/0"
            try put("kdamonds/\(k)/state", state)
            try put(c + "/operations", ops)
            try put(c + "/monitoring_attrs/intervals/aggr_us", "5000000")
            let s = c + "/schemes/0"
            try put(s + "/action", action)
            try put(s + "/access_pattern/age/min", "12")
            try put(s + "/access_pattern/nr_accesses/max", "1")
            try put(s + "/quotas/bytes", "134217728")
            try put(s + "/quotas/reset_interval_ms", "1000")
            let f = s + (newLayout ? "/ops_filters" : "/filters")
            try put(f + "/nr_filters", "2")
            try put(f + "/0/type", "anon"); try put(f + "/0/matching", "Y")
            if newLayout { try put(f + "/0/allow", "N") }
            try put(f + "/1/type", "unmapped"); try put(f + "/1/matching", "Y")
            if newLayout { try put(f + "/1/allow", "Y") }
        }
        try kdamond(0)
        try kdamond(1, state: "off")
        try kdamond(2, ops: "vaddr")
        try kdamond(3, action: "stat")
        try kdamond(4, newLayout: false)
        let found = PageCacheReclaim.schemes(root: root)
        XCTAssertEqual(found.map(\.kdamond), [0, 4], "only running pageout schemes over physical memory")
        XCTAssertEqual(found.first, PageCacheReclaim.Scheme(kdamond: 0, minAgeIntervals: 12, aggregationMicros: 5_000_000, maxAccesses: 1, quotaBytes: 134_217_728,
                                                                quotaResetMillis: 1000, excludesAnonymous: true, unmappedOnly: true))
        XCTAssertEqual(found.first?.minAgeSeconds, 60)
        XCTAssert(found.count == 2 && found[1].excludesAnonymous && !found[1].unmappedOnly, "an older kernel's filter excludes what it matches")
        let line = PageCacheReclaim.describe(root: root)
        XCTAssert(line.hasPrefix("page cache: DAMON reclaims idle pages while memory is plentiful: kdamond 0 pages out memory not seen accessed for 60 s (12 aggregation intervals of 5.0 s) (pages no process maps, no anonymous memory), at most 128 MB per 1 s; kdamond 4 "), line)
    }

    func testAForkedContainerFindsItsZygotesHeapFrozen() throws {
        try RuntimeFixture.requireRuntime()
        let code = "import gc\nimport slow\nAT_LOAD = gc.get_freeze_count()\nWALKED = id(slow.__dict__) in {id(o) for o in gc.get_objects()}\n"
            + "def f(event):\n    return {'frozen': AT_LOAD, 'walked': WALKED}\n"
        let r = try fromRootThenFromChildZygote(code)
        for (from, out) in [("root", r.fromRoot), ("child zygote", r.fromChild)] {
            let o = try XCTUnwrap(out as? [String: Any], from)
            XCTAssertGreaterThan(try XCTUnwrap(o["frozen"] as? Int), 1000, "the zygote's heap (the worker script, json, socket, ctypes) is frozen (\(from))")
            XCTAssertEqual(o["walked"] as? Bool, false, "slow's module is frozen too, out of the collector's walks (\(from))")
        }
    }

    /// Packages import with the garbage collector paused, as `measure` times them (with it on, its full
    /// collections walk everything the earlier packages left, so a set's import together cost more than its
    /// packages' own): in a zygote, in a child forked from the root that imports the package itself, and in a
    /// cold start. The handler then runs with the collector on, the imports' objects frozen (never walked).
    func testPackagesImportWithTheCollectorPausedAndHandlersRunWithItOn() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture(extra: [(name: "gcprobe", code: "import gc\nON_AT_IMPORT = gc.isenabled()\n")])
        let code = "import gc\nimport gcprobe\ndef f(event):\n    return {'at_import': gcprobe.ON_AT_IMPORT, 'on': gc.isenabled(), 'frozen': gc.get_freeze_count()}\n"
        let sources = try fx.writeHandlers([(name: "a", code: code), (name: "b", code: code)])
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["gcprobe"]), Handler(id: "b", customer: "y", packages: ["gcprobe"])])
        for importCache in [true, false] {
            var c = PolicyConfig.presets["all"]!
            c.importCache.threshold = 1
            c.importCache.enabled = importCache
            let w = try fx.worker(handlers: handlers, config: c, handlerSources: sources)
            defer { w.shutdown() }
            let (first, r1) = try w.serveReturningResult(handler: 0, now: 1)
            w.settle()
            let (second, r2) = try w.serveReturningResult(handler: 1, now: 2)
            XCTAssertEqual(first.error, ""); XCTAssertEqual(second.error, "")
            if importCache {
                XCTAssertEqual(first.zygote, 0, "the root's child imports gcprobe itself")
                XCTAssertEqual(second.tier, .import); XCTAssertEqual(second.zygote, 1, "from the {gcprobe} zygote")
            } else {
                XCTAssertEqual(first.tier, .cold); XCTAssertEqual(second.tier, .cold)
            }
            for r in [r1, r2] {
                let out = try XCTUnwrap(r as? [String: Any], "import cache \(importCache)")
                XCTAssertEqual(out["at_import"] as? Bool, false, "imported with the collector paused (import cache \(importCache))")
                XCTAssertEqual(out["on"] as? Bool, true, "the handler runs with it on")
                XCTAssertGreaterThan(try XCTUnwrap(out["frozen"] as? Int), 1000, "the imports' objects frozen")
            }
            w.shutdown()
            try RuntimeFixture.assertNothingLeft(w)
        }
    }

    /// A standby child warms the import machinery before it says ready (it imports a small standard-library
    /// module, `colorsys`, and drops it), so the handler's own import does not pay for copying the zygote's
    /// pages. The warm-up leaves nothing behind: the handler finds the module not loaded and can import it.
    func testAStandbyChildsWarmUpLeavesNoModuleBehind() throws {
        try RuntimeFixture.requireRuntime()
        let r = try fromRootThenFromChildZygote("import sys\nimport slow\nHELD = 'colorsys' in sys.modules\nimport colorsys\nHUE = colorsys.rgb_to_hsv(0.0, 1.0, 0.0)[0]\ndef f(event):\n    return {'held': HELD, 'hue': HUE}\n")
        XCTAssertFalse(r.stats.standbyReadyNanos.isEmpty, "the container was forked by a standby child")
        let out = try XCTUnwrap(r.fromChild as? [String: Any])
        XCTAssertEqual(out["held"] as? Bool, false, "the warm-up's module is dropped again")
        XCTAssertEqual(try XCTUnwrap(out["hue"] as? Double), 1.0 / 3.0, accuracy: 1e-9, "and the handler imports it itself")
    }

    /// `--no-zygote-sandbox` (for machines without user namespaces): zygotes run as host processes and an
    /// import hit still works.
    func testZygotesWithoutTheirSandbox() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let handlers = HandlerTable([Handler(id: "a", customer: "x", packages: ["slow"])])
        var c = PolicyConfig.presets["all"]!
        c.handlerCache.enabled = false
        c.importCache.threshold = 1
        let w = try fx.worker(handlers: handlers, config: c) { $0.sandboxZygotes = false }
        defer { w.shutdown() }
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        XCTAssertNil(w.zygoteView)
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 1, startNanos: 1).error, "")
        let hit = w.serve(handler: 0, arrivalNanos: 2, startNanos: 2)
        XCTAssertEqual(hit.error, ""); XCTAssertEqual(hit.tier, .import); XCTAssertNotEqual(hit.zygote, 0)
        XCTAssertEqual(RuntimeFixture.importsOfLastPlan(log), 0, "slow came from the zygote")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
        // A sandbox that cannot be set up (here: a uid no user namespace can map) fails the start with a
        // clear error that names the way out, and leaves nothing behind.
        XCTAssertThrowsError(try fx.worker(handlers: handlers, config: c) { $0.zygoteHostUID = UInt32.max }) { e in
            XCTAssert("\(e)".contains("--no-zygote-sandbox"), "\(e)")
        }
        let cg = try Cgroups.detect()
        XCTAssertEqual(cg.leftovers().filter { $0.hasPrefix("run\(getpid())w") }, [], "nothing left by the failed start")
    }
}
