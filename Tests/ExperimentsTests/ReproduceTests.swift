import XCTest
import TestSupport
import CachePolicy
import Workload
import Results
import Runtime
@testable import Experiments

final class ReproduceTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "pipsqueak-repro-\(UUID().uuidString)"
        try SmallWorld.make(in: dir)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testAReducedReproductionHasTheRightShapeAndOrder() throws {
        var job = ReproduceJob()
        job.outputDirectory = dir + "/results"
        job.storePath = dir + "/results/pipsqueak.sqlite"
        job.packagesPath = dir + "/packages.csv"
        job.mixedTrace = dir + "/mixed.csv"
        job.handlers = 20; job.seconds = 240
        job.interactionPackage = "big"; job.interactionMemoryMB = 256
        let files = try job.run()
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent },
                       ["startup-costs.csv", "speedup.csv", "cache-interaction.csv", "import-cache-size.csv", "latency-cdf.csv"])
        // speedup.csv: one row per package and preset; all is never slower than h on any package's mean.
        let csv = try CSVReader(path: dir + "/results/speedup.csv")
        let pk = try csv.column("package"), pr = try csv.column("preset"), mean = try csv.column("mean_ms"), st = try csv.column("startup_mean_ms")
        var means: [String: [String: Double]] = [:], startups: [String: [String: Double]] = [:]
        while let f = try csv.next() {
            means[f[pk], default: [:]][f[pr]] = Double(f[mean])
            startups[f[pk], default: [:]][f[pr]] = Double(f[st])
        }
        XCTAssertEqual(Set(means.keys), ["big", "small"])
        for (p, m) in means {
            XCTAssertEqual(Set(m.keys), ["none", "h", "hm", "hs", "all"])
            XCTAssertLessThanOrEqual(m["all"]!, m["h"]!, p)
            XCTAssertLessThanOrEqual(m["h"]!, m["none"]!, p)
            XCTAssertLessThanOrEqual(startups[p]!["all"]!, startups[p]!["hm"]!, p)
        }
        // The import cache helps more as it grows: the share of cold starts never rises with its size.
        let ics = try CSVReader(path: dir + "/results/import-cache-size.csv")
        let cold = try ics.column("cold_ratio"), size = try ics.column("import_cache_mb")
        var rows: [(Int, Double)] = []
        while let f = try ics.next() { rows.append((Int(f[size])!, Double(f[cold])!)) }
        XCTAssertEqual(rows.map(\.0), [0, 128, 512, 1024, 5120])
        XCTAssertEqual(rows[0].1 > 0, true, "no import cache: every miss is cold")
        for i in 1..<rows.count { XCTAssertLessThanOrEqual(rows[i].1, rows[i - 1].1 + 1e-9) }
        // Question 2 at the same total memory: the import cache holds the package's zygote, the handler cache
        // the (smaller) forked containers, so hm misses no more than h; h holds no zygote.
        let ci = try CSVReader(path: dir + "/results/cache-interaction.csv")
        let cfg = try ci.column("config"), ex = try ci.column("executor"), misses = try ci.column("misses"), zmb = try ci.column("zygote_mb")
        let missMean = try ci.column("miss_mean_ms")
        var missed: [String: Int] = [:], zygotes: [String: Double] = [:]
        while let f = try ci.next() {
            guard f[ex] == "simulated" else { continue }
            // A minute without misses has no miss latency (a literal 0 among String(format:)'s Doubles once
            // shifted every later column).
            if Int(f[misses]) == 0 { XCTAssertEqual(Double(f[missMean]), 0, "minute \(f[0]) \(f[cfg])") }
            missed[f[cfg], default: 0] += Int(f[misses])!
            zygotes[f[cfg]] = max(zygotes[f[cfg]] ?? 0, Double(f[zmb])!)
        }
        XCTAssertEqual(Set(missed.keys), ["h", "hm"])
        XCTAssertLessThanOrEqual(missed["hm"]!, missed["h"]!)
        XCTAssertEqual(zygotes["h"], 0); XCTAssertGreaterThan(zygotes["hm"]!, 0)
        XCTAssert(try String(contentsOfFile: dir + "/results/speedup.csv", encoding: .utf8).hasPrefix("# made by: pipsqueak reproduce"))
    }

    /// A reproduction rerun with nothing changed leaves every result file as it was, headers (dates, code
    /// version) included, so the README's main command leaves a checkout clean; a changed input rewrites.
    func testARerunWithTheSameResultsRewritesNothing() throws {
        var job = ReproduceJob()
        job.outputDirectory = dir + "/results"
        job.storePath = dir + "/results/pipsqueak.sqlite"
        job.packagesPath = dir + "/packages.csv"
        job.mixedTrace = dir + "/mixed.csv"
        job.handlers = 10; job.seconds = 120
        let files = try job.run()
        func snapshot() throws -> [String: Data] {
            Dictionary(uniqueKeysWithValues: try files.map { ($0, try Data(contentsOf: URL(fileURLWithPath: $0))) })
        }
        let first = try snapshot()
        // Make the header differ if the file were rewritten: put a marker in each.
        for f in files {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            try ("# marker\n" + text).write(toFile: f, atomically: true, encoding: .utf8)
        }
        _ = try job.run()
        for f in files {
            XCTAssert(try String(contentsOfFile: f, encoding: .utf8).hasPrefix("# marker\n"), "\(f) was rewritten with the same data")
        }
        XCTAssertEqual(first.count, files.count)
        // New inputs: the files are rewritten.
        var t = try PackageTable.read(path: dir + "/packages.csv")
        var small = try XCTUnwrap(t["small"]); small.importMillis = 31
        t.insert(small)
        try t.write(path: dir + "/packages.csv", comments: ["remeasured"])
        _ = try job.run()
        XCTAssertFalse(try String(contentsOfFile: dir + "/results/speedup.csv", encoding: .utf8).hasPrefix("# marker"))
    }

    func testASweepResumesWithoutRedoingOrDuplicatingPoints() throws {
        var job = SweepJob()
        job.tracePath = dir + "/mixed.csv"
        job.packagesPath = dir + "/packages.csv"
        job.storePath = dir + "/store.sqlite"
        job.output = dir + "/sweep.csv"
        job.handlerCacheMB = [64, 512]; job.importCacheMB = [0, 256]; job.policies = ["lru", "lfu"]; job.trees = ["dynamic", "static"]
        job.seeds = [1, 2]
        let n = job.points.count
        XCTAssertEqual(n, 2 * (1 + 2) * 2 * 2, "no import cache: one tree shape only")
        // A first, interrupted sweep: only part of the grid.
        var part = job
        part.handlerCacheMB = [64]
        let first = try part.run()
        XCTAssertEqual(first.skipped, 0)
        let second = try job.run()
        XCTAssertEqual(second.skipped, first.ran)
        XCTAssertEqual(second.ran, n - first.ran)
        let third = try job.run()
        XCTAssertEqual(third.ran, 0); XCTAssertEqual(third.skipped, n)
        let rows = try String(contentsOfFile: dir + "/sweep.csv", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(rows.count, n + 1, "one row per point plus the header")
        // New measured costs are new inputs: every point runs again.
        var t = try PackageTable.read(path: dir + "/packages.csv")
        var small = try XCTUnwrap(t["small"]); small.importMillis = 30
        t.insert(small)
        try t.write(path: dir + "/packages.csv", comments: ["remeasured"])
        XCTAssertEqual(try job.run().ran, n)
    }

    /// `pipsqueak sweep` killed with SIGKILL part-way, then rerun: every point finished before the kill is
    /// kept (not rerun), every other point runs once, and the CSV has one row per point.
    func testASweepKilledWithSIGKILLAndRerunKeepsEveryPointOnce() throws {
        let pipsqueak = try PipsqueakBinary()
        // A trace long enough that one point takes a noticeable time.
        let sets = HandlerSets(rows: [.init(repo: "r", packages: ["small"]), .init(repo: "s", packages: ["big", "small"]), .init(repo: "u", packages: ["big"])])
        let (hs, body) = try TraceGenerator.mixed(sets: sets, handlers: 400, rate: 100, seconds: 300, seed: 5)
        try TraceJobs.write(table: hs, body: body, to: dir + "/long.csv", comments: [])
        let store = dir + "/store.sqlite"
        let args = ["sweep", "--trace", dir + "/long.csv", "--name", "killed-\(getpid())", "--handler-mb", "64,128,256,512,1024,2048",
                    "--import-mb", "0,256", "--policies", "lru", "--trees", "dynamic", "--seeds", "1,2", "--jobs", "1", "--store", store]
        let points = 6 * 2 * 2
        func sweep() throws -> SpawnedProcess { try pipsqueak.start(args) }
        func stored() -> [String] {
            guard let s = try? ResultStore(path: store), let runs = try? s.runs(kind: "sweep") else { return [] }
            return runs.map { "\($0.id) \($0.key)" }
        }
        pipsqueak.kill(try sweep(), when: { stored().count >= 2 })
        let before = stored()
        XCTAssertGreaterThan(before.count, 0, "points were stored before the kill")
        XCTAssertLessThan(before.count, points, "the kill landed part-way")
        let csv = pipsqueak.root.appendingPathComponent("results/sweep-killed-\(getpid()).csv").path
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let again = try sweep()
        XCTAssertEqual(pipsqueak.finish(again), 0)
        let after = stored()
        XCTAssertEqual(after.count, points, "every point stored")
        XCTAssertEqual(Set(after.map { $0.split(separator: " ")[1] }).count, points, "none twice")
        XCTAssert(Set(before).isSubset(of: Set(after)), "the points finished before the kill are kept, same row ids: not rerun")
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(rows.count, points + 1, "one row per point plus the header")
    }

    /// `pipsqueak reproduce` killed with SIGKILL part-way, then rerun: no result file is half-written, and
    /// the store ends with every run exactly once (a rerun replaces a run by its key, it never adds a copy);
    /// the traces it was generating are left in the temporary directory, and `cleanup` removes them.
    func testAReproductionKilledWithSIGKILLAndRerunStoresEveryRunOnce() throws {
        let pipsqueak = try PipsqueakBinary()
        let out = dir + "/repro"
        let store = out + "/pipsqueak.sqlite"
        func reproduce() throws -> SpawnedProcess {
            try pipsqueak.start(["reproduce", "--out", out, "--jobs", "1", "--packages", "numpy,pyyaml,requests,six,pandas,scipy"])
        }
        func keys() -> [String] {
            guard Sys.exists(store), let s = try? ResultStore(path: store), let runs = try? s.runs(kind: "reproduce") else { return [] }
            return runs.map(\.key)
        }
        // A complete run first, to know how many runs a reproduction stores.
        XCTAssertEqual(pipsqueak.finish(try reproduce()), 0)
        let expected = Set(keys())
        XCTAssertGreaterThan(expected.count, 10)
        try FileManager.default.removeItem(atPath: out)
        let killed = try reproduce()
        pipsqueak.kill(killed, when: { keys().count >= 3 })
        XCTAssertLessThan(keys().count, expected.count, "the kill landed part-way")
        // Killed while it simulated the packages (its first stored runs), it leaves their traces.
        let traces = NSTemporaryDirectory() + "pipsqueak-reproduce-\(killed.pid)"
        if Sys.exists(traces) {
            let cleaned = try CleanupJob.run(owner: killed.pid)
            XCTAssertFalse(Sys.exists(traces), "\(cleaned)")
        }
        // Whatever result file exists is whole: it parses to the end (written to a temporary file, renamed).
        for f in (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [] where f.hasSuffix(".csv") {
            let csv = try CSVReader(path: out + "/" + f)
            while try csv.next() != nil {}
        }
        XCTAssertEqual(pipsqueak.finish(try reproduce()), 0)
        let after = keys()
        XCTAssertEqual(after.count, expected.count, "every run once, none twice")
        XCTAssertEqual(Set(after), expected)
    }
}
