import XCTest
import TestSupport
import CachePolicy
import Workload
import Results
import Runtime
@testable import Experiments

/// Sharded sweeps, merged stores and stores with several writers (what a sweep on Slurm stands on).
final class SweepShardTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "pipsqueak-shards-\(UUID().uuidString)"
        try SmallWorld.make(in: dir)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func job(store: String, shard: SweepJob.Shard? = nil) -> SweepJob {
        var job = SweepJob()
        job.name = "shards"
        job.tracePath = dir + "/mixed.csv"
        job.packagesPath = dir + "/packages.csv"
        job.storePath = dir + "/" + store
        job.handlerCacheMB = [64, 512]; job.importCacheMB = [0, 256]; job.policies = ["lru", "lfu"]; job.trees = ["dynamic", "static"]
        job.seeds = [1, 2]
        job.shard = shard
        job.jobs = 2
        return job
    }

    func dataRows(_ path: String) throws -> [Substring] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
    }

    func testShardsPartitionTheGridTheSameWayEveryTime() throws {
        let whole = job(store: "s.sqlite").points.map { $0.key(trace: "t") }
        for n in [1, 2, 3, 5, whole.count, whole.count + 4] {
            var seen: [String] = []
            for i in 0..<n {
                let a = job(store: "s.sqlite", shard: try .init(index: i, count: n)).shardPoints.map { $0.key(trace: "t") }
                let b = job(store: "s.sqlite", shard: try .init(index: i, count: n)).shardPoints.map { $0.key(trace: "t") }
                XCTAssertEqual(a, b, "the same grid and N give the same slice")
                XCTAssertLessThanOrEqual(a.count, (whole.count + n - 1) / n, "slices are balanced")
                seen += a
            }
            XCTAssertEqual(seen.sorted(), whole.sorted(), "with N=\(n) every point is in exactly one slice")
        }
        XCTAssertThrowsError(try SweepJob.Shard(parsing: "4/4")) { XCTAssert("\($0)".contains("I from 0 to N-1")) }
        XCTAssertThrowsError(try SweepJob.Shard(parsing: "1-4"))
        XCTAssertThrowsError(try SweepJob.Shard(parsing: "0/0"))
        XCTAssertEqual(try SweepJob.Shard(parsing: "2/8"), try SweepJob.Shard(index: 2, count: 8))
    }

    func testMergedShardsExportTheSameCSVAsALocalSweepAndMergingIsIdempotent() throws {
        var local = job(store: "local.sqlite")
        local.output = dir + "/local.csv"
        try local.run()
        var stores: [String] = []
        for i in 0..<3 {
            let j = job(store: "shard-\(i).sqlite", shard: try .init(index: i, count: 3))
            let r = try j.run()
            XCTAssertNil(r.csv, "a shard writes no CSV unless asked")
            stores.append(j.storePath)
        }
        let into = dir + "/all.sqlite"
        let first = try ResultsJobs.merge(inputs: stores, into: into)
        XCTAssertEqual(first.copied, local.points.count)
        XCTAssertEqual(first.sweeps, 1)
        XCTAssert(first.conflicts.isEmpty)
        let again = try ResultsJobs.merge(inputs: stores, into: into)
        XCTAssertEqual(again.copied, 0, "merging twice changes nothing")
        XCTAssertEqual(again.identical, local.points.count)
        XCTAssertEqual(try ResultStore(path: into).runs(kind: "sweep").count, local.points.count)
        let out = try ResultsJobs.exportSweep(name: "shards", store: into, output: dir + "/merged.csv", command: "test")
        XCTAssertEqual(out.missing, 0)
        XCTAssertEqual(try dataRows(dir + "/merged.csv"), try dataRows(dir + "/local.csv"), "row for row")
        // Only two of three shards: the export says what is missing.
        let partial = try ResultsJobs.merge(inputs: Array(stores.prefix(2)), into: dir + "/partial.sqlite")
        XCTAssertLessThan(partial.copied, local.points.count)
        let p = try ResultsJobs.exportSweep(name: "shards", store: dir + "/partial.sqlite", output: dir + "/partial.csv", command: "test")
        XCTAssertEqual(p.missing, local.points.count - partial.copied)
        XCTAssertThrowsError(try ResultsJobs.exportSweep(name: "nope", store: into, output: nil, command: "test")) {
            XCTAssert("\($0)".contains("holds no sweep named 'nope'; it holds: shards"), "\($0)")
        }
    }

    func testAKeyWithDifferentResultsInTwoStoresIsReportedNotOverwritten() throws {
        let a = job(store: "a.sqlite", shard: try .init(index: 0, count: 2))
        try a.run()
        try FileManager.default.copyItem(atPath: a.storePath, toPath: dir + "/b.sqlite")
        let b = try ResultStore(path: dir + "/b.sqlite")
        let victim = try XCTUnwrap(try b.runs(kind: "sweep").first)
        try b.db.query("UPDATE summaries SET p50_ms = p50_ms + 1 WHERE run_id = ? AND tier = 'all'", [.int(victim.id)])
        let before = try ResultStore(path: a.storePath).summaries(run: victim.id)
        let r = try ResultsJobs.merge(inputs: [dir + "/b.sqlite"], into: a.storePath)
        XCTAssertEqual(r.conflicts.count, 1)
        XCTAssert(r.conflicts[0].contains(victim.key), r.conflicts[0])
        XCTAssertEqual(r.identical, try b.runs(kind: "sweep").count - 1)
        XCTAssertEqual(try ResultStore(path: a.storePath).summaries(run: victim.id).map { "\($0.p50)" }, before.map { "\($0.p50)" }, "the target keeps its own")
        XCTAssertThrowsError(try ResultsJobs.merge(inputs: [dir + "/missing.sqlite"], into: a.storePath)) { XCTAssert("\($0)".contains("no such results store")) }
    }

    /// Two `pipsqueak sweep` processes on one store at once, the same grid: both succeed, every point once,
    /// the same CSV rows. (Before, the second died with "UNIQUE constraint failed: runs.kind, runs.key" or
    /// "database is locked".)
    func testTwoSweepsWritingOneStoreAtOnceBothSucceed() throws {
        let pipsqueak = try PipsqueakBinary()
        let args = ["sweep", "--trace", dir + "/mixed.csv", "--name", "shared", "--handler-mb", "64,128,256,512", "--import-mb", "0,256",
                    "--policies", "lru,lfu", "--trees", "dynamic,static", "--seeds", "1,2", "--jobs", "1", "--store", "shared.sqlite"]
        // A relative store path, from the project root (it used to fail with NSCocoaErrorDomain Code=4).
        let storeFile = pipsqueak.root.appendingPathComponent("shared.sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storeFile + s) } }
        let a = try pipsqueak.start(args + ["--out", dir + "/a.csv"])
        let b = try pipsqueak.start(args + ["--out", dir + "/b.csv"])
        XCTAssertEqual(pipsqueak.finish(a), 0)
        XCTAssertEqual(pipsqueak.finish(b), 0)
        let runs = try ResultStore(path: storeFile).runs(kind: "sweep")
        XCTAssertEqual(runs.count, 4 * (1 + 2) * 2 * 2)
        XCTAssertEqual(Set(runs.map(\.key)).count, runs.count, "every point once")
        XCTAssertEqual(try dataRows(dir + "/a.csv"), try dataRows(dir + "/b.csv"))
        // Progress into a file (not a terminal) is plain lines, no carriage-return frames.
        let logged = try pipsqueak.run(args.map { $0 == "shared.sqlite" ? dir + "/own.sqlite" : $0 } + ["--out", dir + "/c.csv"])
        XCTAssertEqual(logged.status, 0)
        XCTAssertFalse(logged.stderr.contains("\r"), "carriage returns in a log")
        XCTAssert(logged.stderr.contains("points/s"), logged.stderr)
    }

    /// A sweep takes what `simulate` takes: cores, noise, a base config and the package table; each is part
    /// of its points' keys (a sweep with other settings never reuses another's points) and of its CSV header.
    func testASweepTakesCoresNoiseAndABaseConfig() throws {
        var plain = job(store: "opts.sqlite")
        plain.output = dir + "/plain.csv"
        try plain.run()
        var more = plain
        more.cores = 4; more.noise = 0.2
        more.base = PolicyConfig.presets["all"]!
        more.base.handlerCache.policy = "lfu"; more.base.installCache.diskMB = 300
        more.baseOptions = "--preset all --config c.json"
        more.output = dir + "/more.csv"
        let r = try more.run()
        XCTAssertEqual(r.skipped, 0, "other settings are other points")
        XCTAssertEqual(r.ran, plain.points.count)
        let keys = more.points.map { $0.key(trace: "t") }
        XCTAssert(keys.allSatisfy { $0.contains("|k=4") && $0.contains("|n=0.2") && $0.contains("|b=") }, keys[0])
        XCTAssertEqual(more.points[0].config.installCache.diskMB, 300, "the base config under the grid's budgets")
        let header = try String(contentsOfFile: dir + "/more.csv", encoding: .utf8).split(separator: "\n")[0]
        XCTAssert(header.contains("--preset all --config c.json") && header.contains("--cores 4") && header.contains("--noise 0.2"), String(header))
        XCTAssertNotEqual(try dataRows(dir + "/more.csv"), try dataRows(dir + "/plain.csv"), "four cores and noise change the results")
        // The default settings keep the keys sweeps stored before these options existed.
        XCTAssertFalse(plain.points[0].key(trace: "t").contains("|k="))
    }

    func testSweepNamesCannotLeaveTheResultsFolder() {
        for bad in ["../../x", "a/b", ".hidden", "", String(repeating: "x", count: 101), "a b"] {
            XCTAssertThrowsError(try SweepJob.checkName(bad), bad)
        }
        XCTAssertNoThrow(try SweepJob.checkName("budgets-2026.v1_a"))
    }
}
