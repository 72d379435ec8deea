import Foundation
import Workload
@testable import Experiments

/// The experiment tests' small world: two measured packages (a small one and a numpy-like one) in
/// `dir/packages.csv`, and a 40-handler mixed trace over them in `dir/mixed.csv`.
enum SmallWorld {
    static func make(in dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var t = PackageTable()
        t.insert(Package(name: "small", version: "1", wheelBytes: 1 << 16, installedBytes: 1 << 18, downloadMillis: 40, installMillis: 30,
                         importMillis: 8, importMemoryBytes: 2 << 20))
        t.insert(Package(name: "big", version: "1", wheelBytes: 16 << 20, installedBytes: 70 << 20, downloadMillis: 900, installMillis: 2300,
                         importMillis: 90, importMemoryBytes: 17 << 20))
        try t.write(path: dir + "/packages.csv", comments: ["test"])
        let sets = HandlerSets(rows: [.init(repo: "r", packages: ["small"]), .init(repo: "s", packages: ["big", "small"]), .init(repo: "u", packages: ["big"])])
        let (hs, body) = try TraceGenerator.mixed(sets: sets, handlers: 40, rate: 2, seconds: 240, seed: 3)
        try TraceJobs.write(table: hs, body: body, to: dir + "/mixed.csv", comments: [])
    }
}
