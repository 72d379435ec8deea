import XCTest
import Foundation
import Runtime
import Workload
@testable import Experiments

/// Tiny synthetic packages built as real wheels (with the measure helper's `makewheel`) in `dir/wheelhouse`,
/// and a `dir/packages.csv` that lists them, so real runs need no network.
enum TinyWheels {
    /// - Parameter packages: (name, module code, modeled import ms) for each package.
    static func make(in dir: String, _ packages: [(name: String, code: String, importMillis: Double)]) throws {
        let wheelhouse = dir + "/wheelhouse"
        try FileManager.default.createDirectory(atPath: wheelhouse, withIntermediateDirectories: true)
        let python = try PythonInterpreter.resolve()
        let helper = try XCTUnwrap(Bundle.module.path(forResource: "measure_helper", ofType: "py", inDirectory: "Python"))
        var table = PackageTable()
        for p in packages {
            try FileManager.default.createDirectory(atPath: dir + "/src-\(p.name)", withIntermediateDirectories: true)
            try p.code.write(toFile: dir + "/src-\(p.name)/\(p.name).py", atomically: true, encoding: .utf8)
            let r = try ChildProcess.run(python.executable, ["-S", helper, "makewheel", wheelhouse, p.name, "1.0", "", dir + "/src-\(p.name)"],
                                         environment: PythonInterpreter.cleanEnvironment())
            XCTAssert(r.succeeded, r.stderr)
            table.insert(Package(name: p.name, version: "1.0", topLevelModules: [p.name], wheelBytes: 1000, installedBytes: 4096,
                                 downloadMillis: 1, installMillis: 1, importMillis: p.importMillis, importMemoryBytes: 1 << 20))
        }
        try table.write(path: dir + "/packages.csv", comments: ["test"])
    }
}
