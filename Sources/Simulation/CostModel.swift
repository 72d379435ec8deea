import CachePolicy
import Foundation
import Statistics
import Workload

/// Costs of the runtime's own primitives, ms (and MB for memory). Defaults are the figures measured on the
/// reference machine (see the project brief); `pipsqueak calibrate` replaces them with this machine's.
public struct RuntimeCosts: Equatable, Sendable {
    /// Starting a fresh interpreter (`python -S`), for cold starts.
    public var interpreterStartMillis = 9.0
    /// Creating a container: cgroup, namespaces, mounts.
    public var containerCreateMillis = 2.0
    /// Forking a zygote and moving the child into its container (namespaces, cgroups, chroot).
    public var forkMillis = 3.3
    /// What forking costs more per GB of the zygote's memory (page tables to copy).
    public var forkPerGBMillis = 0.0
    public var freezeMillis = 0.13
    public var thawMillis = 0.13
    public var interpreterMemoryMB = 10.0
    public var containerMemoryMB = 0.5
    /// Fixed cost of one package install beyond the package's own (the runtime starts pip in a sandbox per
    /// package); 0 charges the measured per-package cost alone.
    public var installOverheadMillis = 0.0
    /// Throughput of the local package mirror, MB/s; when > 0 a download costs wheel bytes / throughput
    /// instead of the measured fetch from the index.
    public var mirrorMBPerSecond = 0.0
    /// Round trip of one request to a freshly started handler process beyond the handler's own execution.
    public var invokeOverheadMillis = 0.0
    /// The same for a process just thawed from the handler cache (its caches are cold: slower).
    public var thawedInvokeOverheadMillis = 0.0
    /// Loading a handler's module beyond its own init time.
    public var initOverheadMillis = 0.0
    /// Where these figures came from, for headers.
    public var source = "defaults (reference machine)"

    public init() {}

    public static let columns = ["primitive", "value", "unit"]

    /// (name, value, unit) for every primitive, in file order.
    public var rows: [(String, Double, String)] {
        [("interpreter_start_ms", interpreterStartMillis, "ms"), ("container_create_ms", containerCreateMillis, "ms"),
         ("fork_ms", forkMillis, "ms"), ("fork_per_gb_ms", forkPerGBMillis, "ms/GB"), ("freeze_ms", freezeMillis, "ms"), ("thaw_ms", thawMillis, "ms"),
         ("interpreter_memory_mb", interpreterMemoryMB, "MB"), ("container_memory_mb", containerMemoryMB, "MB"),
         ("install_overhead_ms", installOverheadMillis, "ms"), ("mirror_mb_per_s", mirrorMBPerSecond, "MB/s"),
         ("invoke_overhead_ms", invokeOverheadMillis, "ms"), ("thawed_invoke_overhead_ms", thawedInvokeOverheadMillis, "ms"),
         ("init_overhead_ms", initOverheadMillis, "ms")]
    }

    /// Writes the primitives atomically, with `comments` first.
    public func write(path: String, comments: [String]) throws {
        let out = try OutputFile(path: path)
        for c in comments { out.write("# \(c)\n") }
        out.write("primitive,value,unit\n")
        for (n, v, u) in rows { out.write("\(n),\(String(format: "%.4f", v)),\(u)\n") }
        try out.commit()
    }

    /// Reads `primitive,value,unit` rows (unknown primitives are an error naming the known ones).
    public static func read(path: String) throws -> RuntimeCosts {
        let csv = try CSVReader(path: path)
        let p = try csv.column("primitive"), v = try csv.column("value")
        var c = RuntimeCosts()
        c.source = path
        let setters: [String: WritableKeyPath<RuntimeCosts, Double>] = [
            "interpreter_start_ms": \.interpreterStartMillis, "container_create_ms": \.containerCreateMillis,
            "fork_ms": \.forkMillis, "fork_per_gb_ms": \.forkPerGBMillis, "freeze_ms": \.freezeMillis, "thaw_ms": \.thawMillis,
            "interpreter_memory_mb": \.interpreterMemoryMB, "container_memory_mb": \.containerMemoryMB,
            "install_overhead_ms": \.installOverheadMillis, "mirror_mb_per_s": \.mirrorMBPerSecond,
            "invoke_overhead_ms": \.invokeOverheadMillis, "init_overhead_ms": \.initOverheadMillis,
            "thawed_invoke_overhead_ms": \.thawedInvokeOverheadMillis]
        while let f = try csv.next() {
            let name = f[p].trimmingCharacters(in: .whitespaces)
            guard let kp = setters[name] else {
                throw csv.error("unknown primitive '\(name)'; known: \(setters.keys.sorted().joined(separator: ", "))")
            }
            c[keyPath: kp] = try csv.double(f, v, name: "value")
        }
        return c
    }
}

/// Everything the simulator charges: package costs (measured, or estimated for packages without a
/// measurement), runtime primitives, and optional lognormal noise.
public struct CostModel: Sendable {
    public var runtime: RuntimeCosts
    /// Every package a handler of the trace needs, by canonical name.
    public private(set) var packages: [String: Package]
    /// Names whose costs were drawn from the measured distribution.
    public private(set) var estimated: Set<String>
    /// Lognormal sigma of multiplicative noise on every phase (0: deterministic costs).
    public var noiseSigma: Double

    /// Builds the model for `handlers`: measured packages from `table`; every other package a handler needs
    /// gets the costs of a measured package drawn uniformly (bootstrap from the measured distribution), from
    /// substream `estimates:NAME` of `seed`, so each package's estimate is independent of the others.
    public init(table: PackageTable, handlers: HandlerTable, runtime: RuntimeCosts = RuntimeCosts(),
                noiseSigma: Double = 0, seed: UInt64) throws {
        self.runtime = runtime
        self.noiseSigma = noiseSigma
        var pk: [String: Package] = [:]
        var needed = Set<String>()
        for h in handlers.handlers { needed.formUnion(h.packages) }
        var frontier = Array(needed)
        while let n = frontier.popLast() {
            guard let p = table[n], pk[n] == nil else { continue }
            pk[n] = p
            for d in p.transitiveDependencies + p.dependencies where pk[d] == nil { frontier.append(d) }
        }
        let measured = table.names.compactMap { table[$0] }
        var est = Set<String>()
        let root = RandomSource(seed: seed)
        for n in needed.sorted() where pk[n] == nil {
            guard !measured.isEmpty else {
                throw CostModelError("package '\(n)' has no measured costs and the cost table is empty")
            }
            let pick = measured[root.substream("estimates:" + n).uniformInt(measured.count)]
            pk[n] = Package(name: n, version: "", dependencies: [], transitiveDependencies: [], topLevelModules: [],
                            wheelBytes: pick.wheelBytes, installedBytes: pick.installedBytes,
                            downloadMillis: pick.downloadMillis, installMillis: pick.installMillis,
                            importMillis: pick.importMillis, importMemoryBytes: pick.importMemoryBytes, estimated: true)
            est.insert(n)
        }
        for (n, var p) in pk {
            if runtime.mirrorMBPerSecond > 0 { p.downloadMillis = Double(p.wheelBytes) / (runtime.mirrorMBPerSecond * Double(Bytes.perMB)) * 1000 }
            p.installMillis += runtime.installOverheadMillis
            pk[n] = p
        }
        packages = pk
        estimated = est
    }

    /// The planner's view of these costs.
    public func catalog(handlers: HandlerTable) -> Catalog {
        Catalog(packages: Array(packages.values), handlers: handlers,
                interpreterMemoryBytes: Bytes.fromMB(runtime.interpreterMemoryMB),
                containerMemoryBytes: Bytes.fromMB(runtime.containerMemoryMB),
                interpreterStartNanos: Nanos.fromMillis(runtime.interpreterStartMillis))
    }
}

public struct CostModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
