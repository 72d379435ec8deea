import XCTest
import Foundation
import Runtime
import TestSupport
import Workload
@testable import Experiments

/// Tiny synthetic packages built as real wheels (`Wheels`) in `dir/wheelhouse`,
/// and a `dir/packages.csv` that lists them, so real runs need no network.
enum TinyWheels {
    /// - Parameter packages: (name, module code, modeled import ms) for each package.
    static func make(in dir: String, _ packages: [(name: String, code: String, importMillis: Double)]) throws {
        let wheelhouse = dir + "/wheelhouse"
        try FileManager.default.createDirectory(atPath: wheelhouse, withIntermediateDirectories: true)
        let python = try PythonInterpreter.resolve()
        var table = PackageTable()
        for p in packages {
            try Wheels.build(name: p.name, module: p.name, code: p.code, wheelhouse: wheelhouse, scratch: dir, python: python)
            table.insert(Package(name: p.name, version: "1.0", topLevelModules: [p.name], wheelBytes: 1000, installedBytes: 4096,
                                 downloadMillis: 1, installMillis: 1, importMillis: p.importMillis, importMemoryBytes: 1 << 20))
        }
        try table.write(path: dir + "/packages.csv", comments: ["test"])
    }
}
