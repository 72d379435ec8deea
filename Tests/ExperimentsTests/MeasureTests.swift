import XCTest
import Foundation
import Runtime
import Workload
@testable import Experiments

/// `measure` on tiny wheels built here (no network): `app` depends on `lib`; `slow` sleeps ~50 ms on import
/// and holds 24 MB.
final class MeasureTests: XCTestCase {
    func makeWheel(_ python: PythonInterpreter, dir: String, wheelhouse: String, name: String, requires: String, files: [String: String]) throws {
        let src = dir + "/src-\(name)"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        for (f, text) in files {
            try FileManager.default.createDirectory(atPath: (src + "/" + f as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: src + "/" + f, atomically: true, encoding: .utf8)
        }
        let helper = try XCTUnwrap(Bundle.module.path(forResource: "measure_helper", ofType: "py", inDirectory: "Python"))
        let r = try ChildProcess.run(python.executable, ["-S", helper, "makewheel", wheelhouse, name, "1.0", requires, src],
                                     environment: PythonInterpreter.cleanEnvironment())
        XCTAssert(r.succeeded, r.stderr)
    }

    func testMeasuringTinyWheelsOffline() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-measure-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheelhouse = dir + "/wheelhouse"
        try FileManager.default.createDirectory(atPath: wheelhouse, withIntermediateDirectories: true)
        let python = try PythonInterpreter.resolve()
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "lib", requires: "", files: ["lib.py": "X = 1\n"])
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "app", requires: "lib", files: ["app.py": "import lib\nY = lib.X\n"])
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "slow", requires: "",
                      files: ["slow.py": "import time\ntime.sleep(0.05)\nB = bytearray(24 * 1024 * 1024)\nfor i in range(0, len(B), 4096):\n    B[i] = 1\n"])
        var o = MeasureOptions(wheelhouse: wheelhouse, cache: dir + "/cache")
        o.distributions = ["app", "slow"]
        o.repeats = 3
        o.offline = true
        o.output = dir + "/packages.csv"
        var lines: [String] = []
        let m = try PackageMeasurer(options: o, python: python) { lines.append($0) }
        let table = try m.run()
        XCTAssertEqual(Set(table.names), ["app", "lib", "slow"], "the closure of the roots, resolved by pip")
        let app = try XCTUnwrap(table["app"]), slow = try XCTUnwrap(table["slow"])
        XCTAssertEqual(app.dependencies, ["lib"])
        XCTAssertEqual(app.transitiveDependencies, ["lib"])
        XCTAssertEqual(app.topLevelModules, ["app"])
        XCTAssertGreaterThan(app.wheelBytes, 0); XCTAssertGreaterThan(app.installedBytes, 0)
        XCTAssertEqual(slow.importMillis, 55, accuracy: 35, "slow sleeps 50 ms on import")
        XCTAssertGreaterThan(slow.importMemoryBytes, 20 << 20, "slow holds 24 MB")
        XCTAssertLessThan(table["lib"]!.importMillis, 20)
        XCTAssertGreaterThan(m.pipOverheadMillis, 0)
        XCTAssert(lines.contains { $0.contains("[1/3]") }, "progress is reported")
        // The table on disk reads back the same, with its provenance header.
        let reread = try PackageTable.read(path: o.output)
        let back = try XCTUnwrap(reread["app"])
        XCTAssertEqual(back.dependencies, app.dependencies); XCTAssertEqual(back.wheelBytes, app.wheelBytes)
        XCTAssertEqual(back.installMillis, app.installMillis, accuracy: 0.001, "written with three decimals")
        XCTAssertEqual(back.importMillis, app.importMillis, accuracy: 0.001)
        XCTAssert(try String(contentsOfFile: o.output, encoding: .utf8).hasPrefix("# made by: pipsqueak measure"))
        // A second run resumes: nothing is measured again.
        lines.removeAll()
        _ = try PackageMeasurer(options: o, python: python) { lines.append($0) }.run()
        XCTAssertEqual(lines.filter { $0.contains("done in an earlier run") }.count, 3)
    }

    /// `--import-overlap` traces which standard-library modules each package's import loads (and the worker's
    /// own script), and `--imports-only` measures imports again keeping every other column; both install
    /// what the cache lacks from the wheelhouse.
    func testImportOverlapAndImportsOnly() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-measure-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheelhouse = dir + "/wheelhouse"
        try FileManager.default.createDirectory(atPath: wheelhouse, withIntermediateDirectories: true)
        let python = try PythonInterpreter.resolve()
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "mail", requires: "", files: ["mail.py": "import email.message, decimal\n"])
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "plain", requires: "mail", files: ["plain.py": "import mail\nX = 1\n"])
        var o = MeasureOptions(wheelhouse: wheelhouse, cache: dir + "/cache")
        o.distributions = ["plain"]; o.repeats = 2; o.offline = true
        o.output = dir + "/packages.csv"
        _ = try PackageMeasurer(options: o, python: python) { _ in }.run()
        let table = try PackageTable.read(path: o.output)
        XCTAssertEqual(Set(table.names), ["mail", "plain"])
        XCTAssertGreaterThan(try XCTUnwrap(try ImportSpeedProbe.recorded(inPackageTable: o.output)), 0, "the import speed probe is recorded")
        // Traced from a cache that lost its installs: they are made again from the wheelhouse.
        try FileManager.default.removeItem(atPath: dir + "/cache/packages")
        o.distributions = []
        let (path, traced, preloaded) = try PackageMeasurer(options: o, python: python) { _ in }.measureImportOverlap()
        XCTAssertEqual(path, dir + "/" + ImportOverlap.fileName)
        XCTAssertEqual(traced, 2)
        let overlap = try XCTUnwrap(try ImportOverlap.beside(packagesPath: o.output))
        XCTAssertEqual(overlap.preloaded.count, preloaded)
        XCTAssert(overlap.preloaded.contains("json") && overlap.preloaded.contains("socket"), "the worker's script imports json and socket: \(overlap.preloaded)")
        let mail = try XCTUnwrap(overlap.packages["mail"]).modules.map(\.name)
        XCTAssert(mail.contains("email.message") && mail.contains("decimal"), "\(mail)")
        XCTAssertFalse(try XCTUnwrap(overlap.packages["plain"]).modules.contains { $0.name == "email.message" },
                       "plain's dependency loaded email first: not plain's")
        XCTAssertGreaterThan(try XCTUnwrap(overlap.packages["mail"]).tracedMillis, 0)
        // Imports again: import columns replaced, every other one kept, the header says so.
        try FileManager.default.removeItem(atPath: dir + "/cache/packages")
        let again = try PackageMeasurer(options: o, python: python) { _ in }.remeasureImports()
        let before = try XCTUnwrap(table["mail"]), after = try XCTUnwrap(again["mail"])
        XCTAssertEqual(after.installMillis, before.installMillis); XCTAssertEqual(after.downloadMillis, before.downloadMillis)
        XCTAssertEqual(after.wheelBytes, before.wheelBytes); XCTAssertEqual(after.dependencies, before.dependencies)
        XCTAssertGreaterThan(after.importMillis, 0)
        let text = try String(contentsOfFile: o.output, encoding: .utf8)
        XCTAssert(text.hasPrefix("# imports re-measured (import_ms, import_ms_spread, import_memory_bytes, repeats) for 2 of 2 packages"), text)
        XCTAssert(text.contains("# made by: pipsqueak measure"), "the table's own header is kept")
        XCTAssertEqual(text.components(separatedBy: "# \(ImportSpeedProbe.headerKey): ").count, 2, "one probe line, this run's: \(text)")
        XCTAssert(text.contains("before and after the imports were measured"), text)
        // A probe line that is not a number is an error naming the file and line.
        let bad = dir + "/bad.csv"
        try "# made by: hand\n# \(ImportSpeedProbe.headerKey): fast\nname\n".write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImportSpeedProbe.recorded(inPackageTable: bad)) {
            XCTAssert("\($0)".contains("bad.csv:2") && "\($0)".contains("expected a positive number"), "\($0)")
        }
        XCTAssertEqual(try PackageTable.read(path: o.output).count, 2)
        // A name not in the table is an error naming it; the table is left as it was.
        o.distributions = ["nosuch"]
        XCTAssertThrowsError(try PackageMeasurer(options: o, python: python) { _ in }.remeasureImports()) { XCTAssert("\($0)".contains("nosuch is not in"), "\($0)") }
        XCTAssertEqual(try String(contentsOfFile: o.output, encoding: .utf8), text)
    }

    /// Each distribution's import cost is its own, cycles work, and a namespace package is measured by what
    /// users import: `cyca` depends on `cycb`, whose module imports `cyca` (as bs4 and soupsieve); `nsdist`
    /// ships `nspkg/sub` under a namespace `nspkg` (as protobuf ships `google/protobuf`). Before: `cyca`
    /// timed as free (its dependency had imported it), `cycb` failed, `nsdist` was measured as `nspkg`.
    func testCyclesAndNamespacePackagesAreMeasuredAsUsersImportThem() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-measure-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wheelhouse = dir + "/wheelhouse"
        try FileManager.default.createDirectory(atPath: wheelhouse, withIntermediateDirectories: true)
        let python = try PythonInterpreter.resolve()
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "cyca", requires: "cycb",
                      files: ["cyca.py": "import time\ntime.sleep(0.04)\nimport cycb\nA = 1\n"])
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "cycb", requires: "",
                      files: ["cycb.py": "B = 2\nimport cyca\n"])
        try makeWheel(python, dir: dir, wheelhouse: wheelhouse, name: "nsdist", requires: "",
                      files: ["nspkg/sub/__init__.py": "import time\ntime.sleep(0.02)\nS = 3\n"])
        var o = MeasureOptions(wheelhouse: wheelhouse, cache: dir + "/cache")
        o.distributions = ["cyca", "nsdist"]
        o.repeats = 2
        o.offline = true
        o.output = dir + "/packages.csv"
        var lines: [String] = []
        let table = try PackageMeasurer(options: o, python: python) { lines.append($0) }.run()
        let a = try XCTUnwrap(table["cyca"], "\(table.failures)"), b = try XCTUnwrap(table["cycb"], "cycb measured: \(table.failures)")
        XCTAssertGreaterThan(a.importMillis, 20, "cyca's own 40 ms, not free because cycb had imported it")
        XCTAssertEqual(b.topLevelModules, ["cycb"])
        XCTAssert(lines.contains { $0.contains("cycb: imports cyca, which depends on it") }, "\(lines)")
        let ns = try XCTUnwrap(table["nsdist"])
        XCTAssertEqual(ns.topLevelModules, ["nspkg.sub"], "what users import, not the namespace")
        XCTAssertGreaterThan(ns.importMillis, 10)
        XCTAssertNotNil(table.installRawMillis["cyca"], "pip's whole install time is kept beside install_ms")
        XCTAssertNotNil(try PackageTable.read(path: o.output).installRawMillis["nsdist"])
    }
}
