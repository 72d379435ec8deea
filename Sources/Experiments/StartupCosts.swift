import Foundation
import Statistics
import Workload

/// `results/startup-costs.csv`: per-package download, install and import costs from the measured table,
/// alone and with all dependencies, and their averages beside the paper's figures (Oakes et al. 2017:
/// averages over popular packages download 1.6 s, install 2.3 s, import 107 ms; matplotlib 4.37 s, 5.24 s,
/// 0.21 s).
public enum StartupCosts {
    public static let paperAverage = (download: 1600.0, install: 2300.0, importMs: 107.0)
    public static let paperMatplotlib = (download: 4370.0, install: 5240.0, importMs: 210.0)

    public struct Row: Equatable {
        public var name: String, version: String
        public var downloadMillis: Double, installMillis: Double, importMillis: Double
        public var downloadWithDepsMillis: Double, installWithDepsMillis: Double, importWithDepsMillis: Double
        public var dependencies: Int
    }

    public static func rows(_ table: PackageTable) -> [Row] {
        table.names.compactMap { n in
            guard let p = table[n] else { return nil }
            let deps = p.transitiveDependencies.compactMap { table[$0] }
            return Row(name: p.name, version: p.version, downloadMillis: p.downloadMillis, installMillis: p.installMillis,
                       importMillis: p.importMillis,
                       downloadWithDepsMillis: p.downloadMillis + deps.reduce(0) { $0 + $1.downloadMillis },
                       installWithDepsMillis: p.installMillis + deps.reduce(0) { $0 + $1.installMillis },
                       importWithDepsMillis: p.importMillis + deps.reduce(0) { $0 + $1.importMillis },
                       dependencies: deps.count)
        }
    }

    public static func write(table: PackageTable, to path: String, comments: [String]) throws {
        let rows = rows(table)
        let out = try OutputFile(path: path)
        for c in comments { out.write("# \(c)\n") }
        out.write("package,version,dependencies,download_ms,install_ms,import_ms,download_with_deps_ms,install_with_deps_ms,import_with_deps_ms\n")
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        for r in rows {
            out.write("\(r.name),\(r.version),\(r.dependencies),\(f(r.downloadMillis)),\(f(r.installMillis)),\(f(r.importMillis)),\(f(r.downloadWithDepsMillis)),\(f(r.installWithDepsMillis)),\(f(r.importWithDepsMillis))\n")
        }
        if !rows.isEmpty {
            let m = { (k: KeyPath<Row, Double>) in Summary(rows.map { $0[keyPath: k] }) }
            out.write("average (this machine),,,\(f(m(\.downloadMillis).mean)),\(f(m(\.installMillis).mean)),\(f(m(\.importMillis).mean)),\(f(m(\.downloadWithDepsMillis).mean)),\(f(m(\.installWithDepsMillis).mean)),\(f(m(\.importWithDepsMillis).mean))\n")
            out.write("median (this machine),,,\(f(m(\.downloadMillis).p50)),\(f(m(\.installMillis).p50)),\(f(m(\.importMillis).p50)),\(f(m(\.downloadWithDepsMillis).p50)),\(f(m(\.installWithDepsMillis).p50)),\(f(m(\.importWithDepsMillis).p50))\n")
        }
        out.write("average (paper),,,\(f(paperAverage.download)),\(f(paperAverage.install)),\(f(paperAverage.importMs)),,,\n")
        out.write("matplotlib (paper),,,\(f(paperMatplotlib.download)),\(f(paperMatplotlib.install)),\(f(paperMatplotlib.importMs)),,,\n")
        try out.commitIfChanged()
    }
}
