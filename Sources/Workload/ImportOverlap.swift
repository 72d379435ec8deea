import Foundation

/// Which standard-library modules each package's import loads, and what share of its measured import time
/// each of them took (`traces/import-overlap.csv`, written by `pipsqueak measure --import-overlap`).
///
/// A package's `import_ms` is measured alone in a fresh interpreter, so it includes the standard library it
/// pulls in (`re`, `typing`, `email`, `ssl`, ...). In a worker those modules are imported once: by the worker
/// itself before any handler import (the `:worker` row), or by a package the zygote chain or the handler
/// imported earlier. The cost model charges a package only for the modules not yet loaded.
///
/// Columns: `package,version,traced_ms,stdlib_modules`; `stdlib_modules` is `name:ms` pairs separated by `;`
/// (`-` for none), each module's own (self) import time under `python -X importtime`; `traced_ms` is the self
/// time of everything the traced import loaded (the package's own modules included), the denominator of each
/// module's share. The row named `:worker` lists what the worker's script has imported before a handler's
/// packages (its `traced_ms` is unused).
public struct ImportOverlap: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var version: String
        public var tracedMillis: Double
        /// Standard-library modules the package's import loaded, with their self time, ms.
        public var modules: [(name: String, millis: Double)]

        public init(version: String, tracedMillis: Double, modules: [(name: String, millis: Double)]) {
            self.version = version; self.tracedMillis = tracedMillis; self.modules = modules
        }

        /// The share of the package's import time module `i` took (0 when nothing was traced).
        public func share(_ i: Int) -> Double { tracedMillis > 0 ? min(1, modules[i].millis / tracedMillis) : 0 }

        public static func == (a: Entry, b: Entry) -> Bool {
            a.version == b.version && a.tracedMillis == b.tracedMillis
                && a.modules.map(\.name) == b.modules.map(\.name) && a.modules.map(\.millis) == b.modules.map(\.millis)
        }
    }

    /// The name of the row listing what the worker has loaded before a handler's imports.
    public static let workerRow = ":worker"
    public static let columns = ["package", "version", "traced_ms", "stdlib_modules"]
    /// The file's name beside a package table.
    public static let fileName = "import-overlap.csv"

    /// What the worker's own script loads before any handler import (the `:worker` row).
    public var worker = Entry(version: "", tracedMillis: 0, modules: [])
    public var preloaded: [String] { worker.modules.map(\.name) }
    public var packages: [String: Entry] = [:]

    public init() {}

    /// Where the overlap file of the package table at `packagesPath` is: in the same folder.
    public static func path(besidePackages packagesPath: String) -> String {
        URL(fileURLWithPath: packagesPath).deletingLastPathComponent().appendingPathComponent(fileName).path
    }

    /// The overlap file in the same folder as the package table at `packagesPath`, if there is one.
    public static func beside(packagesPath: String) throws -> ImportOverlap? {
        let path = path(besidePackages: packagesPath)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try read(path: path)
    }

    /// For headers: " (import overlap: PATH)" when there is an overlap file beside the table, else "".
    public static func describe(besidePackages packagesPath: String) -> String {
        let path = path(besidePackages: packagesPath)
        return FileManager.default.fileExists(atPath: path) ? " (import overlap: \(path))" : ""
    }

    public static func read(path: String) throws -> ImportOverlap {
        let csv = try CSVReader(path: path)
        let c = try columns.map { try csv.column($0) }
        var o = ImportOverlap()
        var sawWorker = false
        while let f = try csv.next() {
            let name = f[c[0]].trimmingSpaces
            guard !name.isEmpty else { throw csv.error("column 'package': expected a distribution name or '\(workerRow)', found nothing") }
            let traced = try csv.double(f, c[2], name: "traced_ms", max: 1e9)
            var modules: [(name: String, millis: Double)] = []
            let field = f[c[3]].trimmingSpaces
            if field != "-" && !field.isEmpty {
                for pair in field.split(separator: ";") {
                    let kv = pair.split(separator: ":", omittingEmptySubsequences: false)
                    guard kv.count == 2, !kv[0].isEmpty, let ms = Double(kv[1].trimmingCharacters(in: .whitespaces)), ms >= 0, ms.isFinite else {
                        throw csv.error("column 'stdlib_modules': expected module:ms pairs separated by ';', found \(InputError.excerpt(String(pair)))")
                    }
                    modules.append((String(kv[0]).trimmingSpaces, ms))
                }
            }
            if name == workerRow {
                if sawWorker { throw csv.error("the '\(workerRow)' row appears twice") }
                sawWorker = true
                o.worker = Entry(version: "", tracedMillis: traced, modules: modules)
                continue
            }
            let n = PackageName.canonical(name)
            if o.packages[n] != nil { throw csv.error("package '\(n)' appears twice") }
            o.packages[n] = Entry(version: f[c[1]].trimmingSpaces, tracedMillis: traced, modules: modules)
        }
        guard sawWorker else { throw InputError(file: path, line: csv.lineNumber, "no '\(workerRow)' row (the modules the worker loads before a handler's imports)") }
        return o
    }

    public func write(path: String, comments: [String]) throws {
        let out = try OutputFile(path: path)
        for c in comments { out.write("# \(c)\n") }
        out.write(ImportOverlap.columns.joined(separator: ",") + "\n")
        func mods(_ m: [(name: String, millis: Double)]) -> String {
            m.isEmpty ? "-" : m.map { "\($0.name):" + String(format: "%.3f", $0.millis) }.joined(separator: ";")
        }
        out.write("\(ImportOverlap.workerRow),,\(String(format: "%.3f", worker.tracedMillis)),\(mods(worker.modules))\n")
        for n in packages.keys.sorted() {
            let e = packages[n]!
            out.write("\(n),\(e.version),\(String(format: "%.3f", e.tracedMillis)),\(mods(e.modules))\n")
        }
        try out.commit()
    }
}
