import XCTest
import TestSupport
@testable import Workload

final class GeneratorTests: XCTestCase {
    func generate(_ make: () throws -> (HandlerTable, (TraceWriter) throws -> Void), in dir: TestDirectory,
                  name: String) throws -> Trace {
        let (table, body) = try make()
        let w = try TraceWriter(path: dir.path + "/\(name).csv", handlers: table)
        try body(w); try w.commit()
        try table.write(path: dir.path + "/\(name).handlers.csv")
        return try Trace(path: dir.path + "/\(name).csv")
    }

    func testMicrobenchmarkHasNHandlersOfOnePackageAndPoissonRate() throws {
        let dir = TestDirectory()
        for seed: UInt64 in [1, 2, 3] {
            let t = try generate({ try TraceGenerator.microbenchmark(package: "NumPy", handlers: 100, rate: 2, seconds: 600, seed: seed) },
                                 in: dir, name: "m\(seed)")
            XCTAssertEqual(t.handlers.count, 100)
            XCTAssert(t.handlers.handlers.allSatisfy { $0.packages == ["numpy"] })
            XCTAssertEqual(Set(t.handlers.handlers.map(\.customer)).count, 100, "distinct handlers, distinct customers")
            let stats = try TraceStats(trace: t)
            // Poisson count over 600 s at 2/s: mean 1200, sd ~34.6.
            XCTAssertEqual(Double(stats.requests), 1200, accuracy: 5 * 1200.0.squareRoot())
        }
    }

    func testSameSeedSameBytesDifferentSeedDifferentTrace() throws {
        let dir = TestDirectory()
        let sets = HandlerSets(rows: [.init(repo: "r1", packages: ["numpy"]), .init(repo: "r2", packages: ["flask", "requests"])])
        _ = try generate({ try TraceGenerator.mixed(sets: sets, handlers: 20, rate: 10, seconds: 60, seed: 5) }, in: dir, name: "a")
        _ = try generate({ try TraceGenerator.mixed(sets: sets, handlers: 20, rate: 10, seconds: 60, seed: 5) }, in: dir, name: "b")
        _ = try generate({ try TraceGenerator.mixed(sets: sets, handlers: 20, rate: 10, seconds: 60, seed: 6) }, in: dir, name: "c")
        XCTAssertEqual(dir.read("a.csv"), dir.read("b.csv"))
        XCTAssertEqual(dir.read("a.handlers.csv"), dir.read("b.handlers.csv"))
        XCTAssertNotEqual(dir.read("a.csv"), dir.read("c.csv"))
    }

    func testMixedHandlersUseRealRowsAndZipfPopularity() throws {
        let dir = TestDirectory()
        let rows: [HandlerSets.Row] = [.init(repo: "r1", packages: ["numpy", "pandas"]), .init(repo: "r2", packages: ["requests"]),
                                       .init(repo: "r3", packages: ["boto3", "botocore"])]
        let t = try generate({ try TraceGenerator.mixed(sets: HandlerSets(rows: rows), handlers: 50, zipfExponent: 1.2,
                                                        rate: 50, seconds: 200, seed: 11) }, in: dir, name: "x")
        let allowed = Set(rows.map(\.packages))
        XCTAssert(t.handlers.handlers.allSatisfy { allowed.contains($0.packages) })
        let s = try TraceStats(trace: t)
        // Zipf(1.2) over 50 ranks: rank 1 gets 1/H(50,1.2) of requests.
        let h = (1...50).reduce(0.0) { $0 + 1 / pow(Double($1), 1.2) }
        let p1 = 1 / h
        let sd = (p1 * (1 - p1) / Double(s.requests)).squareRoot()
        XCTAssertEqual(Double(s.perHandler[0]) / Double(s.requests), p1, accuracy: 5 * sd)
        XCTAssertGreaterThan(s.perHandler[0], s.perHandler[10])
    }

    func testGeneratorsRejectBadParameters() {
        XCTAssertThrowsError(try TraceGenerator.microbenchmark(package: "x", handlers: 0, seed: 1))
        XCTAssertThrowsError(try TraceGenerator.microbenchmark(package: "x", rate: 0, seed: 1))
        XCTAssertThrowsError(try TraceGenerator.mixed(sets: HandlerSets(rows: []), seed: 1))
    }

    func testImportFrequencyAndHandlerSetsMapModulesToDistributions() throws {
        let dir = TestDirectory()
        let f = dir.write("freq.csv", "module,distribution,repos,fraction_of_repos,repos_outside_tests,pypi_download_rank\nyaml,PyYAML,10,0.1,10,5\ncv2,opencv-python,4,0.04,4,\nmine,,1,0.01,1,\nPIL,pillow,4,0.04,4,9\n")
        let freq = try ImportFrequency.read(path: f)
        XCTAssertEqual(freq.distribution(ofModule: "yaml"), "pyyaml")
        XCTAssertNil(freq.distribution(ofModule: "mine"))
        XCTAssertEqual(freq.distributionsByPopularity.map(\.name), ["pyyaml", "opencv-python", "pillow"])
        let s = dir.write("sets.csv", "repo,kind,commit,modules,modules_outside_tests\nr1,k,c,yaml;mine;PIL,yaml\nr2,k,c,,\n")
        let sets = try HandlerSets.read(path: s, frequency: freq)
        XCTAssertEqual(sets.rows[0].packages, ["pillow", "pyyaml"])
        XCTAssertEqual(sets.rows[1].packages, [])
        XCTAssertEqual(sets.restricted(to: ["pillow"]).rows.map(\.packages), [["pillow"]])
        let bad = dir.write("bad.csv", "module,repos\nyaml,1\n")
        XCTAssertThrowsError(try ImportFrequency.read(path: bad)) { XCTAssert("\($0)".contains("bad.csv:1: missing column 'distribution'")) }
    }

    /// The shipped seed data (copied into traces/) parses and maps.
    func testShippedDataParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let freq = try ImportFrequency.read(path: root.path + "/traces/import-frequency.csv")
        XCTAssertEqual(freq.entries.count, 561)
        XCTAssertEqual(freq.distributionsByPopularity.first?.name, "requests")
        let sets = try HandlerSets.read(path: root.path + "/traces/handler-sets.csv", frequency: freq)
        XCTAssertEqual(sets.rows.count, 227)
    }
}
