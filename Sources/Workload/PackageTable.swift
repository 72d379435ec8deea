/// The measured cost of every package (`traces/packages.csv`, written by `pipsqueak measure`).
///
/// Columns: `name,version,status,wheel_bytes,installed_bytes,download_ms,install_ms,import_ms,
/// import_ms_spread,import_memory_bytes,repeats,dependencies,transitive_dependencies,top_level[,install_raw_ms]`.
/// `status` is `ok` or `failed: why`; lists are `;`-separated. Failed rows are kept in `failures`.
/// `install_raw_ms` (optional; empty for rows measured before it existed) is pip's whole install time, before
/// its fixed overhead is subtracted and the result clamped at 0 into `install_ms`: so a reader can judge an
/// `install_ms` of 0.
public struct PackageTable: Sendable {
    public private(set) var packages: [String: Package] = [:]
    /// Rows that could not be measured: name → reason.
    public private(set) var failures: [String: String] = [:]
    /// Import-time spread (max − min over repetitions, ms) and repetitions, by name.
    public private(set) var spread: [String: (ms: Double, repeats: Int)] = [:]
    /// pip's whole install time, ms, by name (where measured).
    public private(set) var installRawMillis: [String: Double] = [:]

    public init(_ packages: [Package] = []) {
        for p in packages { self.packages[p.name] = p }
    }

    public subscript(name: String) -> Package? { packages[name] }
    public var names: [String] { packages.keys.sorted() }

    /// `names` and, for each the table holds, its transitive dependencies: what importing them imports.
    public func closure<S: Sequence<String>>(of names: S) -> Set<String> {
        var all = Set<String>()
        for n in names { all.insert(n); all.formUnion(packages[n]?.transitiveDependencies ?? []) }
        return all
    }
    public var count: Int { packages.count }

    public mutating func insert(_ p: Package, spreadMillis: Double = 0, repeats: Int = 1, installRawMillis raw: Double? = nil) {
        packages[p.name] = p
        failures[p.name] = nil
        spread[p.name] = (spreadMillis, repeats)
        installRawMillis[p.name] = raw
    }

    /// This table with `newer`'s rows in place of its own for the packages `newer` holds; every other row
    /// kept. A package `newer` failed to measure keeps its older measurement, if it had one (a failed
    /// re-measure never loses a good row). Never smaller than this table.
    public func merging(_ newer: PackageTable) -> PackageTable {
        var t = self
        for (n, p) in newer.packages {
            let s = newer.spread[n] ?? (0, 1)
            t.insert(p, spreadMillis: s.ms, repeats: s.repeats, installRawMillis: newer.installRawMillis[n])
        }
        for (n, why) in newer.failures where t.packages[n] == nil { t.failures[n] = why }
        return t
    }

    public mutating func recordFailure(name: String, version: String = "", reason: String) {
        let n = PackageName.canonical(name)
        packages[n] = nil
        failures[n] = reason.replacingNewlines
    }

    public static let columns = ["name", "version", "status", "wheel_bytes", "installed_bytes", "download_ms",
                                 "install_ms", "import_ms", "import_ms_spread", "import_memory_bytes", "repeats",
                                 "dependencies", "transitive_dependencies", "top_level"]

    public static func read(path: String) throws -> PackageTable {
        let csv = try CSVReader(path: path)
        let c = try columns.map { try csv.column($0) }
        let rawColumn = csv.hasColumn("install_raw_ms") ? try csv.column("install_raw_ms") : nil
        var t = PackageTable()
        func list(_ s: String) -> [String] { s.split(separator: ";").map { String($0).trimmingSpaces }.filter { !$0.isEmpty } }
        while let f = try csv.next() {
            let name = f[c[0]].trimmingSpaces
            guard !name.isEmpty else { throw csv.error("column 'name': expected a distribution name, found nothing") }
            let status = f[c[2]].trimmingSpaces
            if status != "ok" {
                guard status.hasPrefix("failed") else { throw csv.error("column 'status': expected 'ok' or 'failed: reason', found \(InputError.excerpt(status))") }
                t.failures[PackageName.canonical(name)] = String(status.dropFirst(6)).trimmingCharacters(in: ": ")
                continue
            }
            let p = Package(name: name, version: f[c[1]].trimmingSpaces,
                            dependencies: list(f[c[11]]), transitiveDependencies: list(f[c[12]]),
                            topLevelModules: list(f[c[13]]),
                            wheelBytes: Int64(try csv.int(f, c[3], name: "wheel_bytes")),
                            installedBytes: Int64(try csv.int(f, c[4], name: "installed_bytes")),
                            downloadMillis: try csv.double(f, c[5], name: "download_ms", max: 1e9),
                            installMillis: try csv.double(f, c[6], name: "install_ms", max: 1e9),
                            importMillis: try csv.double(f, c[7], name: "import_ms", max: 1e9),
                            importMemoryBytes: Int64(try csv.int(f, c[9], name: "import_memory_bytes")))
            if t.packages[p.name] != nil { throw csv.error("package '\(p.name)' appears twice") }
            let raw = try rawColumn.flatMap { f[$0].trimmingSpaces.isEmpty ? nil : try csv.double(f, $0, name: "install_raw_ms", max: 1e9) }
            t.insert(p, spreadMillis: try csv.double(f, c[8], name: "import_ms_spread", max: 1e9),
                     repeats: try csv.int(f, c[10], name: "repeats", min: 1), installRawMillis: raw)
        }
        if t.packages.isEmpty && t.failures.isEmpty { throw InputError(file: path, line: 0, "no rows after the header") }
        return t
    }

    public func write(path: String, comments: [String]) throws {
        let out = try OutputFile(path: path)
        for c in comments { out.write("# \(c)\n") }
        out.write((PackageTable.columns + ["install_raw_ms"]).joined(separator: ",") + "\n")
        for name in Set(packages.keys).union(failures.keys).sorted() {
            if let p = packages[name] {
                let s = spread[name] ?? (0, 1)
                let fields: [String] = [p.name, p.version, "ok", String(p.wheelBytes), String(p.installedBytes),
                                        fmt(p.downloadMillis), fmt(p.installMillis), fmt(p.importMillis), fmt(s.ms),
                                        String(p.importMemoryBytes), String(s.repeats),
                                        p.dependencies.joined(separator: ";"), p.transitiveDependencies.joined(separator: ";"),
                                        p.topLevelModules.joined(separator: ";"), installRawMillis[name].map(fmt) ?? ""]
                out.write(fields.map(CSVReader.escape).joined(separator: ",") + "\n")
            } else if let why = failures[name] {
                let fields = [name, "", "failed: \(why)", "0", "0", "0", "0", "0", "0", "0", "1", "", "", "", ""]
                out.write(fields.map(CSVReader.escape).joined(separator: ",") + "\n")
            }
        }
        try out.commit()
    }
}

import Foundation

extension String {
    var replacingNewlines: String { replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ") }
    func trimmingCharacters(in set: String) -> String { trimmingCharacters(in: CharacterSet(charactersIn: set)) }
}
