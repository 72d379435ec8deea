/// A Python distribution at one version and what it costs to bring into a handler: fetched from the package
/// mirror (download), unpacked into its own directory (install), and imported (import, resident memory).
/// Costs are measured on a real machine by `pipsqueak measure` and kept in `traces/packages.csv`.
public struct Package: Hashable, Sendable {
    /// Canonical distribution name (PEP 503: lower case, runs of `-_.` as `-`).
    public var name: String
    public var version: String
    /// Direct dependencies (canonical names).
    public var dependencies: [String]
    /// All dependencies, transitively (canonical names), excluding the package itself.
    public var transitiveDependencies: [String]
    /// Top-level modules the distribution provides (what `import` names).
    public var topLevelModules: [String]
    public var wheelBytes: Int64
    public var installedBytes: Int64
    public var downloadMillis: Double
    public var installMillis: Double
    /// The package's own import time, its dependencies already imported.
    public var importMillis: Double
    /// Resident-memory growth of importing it, its dependencies already imported.
    public var importMemoryBytes: Int64
    /// True when the costs were not measured but drawn from the measured distribution.
    public var estimated: Bool

    public init(name: String, version: String = "", dependencies: [String] = [], transitiveDependencies: [String]? = nil,
                topLevelModules: [String] = [], wheelBytes: Int64 = 0, installedBytes: Int64 = 0,
                downloadMillis: Double = 0, installMillis: Double = 0, importMillis: Double = 0,
                importMemoryBytes: Int64 = 0, estimated: Bool = false) {
        self.name = PackageName.canonical(name)
        self.version = version
        self.dependencies = dependencies.map(PackageName.canonical)
        self.transitiveDependencies = (transitiveDependencies ?? dependencies).map(PackageName.canonical)
        self.topLevelModules = topLevelModules
        self.wheelBytes = wheelBytes
        self.installedBytes = installedBytes
        self.downloadMillis = downloadMillis
        self.installMillis = installMillis
        self.importMillis = importMillis
        self.importMemoryBytes = importMemoryBytes
        self.estimated = estimated
    }
}

public enum PackageName {
    /// PEP 503 normalisation: lower case, and every run of `-`, `_`, `.` becomes one `-`.
    public static func canonical(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        var lastWasSep = false
        for ch in name.lowercased() {
            if ch == "-" || ch == "_" || ch == "." {
                if !lastWasSep { out.append("-") }
                lastWasSep = true
            } else {
                out.append(ch); lastWasSep = false
            }
        }
        return out
    }
}
