import XCTest
import TestSupport
import CachePolicy
import Foundation
import Runtime
import Workload
@testable import Experiments

/// Failures show, nothing shipped is lost, a live run is left alone: what a new user met on a fresh machine.
final class HonestToolsTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = "/tmp/pipsqueak-honest-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func requireRuntime() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
    }

    /// Every request fails (its package's wheel is there but broken: pip cannot install it): the summary has
    /// an error row and no tier latencies, the records say `error`, and the exit status is 1. (Before: "import
    /// 100.0% 40 0.000", tier=import, latency 0, exit 0.)
    func testARunWhoseRequestsFailSaysSoAndExitsNonZero() throws {
        try requireRuntime()
        let pipsqueak = try PipsqueakBinary()
        try TinyWheels.make(in: dir, [("tiny", "V = 1\n", 1)])
        try FileManager.default.createDirectory(atPath: dir + "/broken", withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: dir + "/wheelhouse") {
            try "not a zip file".write(toFile: dir + "/broken/" + f, atomically: true, encoding: .utf8)
        }
        let (hs, body) = try TraceGenerator.microbenchmark(package: "tiny", handlers: 5, rate: 20, seconds: 10, seed: 1)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        let args = ["run", "--trace", dir + "/t.csv", "--preset", "all", "--packages", dir + "/packages.csv", "--wheelhouse", dir + "/broken",
                    "--limit", "6", "--speed", "10", "--out", dir + "/records.csv"]
        let r = try pipsqueak.run(args)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssert(r.stdout.contains("requests 6 (6 failed)"), r.stdout)
        XCTAssert(r.stdout.split(separator: "\n").contains { $0.hasPrefix("error") && $0.contains("100.0%") && $0.contains("6") }, r.stdout)
        XCTAssertFalse(r.stdout.split(separator: "\n").contains { $0.hasPrefix("import") && !$0.contains(" 0.0%") }, "no tier holds a failed request: \(r.stdout)")
        XCTAssert(r.stderr.contains("6 of 6 requests failed"), r.stderr)
        let rows = try String(contentsOfFile: dir + "/records.csv", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }.dropFirst()
        XCTAssertEqual(rows.count, 6)
        XCTAssert(rows.allSatisfy { $0.split(separator: ",")[6] == "error" }, "records: \(rows.first ?? "")")
        // A share may be allowed.
        XCTAssertEqual(try pipsqueak.run(args + ["--max-error-share", "1"]).status, 0)
    }

    /// A fresh machine's wheelhouse is empty: `run` and `compare` stop before the first request, naming the
    /// wheels the trace needs and the way to get them (--online, which fetches them before anything is timed),
    /// instead of failing every request or stopping in compare's speed probe.
    func testMissingWheelsStopARunBeforeItStarts() throws {
        try requireRuntime()
        let pipsqueak = try PipsqueakBinary()
        try TinyWheels.make(in: dir, [("tiny", "V = 1\n", 1)])
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        let (hs, body) = try TraceGenerator.microbenchmark(package: "tiny", handlers: 5, rate: 20, seconds: 10, seed: 1)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        let r = try pipsqueak.run(["run", "--out", dir + "/records.csv", "--trace", dir + "/t.csv", "--packages", dir + "/packages.csv",
                                   "--wheelhouse", dir + "/empty", "--limit", "6", "--speed", "10"])
        XCTAssertNotEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssert(r.stderr.contains("tiny 1.0") && r.stderr.contains("--online"), "names the wheel and the way out: \(r.stderr)")
        XCTAssertFalse(r.stdout.contains("requests 6"), "no request was sent: \(r.stdout)")
        // compare: before its speed probe (which installs from the wheelhouse too) and before any run.
        var job = CompareJob()
        job.name = "wheels"; job.outputDirectory = dir + "/results"
        job.run.tracePath = dir + "/t.csv"; job.run.packagesPath = dir + "/packages.csv"; job.run.wheelhouse = dir + "/empty"
        job.run.runtime.stateDirectory = dir + "/state"; job.run.runtime.packageDirectory = dir + "/pkgs"
        job.measureCache = dir + "/measure-cache"
        var said: [String] = []
        XCTAssertThrowsError(try job.execute { said.append($0) }) { e in
            XCTAssert("\(e)".contains("tiny 1.0") && "\(e)".contains("--online"), "\(e)")
        }
        XCTAssertFalse(said.contains { $0.contains("real run") || $0.contains("timing again") }, "stopped before anything ran: \(said)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results"), "nothing written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/records.csv"), "nothing written")
    }

    /// Unknown package names are errors, not empty results.
    func testUnknownPackagesAreErrors() throws {
        let pipsqueak = try PipsqueakBinary()
        let r = try pipsqueak.run(["reproduce", "--out", dir + "/repro", "--packages", "no-such-pkg,numpy"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssert(r.stderr.contains("no-such-pkg"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/repro/speedup.csv"), "nothing written")
        let g = try pipsqueak.run(["trace", "generate", "micro", "--package", "no-such-pkg", "--out", dir + "/m.csv"])
        XCTAssertNotEqual(g.status, 0)
        XCTAssert(g.stderr.contains("no-such-pkg"), g.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.csv"))
    }

    /// Negative numbers reach validation (was: "Missing value for '--cores'"), and a record file's header
    /// names the whole command, preset and limit included.
    func testCommandLinesSayWhatIsWrongAndHeadersSayWhatWasRun() throws {
        let pipsqueak = try PipsqueakBinary()
        let neg = try pipsqueak.run(["simulate", "--cores", "-1"])
        XCTAssertNotEqual(neg.status, 0)
        XCTAssert(neg.stderr.contains("--cores must be at least 1"), neg.stderr)
        let (hs, body) = try TraceGenerator.microbenchmark(package: "numpy", handlers: 3, rate: 2, seconds: 5, seed: 1)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        let r = try pipsqueak.run(["simulate", "--trace", dir + "/t.csv", "--preset", "hm", "--cores", "1", "--out", dir + "/r.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let first = try String(contentsOfFile: dir + "/r.csv", encoding: .utf8).split(separator: "\n")[0]
        XCTAssertEqual(String(first), "# made by: pipsqueak simulate --trace \(dir)/t.csv --preset hm --cores 1 --out \(dir)/r.csv")
    }

    /// Paths and limits: an output's missing folder outside the project is an error (nothing created); a
    /// generated trace goes to the working directory (not the project's data) and is not overwritten unasked;
    /// an absurd size needs --force; SIGTERM leaves no temporary file.
    func testOutputsGoWhereAskedAndSizesAreChecked() throws {
        let pipsqueak = try PipsqueakBinary()
        let nowhere = "/nonexistent-\(UUID().uuidString.prefix(6))"
        let r = try pipsqueak.run(["simulate", "--out", nowhere + "/dir/r.csv"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssert(r.stderr.contains("does not exist"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: nowhere))
        let g = try pipsqueak.run(["trace", "generate", "micro", "--seconds", "10", "--stats", "false"], in: dir)
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssert(FileManager.default.fileExists(atPath: dir + "/micro-numpy.csv"), "in the working directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pipsqueak.root.path + "/traces/generated"), "not in the project's data")
        let again = try pipsqueak.run(["trace", "generate", "micro", "--seconds", "10", "--stats", "false"], in: dir)
        XCTAssertNotEqual(again.status, 0)
        XCTAssert(again.stderr.contains("exists; --force overwrites it"), again.stderr)
        let huge = try pipsqueak.run(["trace", "generate", "micro", "--seconds", "100000", "--rate", "1000", "--out", dir + "/huge.csv"])
        XCTAssertNotEqual(huge.status, 0)
        XCTAssert(huge.stderr.contains("this would make about 100000000 requests") && huge.stderr.contains("--force"), huge.stderr)
        // A big generation (60 M requests, 1.2 GB if it ran to its end) stopped with SIGTERM: no temporary file is left.
        let p = try pipsqueak.start(["trace", "generate", "micro", "--seconds", "60000", "--rate", "1000", "--force", "--out", dir + "/big.csv", "--stats", "false"])
        let deadline = Date().addingTimeInterval(30)
        func temporaries() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-") } }
        while temporaries().isEmpty && Date() < deadline && p.isRunning { usleep(10_000) }
        XCTAssertFalse(temporaries().isEmpty, "it was writing")
        p.signal(SIGTERM)
        _ = pipsqueak.finish(p, seconds: 30) // not ended by then: killed, and the test fails (it must not write gigabytes)
        XCTAssertEqual(temporaries(), [], "SIGTERM removed the temporary files")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/big.csv"))
    }

    /// Measuring one package into an existing table replaces its row and keeps every other. (Before,
    /// `pipsqueak measure pyyaml` rewrote the 189-package table with one row.)
    func testMeasuringSomePackagesMergesIntoTheTable() throws {
        let python = try PythonInterpreter.resolve()
        try TinyWheels.make(in: dir, [("lib", "X = 1\n", 1), ("other", "Y = 2\n", 1)])
        // An existing table of three packages, one of them `lib` with made-up costs.
        var t = PackageTable()
        for n in ["alpha", "beta"] {
            t.insert(Package(name: n, version: "9", topLevelModules: [n], wheelBytes: 1, installedBytes: 2, downloadMillis: 3, installMillis: 4,
                             importMillis: 5, importMemoryBytes: 6))
        }
        t.insert(Package(name: "lib", version: "1.0", topLevelModules: ["lib"], importMillis: 999))
        try t.write(path: dir + "/table.csv", comments: ["test"])
        var o = MeasureOptions(wheelhouse: dir + "/wheelhouse", cache: dir + "/cache")
        o.distributions = ["lib"]; o.repeats = 2; o.offline = true; o.output = dir + "/table.csv"
        let merged = try PackageMeasurer(options: o, python: python) { _ in }.run()
        let back = try PackageTable.read(path: dir + "/table.csv")
        XCTAssertEqual(Set(back.names), ["alpha", "beta", "lib"], "no row lost")
        XCTAssertEqual(back["alpha"]?.importMillis, 5)
        XCTAssertNotEqual(back["lib"]?.importMillis, 999, "lib's row was replaced by the new measurement")
        XCTAssertEqual(Set(merged.names), Set(back.names), "what measure returns (and writes startup costs from) is the whole table")
        XCTAssert(try String(contentsOfFile: dir + "/table.csv", encoding: .utf8).contains("merged: 1 packages measured now (lib)"))
    }

    /// `cleanup` while a run is live leaves it alone (it finishes without an error), says so, and removes it
    /// only with --force; --dry-run removes nothing. (Before, it tore the live run down.)
    func testCleanupLeavesALiveRunAlone() throws {
        try requireRuntime()
        let pipsqueak = try PipsqueakBinary()
        try TinyWheels.make(in: dir, [("tiny", "V = 1\n", 1)])
        let (hs, body) = try TraceGenerator.microbenchmark(package: "tiny", handlers: 10, rate: 10, seconds: 60, seed: 1)
        try TraceJobs.write(table: hs, body: body, to: dir + "/t.csv", comments: [])
        let cg = try Cgroups.detect()
        let live = try pipsqueak.start(["run", "--trace", dir + "/t.csv", "--preset", "all", "--packages", dir + "/packages.csv",
                                        "--wheelhouse", dir + "/wheelhouse", "--limit", "30", "--speed", "2"])
        let prefix = "run\(live.pid)w"
        let deadline = Date().addingTimeInterval(60)
        while cg.leftovers().filter({ $0.hasPrefix(prefix) }).count < 2 && Date() < deadline && live.isRunning { usleep(20_000) }
        let mine = cg.leftovers().filter { $0.hasPrefix(prefix) }
        XCTAssertFalse(mine.isEmpty, "the run made its cgroups")
        let dry = try CleanupJob.run(dryRun: true)
        XCTAssert(dry.contains { $0.hasPrefix("left alone \(prefix)") }, "\(dry)")
        let again = try CleanupJob.run()
        XCTAssert(again.contains { $0.contains("pid \(live.pid), is alive") }, "\(again)")
        XCTAssertFalse(again.contains { $0.hasPrefix("removed") && $0.contains(prefix) }, "\(again)")
        XCTAssertFalse(cg.leftovers().filter { $0.hasPrefix(prefix) }.isEmpty, "the live run's cgroups are still there")
        XCTAssertEqual(pipsqueak.finish(live), 0, "the run finished with no failed request")
        XCTAssertEqual(cg.leftovers().filter { $0.hasPrefix(prefix) }, [], "and cleaned up after itself")
        // --force does remove a live run's groups.
        let doomed = try pipsqueak.start(["run", "--trace", dir + "/t.csv", "--preset", "all", "--packages", dir + "/packages.csv",
                                          "--wheelhouse", dir + "/wheelhouse", "--limit", "30", "--speed", "2"])
        let doomedPrefix = "run\(doomed.pid)w"
        let until = Date().addingTimeInterval(60)
        while cg.leftovers().filter({ $0.hasPrefix(doomedPrefix) }).count < 2 && Date() < until && doomed.isRunning { usleep(20_000) }
        let forced = try CleanupJob.run(force: true, owner: doomed.pid) // only this run's: other runs on the machine are not the test's
        XCTAssert(forced.contains { $0.hasPrefix("removed cgroup pipsqueak/\(doomedPrefix)") }, "\(forced)")
        doomed.signal(SIGTERM)
        _ = pipsqueak.finish(doomed)
        _ = try CleanupJob.run(owner: doomed.pid)
    }
}
