/// How many sampled GitHub repositories import each third-party module, and the distribution it maps to
/// (`traces/import-frequency.csv`, see its provenance note in traces/README.md).
public struct ImportFrequency: Sendable {
    public struct Entry: Sendable, Equatable {
        public var module: String
        /// Canonical distribution name, nil when the module maps to no known distribution.
        public var distribution: String?
        public var repos: Int
    }

    public private(set) var entries: [Entry] = []
    private var byModule: [String: Int] = [:]

    public init(entries: [Entry]) {
        for e in entries where byModule[e.module] == nil {
            byModule[e.module] = self.entries.count
            self.entries.append(e)
        }
    }

    public static func read(path: String) throws -> ImportFrequency {
        let csv = try CSVReader(path: path)
        let m = try csv.column("module"), d = try csv.column("distribution"), r = try csv.column("repos")
        var entries: [Entry] = []
        while let f = try csv.next() {
            let module = f[m].trimmingSpaces
            guard !module.isEmpty else { throw csv.error("column 'module': expected a module name, found nothing") }
            let dist = f[d].trimmingSpaces
            entries.append(Entry(module: module, distribution: dist.isEmpty ? nil : PackageName.canonical(dist),
                                 repos: try csv.int(f, r, name: "repos")))
        }
        guard !entries.isEmpty else { throw InputError(file: path, line: 0, "no rows after the header") }
        return ImportFrequency(entries: entries)
    }

    /// The distribution a module maps to, if known.
    public func distribution(ofModule module: String) -> String? {
        byModule[module].flatMap { entries[$0].distribution }
    }

    /// Distributions ordered by the number of repositories importing any of their modules (the largest
    /// module count stands for the distribution), most popular first; ties by name.
    public var distributionsByPopularity: [(name: String, repos: Int)] {
        var best: [String: Int] = [:]
        for e in entries { if let d = e.distribution { best[d] = max(best[d] ?? 0, e.repos) } }
        return best.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }
}

/// Real third-party import sets of sampled repositories (`traces/handler-sets.csv`): each row is the set of
/// packages one real small application imports together.
public struct HandlerSets: Sendable {
    public struct Row: Sendable, Equatable {
        public var repo: String
        /// Canonical distribution names, sorted, unique; modules with no known distribution are left out.
        public var packages: [String]
        public init(repo: String, packages: [String]) {
            self.repo = repo
            self.packages = packages
        }
    }
    public var rows: [Row]

    public init(rows: [Row]) { self.rows = rows }

    /// Reads the sets, mapping modules to distributions with `frequency`.
    public static func read(path: String, frequency: ImportFrequency) throws -> HandlerSets {
        let csv = try CSVReader(path: path)
        let r = try csv.column("repo"), m = try csv.column("modules")
        var rows: [Row] = []
        while let f = try csv.next() {
            let mods = f[m].split(separator: ";").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
            let pkgs = Set(mods.compactMap { frequency.distribution(ofModule: $0) })
            rows.append(Row(repo: f[r].trimmingSpaces, packages: pkgs.sorted()))
        }
        guard !rows.isEmpty else { throw InputError(file: path, line: 0, "no rows after the header") }
        return HandlerSets(rows: rows)
    }

    /// Keeps only packages in `allowed`, dropping rows left empty.
    public func restricted(to allowed: Set<String>) -> HandlerSets {
        HandlerSets(rows: rows.compactMap { row in
            let p = row.packages.filter { allowed.contains($0) }
            return p.isEmpty ? nil : Row(repo: row.repo, packages: p)
        })
    }
}
