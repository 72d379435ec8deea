import XCTest
import CachePolicy
import Foundation
import Runtime
import Simulation
import Workload
@testable import Experiments

/// A short compare on synthetic packages: the real runtime and the simulator, fed the real outcomes, make
/// identical decisions.
final class CompareTests: XCTestCase {
    /// A compare of `dir/t.csv` on the wheels, packages and scratch folders in `dir`.
    func compareJob(in dir: String, name: String) -> CompareJob {
        var job = CompareJob()
        job.name = name
        job.outputDirectory = dir + "/results"
        job.run.tracePath = dir + "/t.csv"
        job.run.packagesPath = dir + "/packages.csv"
        job.run.wheelhouse = dir + "/wheelhouse"
        job.run.runtime.stateDirectory = dir + "/state"
        job.run.runtime.packageDirectory = dir + "/pkgs"
        job.measureCache = dir + "/measure-cache"
        return job
    }

    /// Removals held back run only when asked, each once, in order.
    func testRemovalsHeldBackRunOnlyWhenAsked() throws {
        let dir = "/tmp/pipsqueak-removals-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for d in ["a/x", "b"] { try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true) }
        let r = DeferredRemovals()
        var order: [String] = []
        r.add(path: dir + "/a")
        r.add { order.append("action") }
        r.add(path: dir + "/b")
        XCTAssert(FileManager.default.fileExists(atPath: dir + "/a/x") && FileManager.default.fileExists(atPath: dir + "/b"), "nothing removed before run")
        XCTAssertEqual(r.run(), 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/a")); XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/b"))
        XCTAssertEqual(order, ["action"])
        XCTAssertEqual(r.run(), 0, "each once")
        XCTAssertEqual(order, ["action"])
    }

    func testAShortCompareHasIdenticalDecisionLogs() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let dir = "/tmp/pipsqueak-compare-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyWheels.make(in: dir, [("alpha", "import time\ntime.sleep(0.02)\n", 20), ("beta", "V = 2\n", 1)])
        let sets = HandlerSets(rows: [.init(repo: "a", packages: ["alpha"]), .init(repo: "b", packages: ["alpha", "beta"]), .init(repo: "c", packages: ["beta"])])
        let (hs, body) = try TraceGenerator.mixed(sets: sets, handlers: 6, rate: 4, seconds: 10, seed: 2)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        var job = compareJob(in: dir, name: "test")
        job.run.speed = 2
        job.run.limit = 15
        job.speedProbe = false
        var c = PolicyConfig.presets["all"]!
        c.importCache.threshold = 1
        c.handlerCache.memoryMB = 40 // tight enough that the real memory outcomes decide evictions
        job.run.config = c
        job.requireIdenticalDecisions = true
        let report = try job.execute()
        XCTAssertGreaterThan(report.decisionsCompared, 15)
        XCTAssertNil(report.firstDivergence.map { "line \($0.index): real \($0.real) sim \($0.sim)" })
        XCTAssertEqual(report.failures, [])
        let join = try String(contentsOfFile: report.joinPath, encoding: .utf8)
        XCTAssertEqual(join.split(separator: "\n").filter { !$0.hasPrefix("#") }.count, 16, "header and 15 requests")
        XCTAssertNil(report.speed, "--no-speed-probe")
        XCTAssert(join.contains("# import speed: not scaled (--no-speed-probe)"), join)
        XCTAssert(join.contains(" --no-speed-probe\n"), "the made-by line says so")
        XCTAssert(join.contains("# handler-cache hits: the runtime cost file's (one core: no server)\n"), join)
        XCTAssertNil(report.installs)
        XCTAssert(join.contains("# installs: the runtime cost file's ("), join)
        XCTAssertEqual(Sys.mounts(under: dir), [])
    }

    /// SIGINT or SIGTERM during the real run (`RunJob.interrupted`, as the signal handler sets it): the run
    /// stops and cleans up, and compare throws without writing its CSV or real side, so a comparison of the
    /// same name from before stays as it was.
    func testAnInterruptedCompareWritesNothing() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let dir = "/tmp/pipsqueak-compare-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyWheels.make(in: dir, [("alpha", "V = 1\n", 1)])
        let sets = HandlerSets(rows: [.init(repo: "a", packages: ["alpha"])])
        let (hs, body) = try TraceGenerator.mixed(sets: sets, handlers: 3, rate: 4, seconds: 30, seed: 2)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        var job = compareJob(in: dir, name: "stopped")
        job.speedProbe = false
        try FileManager.default.createDirectory(atPath: job.outputDirectory, withIntermediateDirectories: true)
        let before = "an earlier comparison\n"
        try before.write(toFile: job.outputDirectory + "/compare-stopped.csv", atomically: true, encoding: .utf8)
        defer { RunJob.interrupted = false }
        let lines = LockedLines()
        let stopper = Thread {
            // Once the real run has begun (its progress line), as a user's Ctrl-C would.
            while !lines.all.contains(where: { $0.hasPrefix("real run of ") }) { usleep(20_000) }
            usleep(1_500_000)
            RunJob.interrupted = true
        }
        stopper.start()
        XCTAssertThrowsError(try job.execute(progress: { lines.append($0) })) { error in
            XCTAssert(error is RunJob.Interrupted, "\(error)")
            XCTAssert("\(error)".contains("compare-stopped.csv and its real side is not written"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: job.outputDirectory + "/compare-stopped.csv", encoding: .utf8), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: job.outputDirectory + "/compare-stopped.real.json.gz"))
        XCTAssertFalse(lines.all.contains { $0.hasPrefix("simulating") }, lines.all.joined(separator: "\n"))
        XCTAssertEqual(Sys.mounts(under: dir), [])
    }

    /// The same over the concurrent worker: two cores, requests over HTTP, the simulator on two cores with
    /// the same queue bound; requests join by their place in the trace and agree on tier and zygote.
    func testAConcurrentCompareJoinsAndAgreesRequestByRequest() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        let dir = "/tmp/pipsqueak-compare-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TinyWheels.make(in: dir, [("alpha", "import time\ntime.sleep(0.02)\n", 20)])
        let (hs, body) = try TraceGenerator.microbenchmark(package: "alpha", handlers: 5, rate: 8, seconds: 10, seed: 3)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        // The compare times alpha's import again (as measure does) and scales imports by now over the table's.
        var job = compareJob(in: dir, name: "concurrent")
        job.run.limit = 40
        job.cores = 2
        // The real side three times: the second run is reported against the first (the real system's
        // repeatability), and all three are pooled against the five simulated seeds.
        job.realRuns = 3
        // Handler-cache hits and the dispatch timed again around the real run (fewer than calibrate's 1000).
        job.hitProbeRequests = 100
        // alpha's install as if calibrate had timed it at 400 ms: compare installs it again around the run.
        var costs = try SimulateJob().runtimeCosts()
        costs.installedMillis = ["alpha": 400, "not-in-the-trace": 9000]
        // And alpha's import as if calibrate had timed it again at 25 ms: the speed probe's figure then.
        costs.importedMillis = ["alpha": 25]
        job.chargeInstalls = true
        job.runtimeCostsPath = dir + "/runtime-costs.csv"
        try costs.write(path: job.runtimeCostsPath!, comments: [])
        // What this compare makes is checked, not what earlier tests of this process left (see the end).
        let before = Set(try Cgroups.detect().leftovers())
        if !before.isEmpty { print("CompareTests: cgroups already there before the compare (another test's): \(before.sorted())") }
        let report = try job.execute()
        XCTAssertEqual(report.realErrors, 0, report.text)
        XCTAssertEqual(report.joined, 40, report.text)
        XCTAssertGreaterThanOrEqual(report.tierAndZygoteAgreement, 0.9, report.text)
        XCTAssertEqual(report.cores, 2)
        XCTAssertNotNil(report.realLoad)
        XCTAssert(report.phaseErrors.contains { $0.phase == "exec" && $0.n > 0 }, report.text)
        XCTAssert(report.text.contains("request by request (40 joined)"), report.text)
        let speed = try XCTUnwrap(report.speed)
        XCTAssertEqual(speed.packages, ["alpha"])
        XCTAssertEqual(speed.measured, 25, "the calibration's figure, not the table's")
        XCTAssertEqual(speed.atCalibration, true)
        // alpha's import sleeps 20 ms: timed again, it takes at least that.
        XCTAssertGreaterThanOrEqual(speed.before, 20); XCTAssertGreaterThanOrEqual(try XCTUnwrap(speed.after), 20)
        let join = try String(contentsOfFile: report.joinPath, encoding: .utf8)
        XCTAssert(join.contains(String(format: "25.0 ms at calibration (the runtime costs' imported_ms rows, charged instead of the table's): import costs × %.3f for both executors", speed.scale)), join)
        // The second real run: per tier against the first, tier agreement, two more columns on every row.
        XCTAssert(report.realAgain.contains { $0.tier == "all" && $0.count.real > 0 && $0.count.sim > 0 }, report.text)
        XCTAssertNotNil(report.realAgainTierAgreement)
        XCTAssert(report.text.contains("real again: a second real run against the first: "), report.text)
        XCTAssert(join.contains("# real again: a second real run against the first: "), join)
        XCTAssert(join.contains(" --real-runs 3"), "the made-by line says so")
        let rows = join.split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssert(rows[0].hasSuffix(",error_real,tier_real2,latency_real2_ms,tier_real3,latency_real3_ms,tier_sim2,latency_sim2_ms,tier_sim3,latency_sim3_ms,tier_sim4,latency_sim4_ms,tier_sim5,latency_sim5_ms"
                                    + ",tier_point,latency_point_ms,queue_point_ms,download_point_ms,install_point_ms,create_point_ms,fork_point_ms,import_point_ms,init_point_ms,exec_point_ms"), String(rows[0]))
        // The point simulation (every primitive at its median): the per-request phase errors against it too, over
        // the requests it started as the real run did.
        XCTAssertGreaterThan(report.pointJoined, 0, report.text)
        XCTAssert(report.pointPhaseErrors.contains { $0.phase == "exec" && $0.n == report.pointJoined }, report.text)
        // Each start's time on a core came over HTTP with its record (the Pipsqueak-Record header).
        let inits = try XCTUnwrap(report.onCore.real.first { $0.phase == "inits" }, report.text)
        XCTAssert(inits.n > 0 && inits.cpuP50Ms > 0 && inits.share > 0, "\(inits)")
        let simInits = try XCTUnwrap(report.onCore.sim.first { $0.phase == "inits" }, report.text)
        XCTAssert(simInits.n > 0 && simInits.share > 0 && simInits.share <= 1 + 1e-9, "the work is never more than the wall: \(simInits)")
        XCTAssert(join.contains("# on a core: the first real run's starts, wall against the container's own time on a core"), join)
        // This process's own CPU over the real run (the server and the load generator), beside the dispatches' charge.
        let own = try XCTUnwrap(report.selfCPU, report.text)
        XCTAssert(own.cpu > 0 && own.wall > own.cpu / 2 && own.simDispatch > 0, "\(own)")
        XCTAssert(join.contains("this process over the first real run (the worker's server and maintenance threads and the load generator"), join)
        // by kind of thread: the worker's cores, its server and the load generator each did some of it.
        let threads = try XCTUnwrap(report.threadCPU, report.text)
        for kind in ["cores", "load generator", "server"] {
            XCTAssert(threads.kinds.contains { $0.kind == kind && $0.cpuNanos > 0 }, "\(kind): \(threads)")
        }
        XCTAssert(threads.cpuNanos <= own.cpu + 10_000_000, "the threads' sum within the process's: \(threads) of \(own.cpu)")
        XCTAssert(threads.kinds.contains { $0.kind == "maintenance" && $0.threads == 1 }, "the worker's maintenance thread: \(threads)")
        XCTAssert(join.contains("; by its threads: cores "), join)
        // Each start until ready: on a core and waiting for one, real (the kernel's account) and simulated.
        let ready = try XCTUnwrap(report.onCore.real.first { $0.phase == "starts until ready" }, report.text)
        XCTAssert(ready.n > 0 && ready.cpuP50Ms > 0 && ready.waitShare != nil, "\(ready)")
        let simReady = try XCTUnwrap(report.onCore.sim.first { $0.phase == "starts until ready" }, report.text)
        XCTAssertEqual(simReady.share + simReady.waitShare!, 1, accuracy: 1e-6, "all a simulated start's wall over its work is a wait for a core")
        XCTAssert(report.text.contains("each phase against the point simulation (every primitive at its median: the simulator's guess of each request), over the \(report.pointJoined) requests")
                  && report.text.contains("each phase against the simulation with seed 1's draws"), report.text)
        // Pooled: three real runs' served requests against five simulations', per tier.
        XCTAssert(report.pooledRuns == (3, 5), "\(report.pooledRuns)")
        let pooledAll = try XCTUnwrap(report.pooled.first { $0.tier == "all" })
        XCTAssertEqual(pooledAll.count.real, 3 * 40, report.text); XCTAssertEqual(pooledAll.count.sim, 5 * 40, report.text)
        XCTAssert(join.contains("# pooled: 3 real runs and 5 simulations (seeds 1 to 5), each tier's latencies of all of them together, simulated against real: "), join)
        XCTAssert(report.text.contains("pooled: 3 real runs and 5 simulations"), report.text)
        for r in rows.dropFirst() { XCTAssertEqual(r.split(separator: ",", omittingEmptySubsequences: false).count, rows[0].split(separator: ",").count, String(r)) }
        // The hit probe: dispatch timed before and after the run, the simulation given the mean.
        let hits = try XCTUnwrap(report.hits, report.hitNote)
        XCTAssertNotNil(hits.dispatch.after)
        XCTAssertGreaterThan(hits.runDispatch, 0)
        XCTAssertEqual(report.dispatchNanos, Nanos.fromMillis(hits.runDispatch), "both loads count the probed dispatch")
        XCTAssert(join.contains(String(format: "# handler-cache hits: timed again as calibrate times them: dispatch %.3f ms before the real run", try XCTUnwrap(hits.dispatch.before))), join)
        XCTAssertEqual(hits.failed, [])
        // The install probe: alpha installed again before and after the run, the simulation charged by them.
        let installs = try XCTUnwrap(report.installs, report.installNote)
        XCTAssertEqual(installs.packages, ["alpha"])
        XCTAssertEqual(installs.calibrated, 400)
        XCTAssertEqual(installs.failed, [])
        XCTAssertGreaterThan(try XCTUnwrap(installs.before), 0); XCTAssertGreaterThan(try XCTUnwrap(installs.after), 0)
        XCTAssert(join.contains(String(format: "# installs: alpha installed again as calibrate installs them: %.0f ms before the real run, %.0f after it, 400 ms at calibration: simulated installs × %.3f (the mean of before and after",
                                       installs.before!, installs.after!, installs.charge)), join)
        // The simulator's own draws: five seeds, each tier's errors under each, their range in the header.
        XCTAssert(report.seedErrors.contains { $0.tier == "handler" && $0.p50.count == 5 && $0.p99.count == 5 }, "\(report.seedErrors)")
        XCTAssertEqual(report.seedErrors.first { $0.tier == "handler" }?.p50.first ?? .nan,
                       try XCTUnwrap(report.tiers.first { $0.tier == "handler" }).relError(0.5), accuracy: 1e-12, "the first seed is the joined simulation")
        XCTAssert(join.contains("# simulation's own draws: seeds 1 to 5, each tier's error against the real run from the lowest to the highest: handler p50 "), join)
        // The simulation heard the real containers' memory by handler and zygote, and the header says how.
        let memory = try XCTUnwrap(report.memory)
        XCTAssertGreaterThan(memory.real, 0, report.text)
        XCTAssertEqual(memory.real + memory.scaled + memory.unscaled + memory.kept, 40, "every simulated end is counted once")
        XCTAssert(join.contains("# memory: of 40 simulated container ends, \(memory.real) took a real container's memory"), join)
        // How the real run's import starts forked is counted (this cost model has no standby children).
        XCTAssert(join.contains("# standby children: import starts that took one: "), join)
        // What the machine's cores did over the real run: busy with it, and none taken by a hypervisor here.
        let cpu = try XCTUnwrap(report.cpu.real)
        XCTAssertGreaterThan(cpu.busy, 0); XCTAssertLessThanOrEqual(cpu.busy + cpu.steal, 1)
        XCTAssert(join.contains("# machine cpu: over the real run, of the machine's "), join)
        XCTAssertEqual(report.cpu.again.count, 2, "the CPU over real runs 2 and 3")
        XCTAssert(join.contains("; real run 3: "), "every further real run's CPU in the header")
        // Each real run started on a machine at rest: synced, then its cores watched until idle.
        XCTAssertEqual(report.settle.count, 3)
        for s in report.settle { XCTAssertNotNil(try XCTUnwrap(s).dirtyKB); XCTAssertGreaterThan(try XCTUnwrap(s).waitedMs, 0) }
        XCTAssert(join.contains("; each run started on a machine at rest (sync, then cores idle): run 1: ") && join.contains(", run 3: "), join)
        XCTAssertEqual(Set(try Cgroups.detect().leftovers()).subtracting(before), [], "cgroups this compare's worker left")
        // Its install trees (each real run's install cache, the probe's copies) are removed after the last real
        // run, and the header says so, with the filesystem they were timed on.
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: dir + "/pkgs")) ?? [], [], "install caches left")
        XCTAssert(join.contains("; installs timed on ") && join.contains("; the install trees of this compare (each real run's install cache, the probe's copies) removed only after its last real run"), join)
        // The real side is kept: simulated again from it, the same comparison row for row, and the header says
        // where the real runs came from.
        let sidePath = dir + "/results/compare-concurrent.real.json.gz"
        let side = try CompareJob.RealSide.read(path: sidePath)
        XCTAssertEqual(side.runs.map(\.records.count), [40, 40, 40])
        XCTAssertEqual(side.setup.realRuns, 3); XCTAssertEqual(side.setup.cores, 2)
        var again = try CompareJob(resimulating: side, path: sidePath)
        again.name = "concurrent-again"
        let re = try again.resimulate(side)
        let joinAgain = try String(contentsOfFile: re.joinPath, encoding: .utf8)
        func dataRows(_ s: String) -> [Substring] { s.split(separator: "\n").filter { !$0.hasPrefix("#") } }
        XCTAssertEqual(dataRows(joinAgain), dataRows(join))
        XCTAssertEqual(re.pooled.map { $0.relError(0.99) }, report.pooled.map { $0.relError(0.99) })
        XCTAssert(joinAgain.contains("# real side: \(sidePath), made by: "), joinAgain)
        XCTAssert(joinAgain.contains(String(format: "simulated installs × %.3f", installs.charge)), joinAgain)
        // Installs not charged: the probe's figures stay in the header, the simulation takes the file's.
        again.chargeInstalls = false; again.name = "uncharged"
        let uncharged = try String(contentsOfFile: try again.resimulate(side).joinPath, encoding: .utf8)
        XCTAssert(uncharged.contains("400 ms at calibration: not charged (simulated installs at the runtime costs'"), uncharged)
        XCTAssert(uncharged.contains("# made by: pipsqueak resimulate \(sidePath) --no-charge-installs"), uncharged)
        // A runtime cost row set to another value (`resimulate --set`): the header says so, and a row the
        // simulation reads changes what it charges.
        again.runtimeSettings = [("import_overlap_credit", 0), ("install_scale", 2)]; again.name = "set"
        let set = try String(contentsOfFile: try again.resimulate(side).joinPath, encoding: .utf8)
        XCTAssert(set.contains(" --set import_overlap_credit=0 --set install_scale=2"), set)
        XCTAssert(set.contains("import_overlap_credit set to 0 by resimulate, install_scale set to 2 by resimulate"), set)
        again.runtimeSettings = [("no_such_row", 1)]
        XCTAssertThrowsError(try again.resimulate(side)) { XCTAssert("\($0)".contains("unknown primitive 'no_such_row'"), "\($0)") }
        again.runtimeSettings = []
        // A trace changed since the real runs is refused, naming it.
        try (try String(contentsOfFile: dir + "/t.csv", encoding: .utf8) + "\n").write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try again.resimulate(side)) { XCTAssert("\($0)".contains("t.csv") && "\($0)".contains("changed since the real side was measured"), "\($0)") }
    }

    /// `resimulate --set`: a row's value replaced, its spread scaled to keep its shape, a missing row added, and
    /// the reader's checks still apply (a value out of range is refused naming the row).
    func testSettingARuntimeCostRowKeepsItsSpreadsShape() throws {
        var costs = RuntimeCosts()
        costs.thawMillis = 2
        costs.spreads["thaw_ms"] = CostSpread(quantiles: [1, 1.5, 1.8, 2, 2.5, 3, 3.2, 3.5, 4])
        var side = CompareJob.RealSide()
        try side.setRuntime(costs)
        let r = try side.runtime(setting: [("thaw_ms", 4), ("import_overlap_credit", 0.25)])
        XCTAssertEqual(r.thawMillis, 4)
        XCTAssertEqual(try XCTUnwrap(r.spreads["thaw_ms"]).quantiles, [2, 3, 3.6, 4, 5, 6, 6.4, 7, 8])
        XCTAssertEqual(r.importOverlapCredit, 0.25)
        XCTAssert(r.source.hasSuffix("thaw_ms set to 4 by resimulate, import_overlap_credit set to 0.25 by resimulate"), r.source)
        XCTAssertEqual(try side.runtime().thawMillis, 2, "the kept text is unchanged")
        XCTAssertThrowsError(try side.runtime(setting: [("import_overlap_credit", 2)])) { XCTAssert("\($0)".contains("import_overlap_credit"), "\($0)") }
    }

    /// The real side reads back as written: records, outcomes, the tuples of a run and of the hit probe, the
    /// runtime costs; a file of another format is refused with what to do.
    func testTheRealSideReadsBackAsWritten() throws {
        let dir = "/tmp/pipsqueak-realside-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rec = RequestRecord(request: 1, handler: 0, arrivalNanos: 5, startNanos: 6, endNanos: 9, tier: .import, zygote: 3)
        rec.importNanos = 2; rec.error = "refused, \"queue full\""
        var run = CompareJob.Run()
        run.records = [rec]; run.decisions = ["t=1 start h0"]; run.refused = 2
        run.outcomes = [.container(id: 1, memoryBytes: 2 << 20, failed: false), .zygoteFailed(id: 3, packages: nil), .zygoteReady(id: 4, memoryBytes: 7)]
        run.forks = (3, 4); run.cpu = (0.5, 0.01); run.selfCPU = (5_000_000, 20_000_000)
        run.threadCPU = ThreadCPU(kinds: [.init(kind: "cores", cpuNanos: 3, waitNanos: 1, threads: 2)])
        run.settle = MachineSettle(dirtyKB: 812 * 1024, syncMs: 1200, waitedMs: 250, busy: 0.04, idle: true)
        // One build whose zygote reported its imports' time on a core and one written as older files have it.
        run.buildTimes = [ZygoteBuildTime(wall: 10_000_000, imports: 7_000_000, importsOnCPU: 5_000_000),
                          ZygoteBuildTime(wall: 20_000_000, imports: 9_000_000)]
        run.builds = CompareJob.Run.summary(ofBuilds: run.buildTimes)
        var side = CompareJob.RealSide()
        side.runs = [run, CompareJob.Run()]
        side.hits = CompareJob.HitCheck(dispatch: (1, 2, nil), thaw: (0.1, nil), invoke: (0.2, 0.3), handoff: (0.04, nil))
        side.installs = CompareJob.InstallCheck(packages: ["a"], calibrated: 400, before: 300, after: nil)
        var costs = RuntimeCosts()
        costs.dispatchMillis = 0.973_456_789_123; costs.thawMillis = 0.04; costs.installedMillis = ["a": 400]; costs.source = "somewhere/runtime-costs.csv"
        costs.spreads["thaw_ms"] = CostSpread(quantiles: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.065, 0.07, 0.08])
        try side.setRuntime(costs)
        let path = dir + "/compare-x.real.json.gz"
        try side.write(path: path)
        let back = try CompareJob.RealSide.read(path: path)
        XCTAssertEqual(back.runs.count, 2)
        let r = back.runs[0]
        XCTAssertEqual(r.records, [rec]); XCTAssertEqual(r.decisions, run.decisions); XCTAssertEqual(r.outcomes, run.outcomes)
        XCTAssertEqual(r.refused, 2)
        XCTAssert(r.forks! == (3, 4)); XCTAssert(r.cpu! == (0.5, 0.01))
        let b = try XCTUnwrap(r.builds)
        XCTAssert((b.count, b.medianMs, b.importsMs) == (2, 10, 7), "the builds' summary read back: from their times, as the real run makes it (nearest-rank medians)")
        XCTAssertNil(b.importsOnCPUMs, "no median of the time on a core unless every build has one")
        XCTAssertEqual(r.buildTimes, run.buildTimes, "a build with its time on a core and one without (an older file's) read back as written")
        let both = CompareJob.Run.summary(ofBuilds: [run.buildTimes[0], ZygoteBuildTime(wall: 1, imports: 1, importsOnCPU: 4_000_000)])
        XCTAssertEqual(both?.importsOnCPUMs, 4)
        XCTAssertEqual(r.settle, run.settle)
        XCTAssertNil(back.runs[1].forks); XCTAssertNil(back.runs[1].cpu); XCTAssertNil(back.runs[1].settle)
        XCTAssert(r.selfCPU! == (5_000_000, 20_000_000)); XCTAssertNil(back.runs[1].selfCPU)
        XCTAssertEqual(r.threadCPU, run.threadCPU); XCTAssertNil(back.runs[1].threadCPU)
        let h = try XCTUnwrap(back.hits)
        XCTAssert(h.dispatch == (1, 2, nil) && h.thaw == (0.1, nil) && h.invoke == (0.2, 0.3) && h.handoff == (0.04, nil))
        XCTAssertEqual(back.installs?.charge, 0.75)
        let c = try back.runtime()
        XCTAssertEqual(c, costs, "every figure reads back as it was"); XCTAssertEqual(c.dispatchMillis, 0.973_456_789_123); XCTAssertEqual(c.installedMillis, ["a": 400]); XCTAssertEqual(c.source, costs.source)
        XCTAssertEqual(c.spreads["thaw_ms"], costs.spreads["thaw_ms"])
        // Not a real side, and a real side of another format: errors that name the file and say what to do.
        try CompareJob.RealSide.gzip(Data("{\"format\": 99}".utf8), to: dir + "/other.gz")
        XCTAssertThrowsError(try CompareJob.RealSide.read(path: dir + "/other.gz")) { XCTAssert("\($0)".contains("format 99") && "\($0)".contains("run the compare again"), "\($0)") }
        try Data("a,b\n".utf8).write(to: URL(fileURLWithPath: dir + "/plain.csv"))
        XCTAssertThrowsError(try CompareJob.RealSide.read(path: dir + "/plain.csv")) { XCTAssert("\($0)".contains("plain.csv: not a gzip file"), "\($0)") }
    }

    /// A hit probe that failed leaves the other's figure (and the run) standing, and the CSV header says so;
    /// with too few hits to split by how they started, the file's thaw and invoke overhead are kept.
    func testAFailedHitProbeLeavesTheOtherOnesFigure() throws {
        var runtime = RuntimeCosts()
        runtime.dispatchMillis = 0.7; runtime.thawedInvokeOverheadMillis = 0.2
        let after = CalibrationBench.Dispatch(directMillis: 0.2, httpMillis: 1.1, dispatchMillis: 0.9, alone: [], beside: [])
        var h = CompareJob.useProbes(before: nil, after: after, in: &runtime)
        XCTAssertEqual(h.runDispatch, 0.9)
        XCTAssertEqual(runtime.dispatchMillis, 0.9)
        XCTAssertNil(h.invoke.run)
        XCTAssertEqual(runtime.thawedInvokeOverheadMillis, 0.2)
        h.failed = ["before the real run: too busy"]
        var r = CompareJob.Report()
        r.hits = h
        let line = CompareJob.hitLine(r)
        XCTAssert(line.hasPrefix("timed again as calibrate times them: dispatch 0.900 after it, 0.700 in the runtime costs: the simulation and both loads use 0.900 (a probe failed, before the real run: too busy)"), line)
        XCTAssert(line.contains("thaw and thawed invoke overhead: the runtime costs' (0 hits started alone, 0 beside another"), line)
        let both = CompareJob.useProbes(before: after, after: CalibrationBench.Dispatch(directMillis: 0.2, httpMillis: 1.4, dispatchMillis: 1.2, alone: [], beside: []), in: &runtime)
        XCTAssertEqual(both.runDispatch, 1.05, accuracy: 1e-9)
    }

    /// The install probe: the trace's costliest installs among those the calibration timed (dependencies
    /// counted, of the requests it runs); the charge is the probes' mean over the calibration's, or the one
    /// that worked; the line says which.
    func testTheInstallProbeTakesTheTracesCostliestCalibratedInstalls() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-installs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = PackageTable([Package(name: "a", installMillis: 100), Package(name: "b", dependencies: ["c"], transitiveDependencies: ["c"], installMillis: 10),
                                  Package(name: "c", installMillis: 50), Package(name: "d", installMillis: 5000)])
        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["a"]), Handler(id: "h2", customer: "y", packages: ["b"]),
                               Handler(id: "h3", customer: "z", packages: ["d"])])
        _ = try TraceJobs.write(table: hs, body: { w in
            w.append(Invocation(arrivalNanos: 0, handler: 1))
            w.append(Invocation(arrivalNanos: 1_000_000, handler: 0))
        }, to: dir + "/t.csv", comments: [])
        let needed = try CompareJob.requestedPackages(try Trace(path: dir + "/t.csv", handlersPath: nil), table: table, limit: nil)
        XCTAssertEqual(needed, ["a": 1, "b": 1, "c": 1], "d's handler gets no request")
        // Calibrated: c (b's dependency) 900, a 700, d 9000 (not needed), e (not in the table).
        let calibrated = ["c": 900.0, "a": 700, "d": 9000, "e": 5000]
        XCTAssertEqual(CompareJob.costliestInstalls(needed, table: table, calibrated: calibrated, count: 2).map(\.name), ["c", "a"])
        XCTAssertEqual(CompareJob.costliestInstalls(needed, table: table, calibrated: calibrated, count: 1).map(\.name), ["c"])
        XCTAssertEqual(CompareJob.costliestInstalls(needed, table: table, calibrated: ["d": 1], count: 2).map(\.name), [])
        var check = CompareJob.InstallCheck(packages: ["c", "a"], calibrated: 1600, before: 2000, after: 2400)
        XCTAssertEqual(check.charge, 1.375, accuracy: 1e-12)
        var r = CompareJob.Report()
        r.installs = check
        XCTAssertEqual(CompareJob.installLine(r), "c, a installed again as calibrate installs them: 2000 ms before the real run, 2400 after it, 1600 ms at calibration: simulated installs × 1.375 (the mean of before and after; the planners' estimates keep the runtime costs')")
        check.before = nil; check.failed = ["before the real run: no wheel"]
        r.installs = check
        XCTAssertEqual(check.charge, 1.5, accuracy: 1e-12)
        XCTAssert(CompareJob.installLine(r).contains("2400 after it (failed: before the real run: no wheel), 1600 ms at calibration: simulated installs × 1.500 (the one probe that worked;"), CompareJob.installLine(r))
        check.after = nil
        XCTAssertEqual(check.charge, 1)
    }

    /// The packages a compare times again: the trace's costliest imports (import time × requests of the
    /// handlers that import them, dependencies counted), of the requests it runs.
    func testTheCostliestImportsAreTheOnesTimedAgain() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-costliest-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = PackageTable([Package(name: "a", importMillis: 100), Package(name: "b", dependencies: ["c"], importMillis: 10),
                                  Package(name: "c", importMillis: 50), Package(name: "d", importMillis: 0)])
        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["a"]), Handler(id: "h2", customer: "y", packages: ["b", "d"])])
        _ = try TraceJobs.write(table: hs, body: { w in
            w.append(Invocation(arrivalNanos: 0, handler: 0))
            for i in 1...5 { w.append(Invocation(arrivalNanos: Int64(i) * 1_000_000, handler: 1)) }
        }, to: dir + "/t.csv", comments: [])
        let trace = try Trace(path: dir + "/t.csv", handlersPath: nil)
        // c (b's dependency): 50 × 5 = 250, a: 100 × 1, b: 10 × 5 = 50; d costs nothing to import.
        XCTAssertEqual(try CompareJob.costliestImports(trace, table: table, limit: nil, count: 3), ["c", "a", "b"])
        XCTAssertEqual(try CompareJob.costliestImports(trace, table: table, limit: nil, count: 1), ["c"])
        // Only the first request: h1's.
        XCTAssertEqual(try CompareJob.costliestImports(trace, table: table, limit: 1, count: 3), ["a"])
        // Those calibrate timed again, when the trace needs any: only they, at the calibration's figure
        // (a: 100 × 1 against b: 300 × 5); none the trace needs: as without.
        XCTAssertEqual(try CompareJob.costliestImports(trace, table: table, limit: nil, count: 3, calibrated: ["a": 100, "b": 300, "zz": 1]), ["b", "a"])
        XCTAssertEqual(try CompareJob.costliestImports(trace, table: table, limit: nil, count: 3, calibrated: ["zz": 1]), ["c", "a", "b"])
    }

    /// The first burst: from the first request that waited a millisecond or more in either run to the first
    /// after it that waited less in both; the tiers from its end on, the simulation against the real run and
    /// the second real run against the first.
    /// The phases' wall against their time on a core: imports of import starts that imported anything, of cold
    /// starts, and every start's init; records without the figure (hits, older files) left out.
    func testThePhasesWallAgainstTheirTimeOnACore() {
        func rec(_ n: Int64, _ tier: Tier, importMs: Int64, importCPUMs: Int64?, initMs: Int64 = 2, initCPUMs: Int64? = 1) -> RequestRecord {
            var r = RequestRecord(request: n, handler: 0, arrivalNanos: 0, startNanos: 0, endNanos: 10_000_000, tier: tier, zygote: nil)
            r.importNanos = importMs * 1_000_000; r.importCPUNanos = importCPUMs.map { $0 * 1_000_000 }
            r.initNanos = initMs * 1_000_000; r.initCPUNanos = tier == .handler ? nil : initCPUMs.map { $0 * 1_000_000 }
            return r
        }
        var failed = rec(9, .import, importMs: 100, importCPUMs: 1)
        failed.error = "no reply"
        let rows = CompareJob.OnCore.of([rec(1, .import, importMs: 40, importCPUMs: 30), rec(2, .import, importMs: 60, importCPUMs: 30),
                                         rec(3, .import, importMs: 0, importCPUMs: 0), rec(4, .cold, importMs: 100, importCPUMs: 50),
                                         rec(5, .handler, importMs: 0, importCPUMs: nil), rec(6, .import, importMs: 80, importCPUMs: nil, initCPUMs: nil),
                                         failed])
        XCTAssertEqual(rows.map(\.phase), ["imports of import starts", "imports of cold starts", "inits"])
        XCTAssertEqual(rows[0].n, 2, "one imported nothing, one did not say")
        XCTAssertEqual(rows[0].share, 0.6, accuracy: 1e-9, "60 ms on a core of 100 wall")
        XCTAssertEqual(rows[0].cpuP50Ms, 30)
        XCTAssertEqual(rows[1].n, 1); XCTAssertEqual(rows[1].share, 0.5, accuracy: 1e-9)
        XCTAssertEqual(rows[2].n, 4, "the starts that said, not the hit"); XCTAssertEqual(rows[2].share, 0.5, accuracy: 1e-9)
        XCTAssertEqual(CompareJob.OnCore.of([rec(1, .handler, importMs: 0, importCPUMs: nil)]), [])
    }

    func testTheFirstBurstIsToldApartFromWhatFollows() {
        // (request, arrival ms, queue ms real, queue ms simulated, queue ms of the second real run, tier, latency ms beyond the queue)
        let rows: [(Int64, Int64, Int64, Int64, Int64, Tier, Int64)] = [
            (1, 0, 0, 0, 0, .import, 100), (2, 1, 50, 0, 20, .import, 10), (3, 2, 80, 40, 60, .import, 10),
            (4, 3, 0, 2, 0, .import, 10), (5, 500, 0, 0, 0, .import, 10), (6, 600, 0, 0, 3, .handler, 1), (7, 700, 0, 0, 0, .handler, 1)]
        func record(_ r: (Int64, Int64, Int64, Int64, Int64, Tier, Int64), queue: Int64, extra: Int64 = 0) -> RequestRecord {
            let ms: Int64 = 1_000_000
            return RequestRecord(request: r.0, handler: 0, arrivalNanos: r.1 * ms, startNanos: (r.1 + queue) * ms,
                                 endNanos: (r.1 + queue + r.6 + extra) * ms, tier: r.5, zygote: nil)
        }
        let real = rows.map { record($0, queue: $0.2) }, sim = rows.map { record($0, queue: $0.3, extra: 1) }
        let again = rows.map { record($0, queue: $0.4) }
        var report = CompareJob.Report()
        CompareJob().compareAfterBurst(real, sim, again: again, into: &report)
        let b = try! XCTUnwrap(report.burst)
        // Request 2 waited 50 ms real; request 4 waited 2 ms simulated; request 5 is the first to wait less in both.
        XCTAssertEqual(b.first, 2); XCTAssertEqual(b.end, 5); XCTAssertEqual(b.count, 3)
        XCTAssertEqual(try! XCTUnwrap(b.endSeconds), 0.5, accuracy: 1e-9)
        XCTAssertEqual(b.queueMs.real, 50); XCTAssertEqual(b.queueMs.sim, 2); XCTAssertEqual(b.queueMs.again, 20)
        // From request 5 on: one import start (10 ms real, 11 simulated), two handler hits (1 and 2 ms).
        let imports = try! XCTUnwrap(report.afterBurst.first { $0.tier == "import" })
        XCTAssertEqual(imports.count.real, 1)
        XCTAssertEqual(imports.relError(0.5), 0.1, accuracy: 1e-9)
        let hits = try! XCTUnwrap(report.afterBurstAgain.first { $0.tier == "handler" })
        XCTAssertEqual(hits.count.sim, 2)
        let line = try! XCTUnwrap(CompareJob.burstLine(report))
        XCTAssert(line.hasPrefix("requests 2 to 4 (3) waited 50.0 ms at the median real, 2.0 simulated, 20.0 in the second real run; from request 5 (0.50 s) on"), line)
        // No request waited: no burst.
        var none = CompareJob.Report()
        CompareJob().compareAfterBurst(Array(real.suffix(3)), Array(sim.suffix(3)), again: nil, into: &none)
        XCTAssertNil(none.burst); XCTAssertNil(CompareJob.burstLine(none))
    }

    /// The join has a row for every request the real run was given, whichever executor served it: one the
    /// real worker refused is `error` with its error, one the simulation refused is `refused` with its
    /// simulated columns empty (each side's own served requests, as compare's tier table takes them).
    func testTheJoinKeepsRequestsEitherExecutorRefused() throws {
        let dir = "/tmp/pipsqueak-join-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (hs, _) = try TraceGenerator.microbenchmark(package: "alpha", handlers: 2, rate: 1, seconds: 1, seed: 1)
        let ms: Int64 = 1_000_000
        func record(_ n: Int64, _ tier: Tier, _ latency: Int64) -> RequestRecord {
            var r = RequestRecord(request: n, handler: 0, arrivalNanos: n * ms, startNanos: n * ms, endNanos: (n + latency) * ms, tier: tier, zygote: nil)
            r.execNanos = latency * ms
            return r
        }
        var refusedReal = record(2, .cold, 0)
        refusedReal.error = "refused: the queue is full"
        let real = [record(1, .import, 10), refusedReal, record(3, .handler, 2)]
        let sim = [record(1, .import, 11), record(2, .handler, 3)] // request 3 refused by the simulation
        var job = CompareJob()
        job.outputDirectory = dir
        let path = dir + "/join.csv"
        try job.writeJoin(real, sim, handlers: hs, runtimeCosts: "test", report: CompareJob.Report(), to: path)
        let rows = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.count, 4, "a header and one row per request: \(rows)")
        let header = rows[0]
        func field(_ row: [String], _ name: String) -> String { row[header.firstIndex(of: name)!] }
        for r in rows { XCTAssertEqual(r.count, header.count, "\(r)") }
        XCTAssertEqual(field(rows[1], "tier_real"), "import"); XCTAssertEqual(field(rows[1], "tier_sim"), "import")
        XCTAssertEqual(field(rows[1], "latency_sim_ms"), "11.000")
        XCTAssertEqual(field(rows[2], "tier_real"), "error"); XCTAssertEqual(field(rows[2], "error_real"), "refused: the queue is full")
        XCTAssertEqual(field(rows[2], "tier_sim"), "handler"); XCTAssertEqual(field(rows[2], "latency_sim_ms"), "3.000")
        XCTAssertEqual(field(rows[3], "tier_real"), "handler"); XCTAssertEqual(field(rows[3], "latency_real_ms"), "2.000")
        XCTAssertEqual(field(rows[3], "tier_sim"), "refused"); XCTAssertEqual(field(rows[3], "error_real"), "")
        for c in ["zygote_sim", "zygote_packages_sim", "latency_sim_ms"] + CompareJob.phases.map({ "\($0.0)_sim_ms" }) {
            XCTAssertEqual(field(rows[3], c), "", "\(c) of a request the simulation refused")
        }
        XCTAssertEqual(field(rows[3], "exec_real_ms"), "2.000")
    }

    /// Pooled tiers: every real run's served requests (a failed or refused one left out) against every
    /// simulated run's, each side's runs together; the join has each further run's tier and latency.
    func testPooledTiersTakeEveryRunsServedRequests() throws {
        let ms: Int64 = 1_000_000
        func record(_ n: Int64, _ tier: Tier, _ latency: Int64, error: String = "") -> RequestRecord {
            var r = RequestRecord(request: n, handler: 0, arrivalNanos: n * ms, startNanos: n * ms, endNanos: (n + latency) * ms, tier: tier, zygote: nil)
            r.execNanos = latency * ms
            r.error = error
            return r
        }
        let real = [[record(1, .import, 10), record(2, .handler, 2)],
                    [record(1, .import, 30), record(2, .handler, 4, error: "refused: the queue is full")]]
        let sim = [[record(1, .import, 20), record(2, .handler, 3)], [record(1, .import, 40)], [record(2, .handler, 5)]]
        let rows = CompareJob.pooledRows(real: real, sim: sim)
        let imp = try XCTUnwrap(rows.first { $0.tier == "import" }), hit = try XCTUnwrap(rows.first { $0.tier == "handler" })
        XCTAssert(imp.count == (2, 2) && hit.count == (1, 2), "\(rows)")
        XCTAssertEqual(imp.real.quantile(1), 30); XCTAssertEqual(imp.sim.quantile(0), 20)
        XCTAssertEqual(hit.real.quantile(1), 2, "the refused request has no latency")
        var report = CompareJob.Report()
        report.pooled = rows; report.pooledRuns = (2, 3)
        let line = try XCTUnwrap(CompareJob.pooledLine(report))
        XCTAssert(line.hasPrefix("2 real runs and 3 simulations (seeds 1 to 3), each tier's latencies of all of them together, simulated against real: "), line)
        XCTAssert(line.contains(String(format: "import p50 %+.0f%%, p99 %+.0f%% (2 real, 2 simulated)", 100 * imp.relError(0.5), 100 * imp.relError(0.99))), line)
        XCTAssertNil(CompareJob.pooledLine(CompareJob.Report()), "one run of each: no line")
        // The join: each further run's tier and latency, "error" / "refused" and empty where it served none.
        let dir = "/tmp/pipsqueak-pooled-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (hs, _) = try TraceGenerator.microbenchmark(package: "alpha", handlers: 2, rate: 1, seconds: 1, seed: 1)
        var job = CompareJob()
        job.outputDirectory = dir
        try job.writeJoin(real[0], sim[0], others: [real[1]], otherSims: [sim[1], sim[2]], handlers: hs, runtimeCosts: "test", report: report, to: dir + "/j.csv")
        let text = try String(contentsOfFile: dir + "/j.csv", encoding: .utf8)
        XCTAssert(text.contains("# pooled: 2 real runs and 3 simulations"), text)
        let csv = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        XCTAssert(csv[0].hasSuffix(",error_real,tier_real2,latency_real2_ms,tier_sim2,latency_sim2_ms,tier_sim3,latency_sim3_ms"), csv[0])
        XCTAssert(csv[1].hasSuffix(",,import,30.000,import,40.000,refused,"), csv[1])
        XCTAssert(csv[2].hasSuffix(",,error,,refused,,handler,5.000"), csv[2])
    }

    /// The machine's CPU over a run from two readings of /proc/stat: its own work (user, nice, system, irq,
    /// softirq), idle (with iowait) and steal, as shares of all the time that passed.
    func testTheMachinesCPUSharesFromProcStat() throws {
        let a = try XCTUnwrap(MachineCPUTimes.parse("cpu  100 0 50 1000 10 0 5 20 0 0\ncpu0 50 0 25 500 5 0 2 10 0 0\nintr 1\n"))
        XCTAssertEqual(a, MachineCPUTimes(busy: 155, idle: 1010, steal: 20))
        let b = MachineCPUTimes(busy: 155 + 600, idle: 1010 + 300, steal: 20 + 100)
        let s = try XCTUnwrap(b.shares(since: a))
        XCTAssertEqual(s.busy, 0.6, accuracy: 1e-12); XCTAssertEqual(s.steal, 0.1, accuracy: 1e-12)
        XCTAssertNil(a.shares(since: a), "no time passed")
        XCTAssertNil(MachineCPUTimes.parse("cpu  1 2 3\n"), "a short line")
        XCTAssertNil(MachineCPUTimes.parse("intr 1\n"), "no cpu line")
        XCTAssertNotNil(MachineCPUTimes.now(), "this machine's /proc/stat")
    }

    /// Bringing the machine to rest: dirty and under-writeback memory from /proc/meminfo, and the wait for an
    /// idle window (it stops at the first window under the threshold, gives up after the limit, and does not
    /// wait where the cores cannot be read).
    func testTheMachineIsBroughtToRestBeforeARun() throws {
        XCTAssertEqual(MachineSettle.dirtyKB(meminfo: "MemTotal:       24000000 kB\nDirty:             1200 kB\nWriteback:          34 kB\nWritebackTmp:        0 kB\n"), 1234)
        XCTAssertNil(MachineSettle.dirtyKB(meminfo: "MemTotal: 1 kB\nDirty: 5 kB\n"), "Writeback missing")
        XCTAssertNotNil(MachineSettle.dirtyKB(meminfo: try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)), "this machine's")
        var shares = [0.9, 0.5, 0.05, 0.01]
        var w = MachineSettle.waitIdle(windows: 10) { shares.removeFirst() }
        XCTAssert(w == (3, 0.05, true), "\(w)"); XCTAssertEqual(shares, [0.01])
        w = MachineSettle.waitIdle(windows: 2) { 0.5 }
        XCTAssert(w == (2, 0.5, false), "\(w)")
        w = MachineSettle.waitIdle(windows: 5) { nil }
        XCTAssert(w == (1, nil, false), "\(w)")
        let s = MachineSettle(dirtyKB: 812 * 1024, syncMs: 1234, waitedMs: 250, busy: 0.04, idle: true)
        XCTAssertEqual(s.summary, "812 MB dirty written back in 1.2 s, idle (4% busy) after 0.2 s")
        XCTAssertEqual(MachineSettle(dirtyKB: nil, syncMs: 1, waitedMs: 20_000, busy: 0.5, idle: false).summary,
                       "synced in 0.0 s, not idle (50% busy) after 20.0 s")
    }

    /// A zygote's packages from a decision log: its parent's and its own imports; z0 holds none.
    func testZygotePackagesFromADecisionLog() {
        let log = ["plan t=0.1 req=1 h=a tier=cold c=1 z=- install=numpy cached=numpy import=1 evict=- create=z1<z0:numpy",
                   "ready t=0.2 z=1 keep evict=-",
                   "plan t=0.3 req=2 h=b tier=import c=2 z=1 install=scipy cached=scipy import=1 evict=- create=z2<z1:scipy,z3<z0:-",
                   "plan t=0.4 req=3 h=c tier=import c=3 z=0 install=- cached=- import=0 evict=- create=-"]
        let sets = Planner.zygotePackages(fromLog: log)
        XCTAssertEqual(sets, [0: "", 1: "numpy", 2: "numpy;scipy", 3: ""])
    }
}
