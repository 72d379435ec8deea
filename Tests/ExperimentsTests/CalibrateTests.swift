import XCTest
import Foundation
import Runtime
import Simulation
import CachePolicy
import Workload
import Statistics
@testable import Experiments

/// `pipsqueak calibrate` on the real runtime: every timed primitive gets its spread, and with two cores its
/// contended spread; the file it writes reads back as what the simulator uses.
final class CalibrateTests: XCTestCase {
    func testACalibrationKeepsSpreadsAndContendedSpreads() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let out = NSTemporaryDirectory() + "pipsqueak-calibrate-\(UUID().uuidString.prefix(8)).csv"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var job = CalibrateJob()
        job.repeats = 5; job.cores = 2; job.output = out
        let lines = LockedLines()
        job.log = { lines.append($0) }
        let before = Set(try Cgroups.detect().leftovers())
        let costs = try job.run()
        // Import hits served over HTTP among handler-cache hits: every one of the 15 new handlers' first
        // requests came back as an import hit forked from the zygote holding the package (else the job throws),
        // and a hit whose paused container was still busy (a loaded machine) is one too; too few to replace the
        // figures served directly, which it says.
        XCTAssert(lines.all.contains { $0.hasPrefix("import hits over HTTP: ") && $0.contains("(100 of each needed)") }, lines.all.joined(separator: "\n"))
        if let l = lines.all.first(where: { $0.hasPrefix("import hits over HTTP: ") }) {
            let n = l.split(separator: " ").compactMap { Int($0) }
            XCTAssertGreaterThanOrEqual(n.prefix(2).reduce(0, +), 15, l)
        }
        let read = try RuntimeCosts.read(path: out)
        XCTAssertEqual(read.contentionCores, 2)
        for p in ["thaw_ms", "fork_ms", "container_create_ms", "interpreter_start_ms", "invoke_overhead_ms", "thawed_invoke_overhead_ms", "init_overhead_ms"] {
            let s = try XCTUnwrap(read.spreads[p], p)
            XCTAssertEqual(s.quantiles, s.quantiles.sorted(), p)
            XCTAssertEqual(s.median, read.rows.first { $0.0 == p }!.1, accuracy: 1e-4, "\(p): the spread's median is the value")
            XCTAssertNotNil(read.contendedSpreads[p], p)
        }
        XCTAssertEqual(Set(read.spreads.keys), Set(costs.spreads.keys))
        // Standby children: the maintenance thread's time per child, a child's time to be ready, a pooled
        // cgroup, and a fork from a zygote with none, each with its spread (the simulator models them when
        // `direct_fork_ms` is there).
        for p in ["direct_fork_ms", "standby_prep_ms", "standby_ready_ms", "cgroup_create_ms"] {
            let v = try XCTUnwrap(read.rows.first { $0.0 == p }?.1, p)
            XCTAssertGreaterThan(v, 0, p)
            XCTAssertEqual(try XCTUnwrap(read.spreads[p], p).median, v, accuracy: 1e-4, p)
        }
        // The maintenance thread's work timed one start at a time (the simulator shares the cores itself), its
        // spreads with both cores starting requests kept as the contended ones; the readiness delay and a fork
        // with no standby child are the burst's (joins back to back), with no contended row.
        for p in ["standby_prep_ms", "cgroup_create_ms"] {
            let c = try XCTUnwrap(read.contendedSpreads[p], p)
            XCTAssertEqual(c.quantiles, c.quantiles.sorted(), p)
            XCTAssertGreaterThan(c.median, 0, p)
        }
        XCTAssertNil(read.contendedSpreads["standby_ready_ms"])
        XCTAssertNil(read.contendedSpreads["direct_fork_ms"])
        XCTAssert(lines.all.contains { $0.hasPrefix("standby children: the maintenance thread's time each ") && $0.contains(" alone (p90 ") && $0.contains(" with 2 at once (p90 ") },
                  lines.all.joined(separator: "\n"))
        // A cgroup join by the time since the last one: what it waits after a quiet spell, and the largest of
        // the gaps measured after which it does not; as calibrated, in the file.
        XCTAssertGreaterThanOrEqual(read.cgroupAttachWaitMillis, 0)
        XCTAssertEqual(read.cgroupAttachWaitMillis, costs.cgroupAttachWaitMillis, accuracy: 1e-4)
        XCTAssert(CalibrationBench.attachGaps.contains(read.cgroupAttachWindowMillis), "\(read.cgroupAttachWindowMillis)")
        XCTAssert(lines.all.contains { $0.hasPrefix("a cgroup join (every controller) by the time since the last one: 0 ms apart ") && $0.contains("100 ms apart ") },
                  lines.all.joined(separator: "\n"))
        // The hits the dispatch's weight is fitted to are served on a settled machine, and each loaded round
        // says how busy the machine was around it.
        XCTAssert(lines.all.contains { $0.hasPrefix("settling the machine: ") && $0.contains(" after ") }, lines.all.joined(separator: "\n"))
        if lines.all.contains(where: { $0.hasPrefix("the dispatch's weight, round 1 ") }) {
            XCTAssert(lines.all.contains { $0.hasPrefix("round 1: machine settled: ") && $0.contains("over the stream ") && $0.contains("% of the cores' time busy, ") && $0.contains("% this process's") },
                      lines.all.joined(separator: "\n"))
        }
        // Serving over HTTP (server and client in this process) costs the cores more than serving directly.
        XCTAssertGreaterThan(read.dispatchMillis, 0)
        XCTAssertEqual(read.dispatchMillis, costs.dispatchMillis, accuracy: 1e-4)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssert(text.contains("(their contended_ rows: 5 rounds of 2 at once, back to back)"), text)
        XCTAssert(text.contains("# cgroup_attach_wait_ms: what a process's joining a cgroup waits more"), text)
        XCTAssert(text.contains("made by: pipsqueak calibrate --repeat 5 --cores 2"))
        // How installs were fitted, or why not (a fresh machine's wheelhouse may hold too few of the table's).
        XCTAssert(text.contains("# install_overhead_ms, install_scale: a package's install is") || text.contains("# install_overhead_ms: a tiny wheel's sandboxed install; install_scale 1 (not fitted: "), text)
        // Fitted: each package's install is kept (what compare installs again), one row each.
        if text.contains("# install_overhead_ms, install_scale: a package's install is") {
            XCTAssertGreaterThanOrEqual(read.installedMillis.count, 3, text)
            XCTAssertEqual(Set(read.installedMillis.keys), Set(costs.installedMillis.keys))
            for (n, ms) in costs.installedMillis { XCTAssertEqual(read.installedMillis[n] ?? .nan, ms, accuracy: 1e-3, "\(n): written with 4 decimals") }
        }
        // Contention beyond the cores' sharing and the overlap's real saving: measured where the wheelhouse
        // holds the table's costliest packages, else 1 with why; either way in the file and its header.
        XCTAssertGreaterThanOrEqual(read.importContention, 1); XCTAssertGreaterThanOrEqual(read.installContention, 1)
        XCTAssert((0...1).contains(read.importOverlapCredit), "\(read.importOverlapCredit)")
        XCTAssertEqual(read.importOverlapCredit, costs.importOverlapCredit, accuracy: 1e-4)
        XCTAssert(text.contains("# import_contention, install_contention: how many times longer"), text)
        // The filesystem the installs were timed on, and that their copies were kept until all were timed.
        XCTAssert(text.contains("# disk: installs timed on ") && text.contains("all kept until every install was timed, then removed and written back (sync)"), text)
        // Imports contended as the worker serves them: requests forked from its root zygote, at once and alone.
        XCTAssert(text.contains("each a request forked from the worker's root zygote importing it in its container"), text)
        XCTAssert(text.contains("# import_overlap_credit: the share of the import overlap's saving"), text)
        // The same sets served from the root zygote (where the wheelhouse holds them), else 1 with why.
        XCTAssertGreaterThan(read.servedImportScale, 0)
        XCTAssertEqual(read.servedImportScale, costs.servedImportScale, accuracy: 1e-4)
        XCTAssert(text.contains("; served_import_scale: the same sets' imports in a request's container forked from the root zygote"), text)
        XCTAssert(lines.all.contains { $0.hasPrefix("served_import_scale ") }, lines.all.joined(separator: "\n"))
        // The table's costliest imports timed again (where the wheelhouse holds them): one row each, read back
        // as written; the header says which and what they took against the table.
        XCTAssert(text.contains("# imported_ms:NAME: the table's costliest imports timed again as measure times them"), text)
        XCTAssertEqual(Set(read.importedMillis.keys), Set(costs.importedMillis.keys))
        for (n, ms) in costs.importedMillis {
            XCTAssertGreaterThan(ms, 0, n)
            XCTAssertEqual(read.importedMillis[n] ?? .nan, ms, accuracy: 1e-3, "\(n): written with 4 decimals")
        }
        // The memory rows: a fork's own memory and the touch of a handler's held memory measured; the import
        // memory's scale where the wheelhouse holds the sets, else 1 with why.
        XCTAssertGreaterThan(read.forkMemoryMB, 0); XCTAssertGreaterThan(read.memoryTouchMillisPerMB, 0)
        XCTAssertEqual(read.importMemoryScale, costs.importMemoryScale, accuracy: 1e-4)
        XCTAssert(text.contains("# fork_memory_mb, memory_touch_ms_per_mb: import hits forked from the zygote holding the tiny package"), text)
        XCTAssert(text.contains("; import_memory_scale: what a container's cgroup is charged for its imports"), text)
        XCTAssert(lines.all.contains { $0.hasPrefix("contention beyond the cores' sharing, 2 at once on 2 cores: import_contention ") },
                  lines.all.joined(separator: "\n"))
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups the calibration left")
    }

    /// `served_import_scale`'s worker: every request is a fork from the root zygote (its standby child) that
    /// imports the handler's whole set, dependencies first, in its container; what it took is the request's
    /// import phase; nothing of the worker is left after.
    func testTheRootImportWorkerServesEverySetFromTheRoot() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let before = Set(try Cgroups.detect().leftovers())
        let bench = try CalibrationBench(repeats: 1, cores: 2)
        defer { bench.remove() }
        // b depends on a; each sleeps at import, so the set's import takes at least their sum.
        let a = Package(name: "pq-served-a", version: "1.0", topLevelModules: ["pq_served_a"], installedBytes: 4096, importMillis: 30)
        let b = Package(name: "pq-served-b", version: "1.0", dependencies: ["pq-served-a"], transitiveDependencies: ["pq-served-a"],
                        topLevelModules: ["pq_served_b"], installedBytes: 4096, importMillis: 20)
        let c = Package(name: "pq-served-c", version: "1.0", topLevelModules: ["pq_served_c"], installedBytes: 4096, importMillis: 10)
        try bench.makeWheel(a, code: "import time\ntime.sleep(0.03)\n")
        try bench.makeWheel(b, code: "import time, pq_served_a\ntime.sleep(0.02)\n")
        try bench.makeWheel(c, code: "import time\ntime.sleep(0.01)\n")
        let table = PackageTable([a, b, c])
        let w = try bench.rootImportWorker([[b, c], [a]], table: table, wheelhouse: bench.work + "/wheelhouse")
        defer { w.shutdown() }
        for (k, least) in [(0, 60.0), (1, 30.0), (0, 60.0)] {
            Sys.sleep(micros: 50_000)
            let r = w.serve(handler: Int32(k), arrivalNanos: w.now(), startNanos: w.now())
            XCTAssertEqual(r.error, "")
            XCTAssertEqual(r.tier, .import)
            XCTAssertEqual(r.zygote, 0, "forked from the root")
            XCTAssertEqual(r.installNanos, 0, "installed at the worker's start")
            XCTAssertGreaterThanOrEqual(Nanos.millis(r.importNanos), least, "set \(k)")
        }
        w.shutdown()
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups the worker left")
    }

    /// The memory rows on the real runtime: a forked container's own memory, a handler's held memory charged
    /// to its container and what writing it costs the init, and sets of packages served from the root zygote
    /// whose imports the table counts at twice what they take: `import_memory_scale` about 0.5. Then
    /// `--memory-only` rewrites those rows of an existing file and keeps the rest and its header.
    func testTheMemoryRowsAreMeasuredOnTheRealRuntime() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let before = Set(try Cgroups.detect().leftovers())
        let bench = try CalibrationBench(repeats: 3, cores: 2)
        defer { bench.remove() }
        let held = try bench.handlerMemory()
        XCTAssertGreaterThan(held.bareBytes, 0)
        XCTAssertLessThan(held.bareBytes, 16 << 20, "a fork holds a few pages of its own")
        XCTAssertEqual(held.chargedPerMB, 1, accuracy: 0.1, "every MB held charged: \(held.text)")
        XCTAssertGreaterThan(held.touchMillisPerMB, 0, held.text)
        // a holds 16 MB when imported, b (needing a) 8 MB; the table says twice that.
        func holding(_ mb: Int) -> String { "B = bytearray(\(mb) << 20)\nB[::4096] = b'\\x01' * len(range(0, len(B), 4096))\n" }
        let a = Package(name: "pq-mem-a", version: "1.0", topLevelModules: ["pq_mem_a"], installedBytes: 4096, importMillis: 5, importMemoryBytes: 32 << 20)
        let b = Package(name: "pq-mem-b", version: "1.0", dependencies: ["pq-mem-a"], transitiveDependencies: ["pq-mem-a"],
                        topLevelModules: ["pq_mem_b"], installedBytes: 4096, importMillis: 5, importMemoryBytes: 16 << 20)
        try bench.makeWheel(a, code: holding(16))
        try bench.makeWheel(b, code: "import pq_mem_a\n" + holding(8))
        let table = PackageTable([a, b])
        let served = bench.servedSetMemory([[b], [a]], table: table, wheelhouse: bench.work + "/wheelhouse")
        XCTAssertEqual(served.why, "")
        XCTAssertEqual(served.samples.count, 2 * CalibrationBench.memorySetRounds)
        let scale = CalibrateJob.importMemoryScale(served.samples, table: table, forkBytes: held.bareBytes)
        XCTAssertEqual(try XCTUnwrap(scale.scale, scale.text), 0.5, accuracy: 0.1, scale.text)
        XCTAssert(scale.text.contains("pq-mem-b (2 packages) "), scale.text)
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups left")

        // --memory-only over an existing file (no wheels for the sets: the scale is not measured, and says why).
        let dir = NSTemporaryDirectory() + "pipsqueak-memonly-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/house", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var old = RuntimeCosts()
        old.forkMillis = 1.25; old.importMemoryScale = 0.7; old.importedMillis = ["numpy": 60]
        try old.write(path: dir + "/costs.csv", comments: ["made by: pipsqueak calibrate --repeat 100", "machine: elsewhere"])
        var job = CalibrateJob()
        job.repeats = 3; job.cores = 2; job.output = dir + "/costs.csv"; job.wheelhouse = dir + "/house"
        let lines = LockedLines()
        job.log = { lines.append($0) }
        let c = try job.runMemoryOnly()
        let read = try RuntimeCosts.read(path: job.output)
        XCTAssertEqual(read.forkMillis, 1.25, "a timed row kept")
        XCTAssertEqual(read.importedMillis, ["numpy": 60])
        XCTAssertEqual(read.importMemoryScale, 1, "not measured")
        XCTAssertGreaterThan(read.forkMemoryMB, 0); XCTAssertEqual(read.forkMemoryMB, c.forkMemoryMB, accuracy: 1e-4)
        XCTAssertGreaterThan(read.memoryTouchMillisPerMB, 0)
        XCTAssertGreaterThan(read.interpreterMemoryMB, 1)
        let text = try String(contentsOfFile: job.output, encoding: .utf8)
        XCTAssert(text.hasPrefix("# made by: pipsqueak calibrate --repeat 100\n# machine: elsewhere\n# memory rows measured again by: pipsqueak calibrate --memory-only --repeat 3 --cores 2 --out "), text)
        XCTAssert(text.contains("import_memory_scale: what a container's cgroup is charged for its imports") && text.contains("1 (not measured: no set of packages"), text)
        // Again: the line is replaced, not added.
        _ = try job.runMemoryOnly()
        XCTAssertEqual(try String(contentsOfFile: job.output, encoding: .utf8).components(separatedBy: "memory rows measured again by:").count, 2)
        // No file: a clear error, nothing written.
        job.output = dir + "/none.csv"
        XCTAssertThrowsError(try job.runMemoryOnly()) { XCTAssert("\($0)".contains("none.csv: no such runtime cost file"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: job.output))
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups left")
    }

    /// The sets `import_memory_scale` is measured over: a trace's handlers' package sets spread by their
    /// import memory (each once, only those measured and held), else the costliest imports in sets of 3; and
    /// the scale pools the sets' medians less the fork's memory over the table's, each package once.
    func testTheMemorySetsAndTheScaleOverThem() throws {
        let table = PackageTable([
            Package(name: "a", version: "1.0", importMillis: 50, importMemoryBytes: 10 << 20),
            Package(name: "b", version: "1.0", dependencies: ["a"], transitiveDependencies: ["a"], importMillis: 40, importMemoryBytes: 20 << 20),
            Package(name: "c", version: "1.0", importMillis: 30, importMemoryBytes: 40 << 20),
            Package(name: "d", version: "1.0", importMillis: 20, importMemoryBytes: 80 << 20),
            Package(name: "e", version: "1.0", importMillis: 10, importMemoryBytes: 1 << 20, estimated: true),
        ])
        let hs = [Handler(id: "h1", customer: "x", packages: ["a"]), Handler(id: "h2", customer: "x", packages: ["b", "a"]),
                  Handler(id: "h3", customer: "x", packages: ["a", "b"]), Handler(id: "h4", customer: "x", packages: ["c", "d"]),
                  Handler(id: "h5", customer: "x", packages: ["c"]), Handler(id: "h6", customer: "x", packages: ["e"]),
                  Handler(id: "h7", customer: "x", packages: ["d"]), Handler(id: "h8", customer: "x", packages: ["missing"])]
        // By memory: a 10, b+a 30 (once), c 40, d 80, c+d 120; four spread by rank (0, 1, 2, 4): a, a+b, c, c+d.
        let sets = CalibrationBench.memorySets(table, wheelhouse: "/nonexistent", everyPackage: true, handlers: hs).map { $0.map(\.name) }
        XCTAssertEqual(sets, [["a"], ["a", "b"], ["c"], ["c", "d"]])
        XCTAssertEqual(CalibrationBench.memorySets(table, wheelhouse: "/nonexistent", everyPackage: false, handlers: hs).count, 0, "no wheels held")
        XCTAssertEqual(CalibrationBench.memorySets(table, wheelhouse: "/nonexistent", everyPackage: true, handlers: nil).map { $0.map(\.name) },
                       [["a", "b", "c"], ["d"]], "the costliest imports, 3 to a set")
        let samples: [(set: [String], bytes: Int64)] = [(["a", "b"], 16 << 20), (["a", "b"], 18 << 20), (["a", "b"], 100 << 20), (["d"], 42 << 20)]
        let s = CalibrateJob.importMemoryScale(samples, table: table, forkBytes: 2 << 20)
        // a+b: median 18 less 2 = 16 of 30; d: 40 of 80: 56 of 110.
        XCTAssertEqual(try XCTUnwrap(s.scale), 56.0 / 110, accuracy: 1e-9)
        XCTAssert(s.text.contains("a+b (2 packages) 16.0 MB of 30.0 (× 0.53)"), s.text)
        XCTAssertNil(CalibrateJob.importMemoryScale([], table: table, forkBytes: 0).scale)
        XCTAssertNil(CalibrateJob.importMemoryScale([(["e"], 1 << 20)], table: PackageTable([Package(name: "e", version: "1")]), forkBytes: 0).scale)
    }

    /// The imports timed for contention and the overlap's credit are the table's costliest whose own and
    /// dependencies' wheels the wheelhouse holds, costliest first; a contention factor is the median of the
    /// packages' together-over-alone, never below 1.
    func testImportPicksAreTheCostliestWithTheirWheels() throws {
        let house = NSTemporaryDirectory() + "pipsqueak-picks-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: house, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: house) }
        for w in ["big_pkg-1.0-py3-none-any.whl", "dep-1.0-py3-none-any.whl", "mid-1.0-py3-none-any.whl", "small-1.0-py3-none-any.whl", "orphan-1.0-py3-none-any.whl"] {
            XCTAssert(FileManager.default.createFile(atPath: house + "/" + w, contents: Data()))
        }
        let table = PackageTable([
            Package(name: "big-pkg", version: "1.0", dependencies: ["dep"], transitiveDependencies: ["dep"], importMillis: 500),
            Package(name: "dep", version: "1.0", importMillis: 50),
            Package(name: "mid", version: "1.0", importMillis: 200),
            Package(name: "small", version: "1.0", importMillis: 10),
            Package(name: "orphan", version: "1.0", dependencies: ["gone"], transitiveDependencies: ["gone"], importMillis: 900),
            Package(name: "gone", version: "1.0", importMillis: 5),
        ])
        XCTAssertEqual(CalibrationBench.importPicks(table, wheelhouse: house, everyPackage: false).map(\.name), ["big-pkg", "mid", "dep"])
        XCTAssertEqual(CalibrationBench.importPicks(table, wheelhouse: house, everyPackage: false, count: 5).map(\.name), ["big-pkg", "mid", "dep", "small"])
        XCTAssertEqual(CalibrationBench.importPicks(table, wheelhouse: house, everyPackage: true, count: 1).map(\.name), ["orphan"])
        // The imports timed again: without a trace, the costliest (wheels held); with one, import_ms × its
        // handlers that need the package (itself or as a dependency), only those some handler needs.
        XCTAssertEqual(CalibrationBench.retimePicks(table, wheelhouse: house, everyPackage: false, count: 2).map(\.name), ["big-pkg", "mid"])
        let handlers = [Handler(id: "h1", customer: "x", packages: ["big-pkg"]), Handler(id: "h2", customer: "x", packages: ["small"]),
                        Handler(id: "h3", customer: "x", packages: ["small", "big-pkg"]), Handler(id: "h4", customer: "x", packages: ["orphan"])]
        // big-pkg 500 × 2, dep 50 × 2 (big-pkg's), small 10 × 2; mid no handler needs; orphan's wheel's dependency is missing.
        XCTAssertEqual(CalibrationBench.retimePicks(table, wheelhouse: house, everyPackage: false, handlers: handlers).map(\.name), ["big-pkg", "dep", "small"])
        XCTAssertEqual(CalibrationBench.retimePicks(table, wheelhouse: house, everyPackage: true, handlers: handlers, count: 2).map(\.name), ["big-pkg", "orphan"])
        let c = try XCTUnwrap(CalibrationBench.Contention([("a", 100, 150), ("b", 200, 220), ("c", 300, 240)]))
        XCTAssertEqual(c.factor, 1.1, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(CalibrationBench.Contention([("a", 100, 80)])).factor, 1)
        XCTAssertNil(CalibrationBench.Contention([]))
    }

    /// Import hits are timed only from the zygote holding the handler's package: one from the root (the
    /// handler imported the package itself) stops the calibration, saying how many, and the worker that
    /// served it is shut down (no cgroup left).
    func testImportHitsFromTheRootZygoteAreRefused() throws {
        guard getuid() == 0 else { throw XCTSkip("the calibration bench needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let bench = try CalibrationBench(repeats: 1, cores: 1)
        defer { bench.remove() }
        func start(_ zygote: Int64?) -> RequestRecord {
            RequestRecord(request: 0, handler: 0, arrivalNanos: 0, startNanos: 0, endNanos: 0, tier: .import, zygote: zygote)
        }
        XCTAssertEqual(try bench.fromPackageZygote([start(1), start(2)], "import hits").count, 2)
        XCTAssertThrowsError(try bench.fromPackageZygote([start(1), start(0), start(nil)], "import hits")) { e in
            XCTAssert("\(e)".contains("2 of 3 import hits forked from the root zygote"), "\(e)")
        }
        let before = Set(try Cgroups.detect().leftovers())
        let w = try bench.worker(bench.tiny) { $0.handlerCache.enabled = false }
        XCTAssertThrowsError(try bench.fromPackageZygote([start(0)], "import hits", of: w))
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups the refused worker left")
    }

    /// A fresh machine's wheelhouse is empty: the mirror's throughput is measured on a 64 MB stand-in file, and
    /// says so, instead of coming out 0 (with which the simulator charged every download the package table's
    /// time from the index); with a wheel of 1 MB or more there, on that wheel.
    func testTheMirrorIsMeasuredWithAnEmptyWheelhouse() throws {
        let bench = try CalibrationBench(repeats: 1, cores: 1)
        defer { bench.remove() }
        let empty = bench.work + "/empty-wheelhouse", full = bench.work + "/wheelhouse-2"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let m = bench.mirrorThroughput(wheelhouse: empty)
        XCTAssertGreaterThan(m.mbps, 0)
        XCTAssert(m.source.contains("64 MB"), m.source)
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        try Data(count: 2 << 20).write(to: URL(fileURLWithPath: full + "/big-1.0-py3-none-any.whl"))
        let w = bench.mirrorThroughput(wheelhouse: full)
        XCTAssertGreaterThan(w.mbps, 0)
        XCTAssert(w.source.contains("big-1.0-py3-none-any.whl"), w.source)
        // One wheel: nothing to fit a fixed cost to; the bytes alone, and it says why.
        let one = try bench.mirror(wheelhouse: full)
        XCTAssertEqual(one.overheadMillis, 0)
        XCTAssertGreaterThan(one.mbps, 0)
        XCTAssert(one.source.contains("fewer than 3 wheels"), one.source)
    }

    /// The mirror as the worker fetches from it: wheels of 4 sizes fetched through the worker's own
    /// `store.download`, fitted as a fixed cost per wheel plus bytes over a throughput; the fetches' staging
    /// folders and the worker's cgroups are all removed.
    func testTheMirrorIsFittedOnTheWorkersOwnFetches() throws {
        let bench = try CalibrationBench(repeats: 1, cores: 1)
        defer { bench.remove() }
        let house = bench.work + "/wheelhouse-sizes"
        try FileManager.default.createDirectory(atPath: house, withIntermediateDirectories: true)
        for (i, mb) in [1, 4, 16, 32].enumerated() {
            try Data(count: mb << 20).write(to: URL(fileURLWithPath: house + "/w\(i)-1.0-py3-none-any.whl"))
        }
        let before = Set(try Cgroups.detect().leftovers())
        let m = try bench.mirror(wheelhouse: house)
        XCTAssertGreaterThan(m.mbps, 0)
        XCTAssertGreaterThanOrEqual(m.overheadMillis, 0)
        XCTAssert(m.source.contains("the worker's fetch of 4 wheels") && m.source.contains("from 1.00 to 32.0 MB"), m.source)
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups the fetching worker left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: bench.work + "/mirror-probe"), "the fetches' install root")
    }

    /// Installs are fitted on the worker's own fetch and sandboxed install of the table's packages whose wheels
    /// the wheelhouse holds (a package it lacks is not picked): a fixed cost per package plus a scale on the
    /// table's install_ms, the source naming what was installed; nothing of the installs is left behind. With
    /// fewer than 3 packages of different install_ms, no fit, and it says why.
    func testTheInstallsAreFittedOnTheWorkersOwnInstalls() throws {
        guard getuid() == 0 else { throw XCTSkip("the sandboxed installs need root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let bench = try CalibrationBench(repeats: 1, cores: 1)
        defer { bench.remove() }
        // Four packages whose installs grow with their code (pip compiles it), and one with no wheel.
        var table = PackageTable()
        for (i, lines) in [0, 4_000, 20_000, 60_000].enumerated() {
            let p = Package(name: "pq-inst\(i)", version: "1.0", topLevelModules: ["pq_inst\(i)"], installMillis: Double(lines) / 100)
            try bench.makeWheel(p, code: (0..<lines).map { "x\($0) = \($0)\n" }.joined() + "VALUE = 1\n")
            table.insert(p)
        }
        table.insert(Package(name: "pq-missing", version: "1.0", installMillis: 50))
        let before = Set(try Cgroups.detect().leftovers())
        var lines: [String] = []
        let r = bench.installs(table: table, wheelhouse: bench.work + "/wheelhouse", log: { lines.append($0) })
        let fit = try XCTUnwrap(r.fit, r.source)
        XCTAssertGreaterThan(fit.overheadMillis, 0)
        XCTAssertGreaterThan(fit.scale, 0)
        XCTAssert(r.source.contains("install of 4 packages of the table (pq-inst0, pq-inst1, pq-inst2, pq-inst3; 0 to 600 ms in it)"), r.source)
        XCTAssertEqual(lines.count, 4, lines.joined(separator: "\n"))
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups the installing worker left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: bench.work + "/install-probe"), "the installs' root")
        // Two packages with wheels: no fit.
        let two = PackageTable([table["pq-inst0"]!, table["pq-inst1"]!, table["pq-missing"]!])
        let none = bench.installs(table: two, wheelhouse: bench.work + "/wheelhouse")
        XCTAssertNil(none.fit)
        XCTAssert(none.source.contains("fewer than 3 packages"), none.source)
    }

    /// The install fit weighs each package by its own size: a line through points on a line is that line
    /// either way; through this machine's nine installs (2026-12-03: five small ones at 510-585 ms, four of
    /// 4.5-9.5 s) the unweighted line misses the small ones by 21% at the median (the intercept 375 ms), the
    /// relative one by 10%, and every one by 12% at the median against 17%.
    func testTheInstallFitIsTheLineOfLeastRelativeError() throws {
        let exact = try XCTUnwrap(CalibrationBench.relativeLine([0, 10, 100], [5, 25, 205]))
        XCTAssertEqual(exact.intercept, 5, accuracy: 1e-9); XCTAssertEqual(exact.slope, 2, accuracy: 1e-12)
        let xs = [0, 176, 4277.4, 5685.6, 0, 3945.9, 71.2, 4915, 19], ys = [532.4, 558.7, 6843.7, 9458.8, 543.7, 4545.1, 583.7, 9328, 511.6]
        let plain = try XCTUnwrap(CalibrationBench.line(xs, ys)), relative = try XCTUnwrap(CalibrationBench.relativeLine(xs, ys))
        XCTAssertEqual(plain.intercept, 374.76, accuracy: 0.01); XCTAssertEqual(plain.slope, 1.547, accuracy: 0.001)
        XCTAssertEqual(relative.intercept, 478.25, accuracy: 0.01); XCTAssertEqual(relative.slope, 1.3159, accuracy: 0.0001)
        func medianError(_ l: (intercept: Double, slope: Double), under: Double) -> Double {
            Summary(zip(xs, ys).filter { $0.0 < under }.map { abs(l.intercept + l.slope * $0.0 - $0.1) / $0.1 }).p50
        }
        XCTAssertEqual(medianError(plain, under: 200), 0.210, accuracy: 0.001); XCTAssertEqual(medianError(relative, under: 200), 0.102, accuracy: 0.001)
        XCTAssertEqual(medianError(plain, under: .infinity), 0.169, accuracy: 0.001); XCTAssertEqual(medianError(relative, under: .infinity), 0.120, accuracy: 0.001)
        XCTAssertNil(CalibrationBench.relativeLine([0, 1], [0, 1]), "a point at 0 has no relative error")
        XCTAssertNil(CalibrationBench.line([1, 2], [1, 2], weights: [1, 0]))
        XCTAssertNil(CalibrationBench.line([1, 1], [1, 2]), "xs all alike")
    }

    /// Which starts began alone: no other request in flight when they started (others may come during them).
    func testStartedAloneAreTheStartsWithNoneInFlight() {
        func hit(_ n: Int64, _ start: Double, _ end: Double) -> RequestRecord {
            RequestRecord(request: n, handler: 0, arrivalNanos: Nanos.fromMillis(start), startNanos: Nanos.fromMillis(start),
                          endNanos: Nanos.fromMillis(end), tier: .import, zygote: 1)
        }
        // 1 began alone (2 came during it); 2 began beside 1; 3 alone though 4 came during it; 4 as 3 ran;
        // 5 began as 3 and 4 had ended; 6 inside 5.
        let rs = [hit(1, 0, 10), hit(2, 5, 15), hit(3, 20, 30), hit(4, 25, 28), hit(5, 30, 60), hit(6, 45, 50)]
        XCTAssertEqual(CalibrateJob.startedAlone(rs.shuffled()).map(\.request), [1, 3, 5])
        // Split by how they started, the others beside; request numbers repeated (rounds) are kept apart.
        let (alone, beside) = CalibrateJob.splitByStart(rs + [hit(1, 100, 110), hit(2, 105, 108)])
        XCTAssertEqual(alone.map(\.startNanos), [0, 20, 30, 100].map(Nanos.fromMillis))
        XCTAssertEqual(beside.map(\.startNanos), [5, 25, 45, 105].map(Nanos.fromMillis))
    }

    /// Import hits served over HTTP: those that started alone give create, fork, init and invoke their medians
    /// and spreads, those that started beside another their contended spreads (on the same footing); too few
    /// of either leaves the figures served directly.
    func testServedImportHitsGiveTheirPhasesAloneAndBesideOthers() {
        func hits(_ n: Int, fork: Double, initMs: Double, exec: Double) -> [RequestRecord] {
            (0..<n).map { i in
                var r = RequestRecord(request: Int64(i), handler: 0, arrivalNanos: 0, startNanos: 0, endNanos: 0, tier: .import, zygote: 1)
                r.createNanos = Nanos.fromMillis(0.1); r.forkNanos = Nanos.fromMillis(fork)
                r.initNanos = Nanos.fromMillis(initMs); r.execNanos = Nanos.fromMillis(exec)
                return r
            }
        }
        var costs = RuntimeCosts()
        costs.forkMillis = 1.2; costs.initOverheadMillis = 0.3; costs.invokeOverheadMillis = 0.2
        let alone = hits(100, fork: 1.5, initMs: 1.4, exec: 1.25), beside = hits(100, fork: 2.5, initMs: 1.8, exec: 1.75)
        XCTAssertFalse(CalibrateJob.useServedImportHits(alone: alone, beside: Array(beside.prefix(99)), zygoteGB: 0.01, in: &costs, log: { _ in }))
        XCTAssertEqual(costs.forkMillis, 1.2)
        XCTAssertNil(costs.contendedSpreads["fork_ms"])
        costs.forkPerGBMillis = 10 // a fork's median less what the zygote's size adds: 1.5 - 10 × 0.01
        XCTAssertTrue(CalibrateJob.useServedImportHits(alone: alone, beside: beside, zygoteGB: 0.01, in: &costs, log: { _ in }))
        XCTAssertEqual(costs.forkMillis, 1.4, accuracy: 1e-9)
        XCTAssertEqual(costs.initOverheadMillis, 0.4, accuracy: 1e-9)
        XCTAssertEqual(costs.invokeOverheadMillis, 0.25, accuracy: 1e-9)
        XCTAssertEqual(costs.containerCreateMillis, 0.1, accuracy: 1e-9)
        XCTAssertEqual(costs.spreads["fork_ms"]?.median ?? 0, 1.4, accuracy: 1e-9)
        // Contended spreads on the footing of the value: beside / alone as measured.
        XCTAssertEqual(costs.contendedSpreads["fork_ms"]?.median ?? 0, 2.5 * 1.4 / 1.5, accuracy: 1e-9)
        XCTAssertEqual(costs.contendedSpreads["init_overhead_ms"]?.median ?? 0, 0.8, accuracy: 1e-9)
        XCTAssertEqual(costs.contendedSpreads["invoke_overhead_ms"]?.median ?? 0, 0.75, accuracy: 1e-9)
    }

    /// Hits served over HTTP: those that started alone give thaw and invoke their median and spread, those
    /// that started beside another their contended spread; too few of either leaves the direct figures.
    func testServedHitsGiveThawAndInvokeAloneAndBesideOthers() throws {
        func hits(_ n: Int, thaw: Double, exec: Double) -> [RequestRecord] {
            (0..<n).map { i in
                var r = RequestRecord(request: Int64(i), handler: 0, arrivalNanos: 0, startNanos: 0, endNanos: 0, tier: .handler, zygote: nil)
                r.createNanos = Nanos.fromMillis(thaw); r.execNanos = Nanos.fromMillis(exec)
                return r
            }
        }
        var costs = RuntimeCosts()
        costs.thawMillis = 0.1; costs.thawedInvokeOverheadMillis = 0.5
        XCTAssertFalse(CalibrateJob.useServedHits(alone: hits(100, thaw: 0.05, exec: 1.2), beside: hits(99, thaw: 0.08, exec: 1.9), in: &costs, log: { _ in }))
        XCTAssertEqual(costs.thawMillis, 0.1)
        // Alone: thaw 0.05, invoke 1.2 with the 1 ms of work; beside others: thaw 0.08, invoke 1.9.
        XCTAssertTrue(CalibrateJob.useServedHits(alone: hits(100, thaw: 0.05, exec: 1.2), beside: hits(100, thaw: 0.08, exec: 1.9), in: &costs, log: { _ in }))
        XCTAssertEqual(costs.thawMillis, 0.05, accuracy: 1e-9)
        XCTAssertEqual(costs.thawedInvokeOverheadMillis, 0.2, accuracy: 1e-9)
        XCTAssertEqual(costs.spreads["thawed_invoke_overhead_ms"]?.median ?? 0, 0.2, accuracy: 1e-9)
        XCTAssertEqual(costs.contendedSpreads["thaw_ms"]?.median ?? 0, 0.08, accuracy: 1e-9)
        XCTAssertEqual(costs.contendedSpreads["thawed_invoke_overhead_ms"]?.median ?? 0, 0.9, accuracy: 1e-9)
    }

    /// The dispatch's weight is fitted by replaying the served hits' arrivals in the simulator: hits the
    /// simulator itself made at a known weight (no spreads: every draw the median, so seeds agree) fit back
    /// to that weight, whatever the load, and a stream too light for anything to share a core gives no
    /// preference (every weight the same error, the first, 0, taken).
    func testTheDispatchWeightFitsBackTheWeightThatMadeTheHits() throws {
        var costs = RuntimeCosts()
        costs.thawMillis = 0.05; costs.thawedInvokeOverheadMillis = 0.3; costs.dispatchMillis = 1; costs.handoffMillis = 0.04
        costs.interpreterStartMillis = 50
        let fit = DispatchWeightFit(costs: costs, cores: 2, queueLimit: 64, handlers: 20)
        func arrivals(rate: Double, count: Int) -> [RequestRecord] {
            let gaps = RandomSource(seed: 3).substream("test")
            var t = 0.0
            return (0..<count).map { i in
                t += gaps.exponential(mean: 1 / rate)
                return RequestRecord(request: Int64(i), handler: Int32(i % 20), arrivalNanos: Int64(t * 1e9), startNanos: 0, endNanos: 0, tier: .handler, zygote: nil)
            }
        }
        let busy = arrivals(rate: 700, count: 600), light = arrivals(rate: 400, count: 300)
        for w in [0.25, 0.6] {
            let made = [DispatchWeightFit.Stream(name: "700/s", hits: try fit.simulate(busy, weight: w, seed: 9)),
                        DispatchWeightFit.Stream(name: "400/s", hits: try fit.simulate(light, weight: w, seed: 9))]
            XCTAssertEqual(made[0].hits.count, 600, "every request of the stream is a hit")
            let r = try fit.fit(made)
            XCTAssertEqual(r.weight, w, accuracy: 1e-9)
            XCTAssertEqual(r.points.count, DispatchWeightFit.candidates.count)
            // The latencies grow with the weight: the dispatch takes more from the hits.
            XCTAssertLessThan(r.points.first!.p50[0], r.points.last!.p50[0])
        }
        let sparse = arrivals(rate: 5, count: 50)
        let r = try fit.fit([DispatchWeightFit.Stream(name: "5/s", hits: try fit.simulate(sparse, weight: 0.5, seed: 9))])
        XCTAssertEqual(Set(r.points.map(\.error)).count, 1, "nothing shares a core at 5 per second")
        XCTAssertEqual(r.weight, 0)
    }

    /// The weight kept is the median of the rounds' fits (the lower middle of an even count), and the cost
    /// file's header names every round's weight and the kept round's figures.
    func testTheDispatchWeightIsTheMedianOfTheRounds() throws {
        func round(_ w: Double, p50: Double) -> DispatchWeightFit.Result {
            let p = DispatchWeightFit.Point(weight: w, p50: [p50], p90: [2 * p50], error: 0)
            return DispatchWeightFit.Result(streams: [.init(name: "600/s", hits: [])], measured: [(p50, 2 * p50)], points: [p], best: p)
        }
        var rounds = [round(0.5, p50: 2.8), round(0, p50: 2.2), round(0.2, p50: 2.6)]
        rounds[0].machine = "settled: idle, 40% busy"
        let m = try XCTUnwrap(DispatchWeightFit.median(rounds))
        XCTAssertEqual(m.weight, 0.2)
        XCTAssertEqual(DispatchWeightFit.median(Array(rounds.prefix(2)))?.weight, 0, "of two, the lower")
        XCTAssertNil(DispatchWeightFit.median([]))
        let h = DispatchWeightFit.header(rounds, median: m)
        XCTAssert(h.contains("in each of 3 rounds") && h.contains("(0.50 [settled: idle, 40% busy], 0.00, 0.20)") && h.contains("measured 600/s 2.600/5.200 ms") && h.contains("simulated at 0.20"), h)
    }
}

/// Lines logged from any thread.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ l: String) { lock.withLock { lines.append(l) } }
    var all: [String] { lock.withLock { lines } }
}
