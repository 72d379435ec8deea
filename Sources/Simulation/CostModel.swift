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
    /// What a container forked from a zygote holds of its own before it imports anything, MB: the pages the
    /// child writes of what it shares with the zygote (copied on write, charged to the container's cgroup),
    /// its handler's code. A cold container holds an interpreter instead (`interpreterMemoryMB`). 0: not
    /// measured (files calibrated before it was).
    public var forkMemoryMB = 0.0
    /// What a forked container's cgroup is charged for a package's import over the package table's
    /// `import_memory_bytes` (the resident-set growth of a fresh interpreter importing it, which counts the
    /// package's files mapped from the page cache; a cgroup is charged for those only when it reads them
    /// first, and the worker's installs or an earlier container read them): calibrated by serving the
    /// costliest imports in containers forked from the root zygote, their memory less `forkMemoryMB` over
    /// the table's. The catalog scales every package's import memory by it, for containers and zygotes
    /// alike. 1: the table's figure as it is (files calibrated before it was measured).
    public var importMemoryScale = 1.0
    /// What a handler's holding its trace's `memory_mb` costs its init, ms per MB (the generated handlers
    /// write every page of that much memory when they load: page faults and zeroing). 0: not modeled (files
    /// calibrated before it was measured).
    public var memoryTouchMillisPerMB = 0.0
    /// Fixed cost of one package install beyond the package's own (the runtime starts pip in a sandbox per
    /// package); 0 charges the measured per-package cost alone.
    public var installOverheadMillis = 0.0
    /// A package's install as the worker runs it over the package table's `install_ms` (measured by `measure`
    /// with pip on the host, less pip's fixed cost): an install costs `installOverheadMillis` + this ×
    /// `install_ms`. 1: the table's figure as it is (files calibrated before it was fitted).
    public var installScale = 1.0
    /// Throughput of the local package mirror, MB/s; when > 0 a download costs `downloadOverheadMillis` +
    /// wheel bytes / throughput instead of the measured fetch from the index.
    public var mirrorMBPerSecond = 0.0
    /// With `mirrorMBPerSecond`: what the worker's fetch of one wheel costs beyond its bytes (finding it in
    /// the mirror, a staging folder, opening and closing the copy). 0: the bytes alone (files calibrated
    /// before it was measured).
    public var downloadOverheadMillis = 0.0
    /// Round trip of one request to a freshly started handler process beyond the handler's own execution.
    public var invokeOverheadMillis = 0.0
    /// The same for a process just thawed from the handler cache (its caches are cold: slower).
    public var thawedInvokeOverheadMillis = 0.0
    /// Loading a handler's module beyond its own init time.
    public var initOverheadMillis = 0.0
    /// Forking a zygote that has no standby child ready (`forkMillis` is a fork from one): the child joins
    /// its cgroup and makes its namespaces on the request's path (calibrated in a burst of starts: joins back
    /// to back). 0: standby children are not modeled (every fork is `forkMillis`).
    public var directForkMillis = 0.0
    /// The worker's maintenance thread's time to give a zygote one standby child (the zygote forks it and
    /// answers; the child then joins its cgroup and makes its namespaces by itself).
    public var standbyPrepMillis = 0.0
    /// From asking a zygote for a standby child until the child is in its cgroup with its namespaces made: a
    /// start that takes it sooner waits the rest.
    public var standbyReadyMillis = 0.0
    /// The maintenance thread's time to make one pooled cgroup (every controller, delegated), after each
    /// start that took one from the pool.
    public var cgroupCreateMillis = 0.0
    /// A zygote build beyond its installs and imports: the fork from its parent, joining its cgroup, its start
    /// as a zygote until its socket answers (calibrated files since `cgroupAttachWaitMillis`: less the wait of
    /// a join after a quiet spell, which the simulator adds when one is). 0: a build costs `forkMillis` beyond
    /// its imports (cost models calibrated before builds were measured).
    public var zygoteBuildMillis = 0.0
    /// What a process's joining a cgroup waits when no other process joined one lately: the kernel's
    /// cgroup-wide lock for moving processes waits for an RCU grace period on its first use after a quiet
    /// spell, none while joins keep coming (measured here: 7.8 ms with 100 ms between joins, 0.05-0.4 ms
    /// with 0-20 ms between). Charged, beyond the figures calibrated with joins coming back to back, to a fork
    /// with no standby child, a standby child's readiness and a zygote build whose join comes more than
    /// `cgroupAttachWindowMillis` after the last one. 0: not modeled (files calibrated before it was measured).
    public var cgroupAttachWaitMillis = 0.0
    /// How long after a cgroup join the next one is still cheap, ms (the largest gap between joins measured
    /// cheap).
    public var cgroupAttachWindowMillis = 0.0
    /// Core time per request beyond its own phases: the HTTP server and an in-process client (`compare`'s
    /// setup). The simulator runs it beside the requests from the request's end, sharing the cores
    /// (`Simulation.CPUModel.share`), or holds the request's core this long after it ends (`.hold`); never
    /// part of its latency.
    public var dispatchMillis = 0.0
    /// From a request's arrival at the worker (the server has read it) until its phases begin on a free core:
    /// the hand-off to a core's thread. Charged with the cores shared (`Simulation.CPUModel.share`); 0: none
    /// measured (files calibrated before it was).
    public var handoffMillis = 0.0
    /// With the cores shared (`Simulation.CPUModel.share`): the dispatch's weight against a request's 1 when
    /// more is runnable than there are cores (0...1; 1: an equal share). Calibrated as the weight with which
    /// the simulator's replay of served hits matches their measured latencies; 1 in files calibrated before.
    public var dispatchWeight = 1.0
    /// How many times longer a package's import takes with every other core busy starting requests than
    /// alone, beyond what sharing the cores explains (calibrated with as many starts at once as cores, so the
    /// sharing stretches nothing): the contention for the disk, the page cache and the kernel that the
    /// package table's figures, timed alone, lack. The simulator stretches an import by the share of it that
    /// its other cores are busy at its start. 1: none (files calibrated before it was measured).
    public var importContention = 1.0
    /// The same for a package's install.
    public var installContention = 1.0
    /// The share of the import overlap's saving (`ImportOverlap`: a package's standard-library modules another
    /// import already loaded) that imports of several packages together really save, 0...1: calibrated by
    /// timing sets of packages imported together against the sum of their own imports. 1: the overlap's
    /// figure as it is (files calibrated before it was measured).
    public var importOverlapCredit = 1.0
    /// How many times longer a set of packages takes to import in a request's container, forked from the
    /// root zygote, than in a fresh interpreter on the host (as `measure` times imports, which the package
    /// table's `import_ms` and the overlap are): calibrated by serving sets of the costliest imports from a
    /// worker in the same rounds as their fresh imports, the served over the fresh summed. The simulator
    /// stretches the imports of a request forked from a zygote by it. (In campaign AB, with the table
    /// re-measured with the collector paused, served imports took 1.18-1.37 × simulated, set by set.) 1: none
    /// (files calibrated before it was measured).
    public var servedImportScale = 1.0
    /// Where these figures came from, for headers.
    public var source = "defaults (reference machine)"
    /// Each timed primitive's measured spread, by file name (`thaw_ms`, ...): the simulator draws every
    /// request's cost of it from these quantiles (scaled to the modeled value) instead of charging the median.
    public var spreads: [String: CostSpread] = [:]
    /// Each timed primitive's spread while every one of `contentionCores` cores ran the same kind of start at
    /// once, by file name (rows `contended_NAME` in the file): a request that starts with a share of the
    /// simulator's other cores busy draws from it with that probability.
    public var contendedSpreads: [String: CostSpread] = [:]
    /// How many cores were busy for `contendedSpreads` (the calibrating machine's); 1: none measured.
    public var contentionCores = 1
    /// The worker's install of each package `calibrate` fitted the installs over (rows `installed_ms:NAME`),
    /// ms, the median of 3: what `compare` times again around its real run, since installs drift with the
    /// machine's speed (campaign Q: installs simulated at 0.49-0.72 of real an hour after the calibration).
    /// A package here is charged this instead of the fitted line (`CostModel`). Empty in files calibrated
    /// before they were kept.
    public var installedMillis: [String: Double] = [:]
    /// The row prefix of `installedMillis`.
    public static let installedPrefix = "installed_ms:"
    /// Each package `calibrate` timed the import of again on this machine (rows `imported_ms:NAME`), as
    /// `measure` times it, ms (the median of its rounds): charged instead of the package table's `import_ms`
    /// (`CostModel`). The table is measured once, on some machine on some day; its costliest imports drift
    /// apart from the rest: in campaign Y, handlers' imports without scikit-learn, matplotlib, pandas or numpy
    /// were simulated right (real over simulated 1.00, 82 requests) and those where they weigh 30% or more
    /// 1.22-1.27 short, and timed again those four took 1.14-1.40 × the table while fastapi, sqlalchemy and
    /// redis took 0.86-1.00. (At campaign Z's calibrations they took 0.85-0.95 × the table like the rest, and the
    /// served imports they weigh in were still 1.04-1.21 short: the table's drift is not the whole gap.) Empty in
    /// files calibrated before they were kept.
    public var importedMillis: [String: Double] = [:]
    /// The row prefix of `importedMillis`.
    public static let importedPrefix = "imported_ms:"

    public init() {}

    public static let columns = ["primitive", "value", "unit"] + CostSpread.columns

    /// The timed primitives the simulator draws per request from their spreads: each one's name in the file
    /// and its value here.
    public enum Timed: Int, CaseIterable, Sendable {
        case thaw, thawedInvoke, create, interpreterStart, fork, invoke, initOverhead
        case directFork, standbyPrep, standbyReady, cgroupCreate, zygoteBuild, handoff
        public var name: String {
            switch self {
            case .thaw: return "thaw_ms"
            case .thawedInvoke: return "thawed_invoke_overhead_ms"
            case .create: return "container_create_ms"
            case .interpreterStart: return "interpreter_start_ms"
            case .fork: return "fork_ms"
            case .invoke: return "invoke_overhead_ms"
            case .initOverhead: return "init_overhead_ms"
            case .directFork: return "direct_fork_ms"
            case .standbyPrep: return "standby_prep_ms"
            case .standbyReady: return "standby_ready_ms"
            case .cgroupCreate: return "cgroup_create_ms"
            case .zygoteBuild: return "zygote_build_ms"
            case .handoff: return "handoff_ms"
            }
        }
        public var keyPath: WritableKeyPath<RuntimeCosts, Double> {
            switch self {
            case .thaw: return \.thawMillis
            case .thawedInvoke: return \.thawedInvokeOverheadMillis
            case .create: return \.containerCreateMillis
            case .interpreterStart: return \.interpreterStartMillis
            case .fork: return \.forkMillis
            case .invoke: return \.invokeOverheadMillis
            case .initOverhead: return \.initOverheadMillis
            case .directFork: return \.directForkMillis
            case .standbyPrep: return \.standbyPrepMillis
            case .standbyReady: return \.standbyReadyMillis
            case .cgroupCreate: return \.cgroupCreateMillis
            case .zygoteBuild: return \.zygoteBuildMillis
            case .handoff: return \.handoffMillis
            }
        }
    }

    /// (name, value, unit) for every primitive, in file order.
    public var rows: [(String, Double, String)] {
        [("interpreter_start_ms", interpreterStartMillis, "ms"), ("container_create_ms", containerCreateMillis, "ms"),
         ("fork_ms", forkMillis, "ms"), ("fork_per_gb_ms", forkPerGBMillis, "ms/GB"), ("freeze_ms", freezeMillis, "ms"), ("thaw_ms", thawMillis, "ms"),
         ("interpreter_memory_mb", interpreterMemoryMB, "MB"), ("container_memory_mb", containerMemoryMB, "MB"),
         ("fork_memory_mb", forkMemoryMB, "MB"), ("import_memory_scale", importMemoryScale, "x"),
         ("memory_touch_ms_per_mb", memoryTouchMillisPerMB, "ms/MB"),
         ("install_overhead_ms", installOverheadMillis, "ms"), ("install_scale", installScale, "x"), ("mirror_mb_per_s", mirrorMBPerSecond, "MB/s"),
         ("download_overhead_ms", downloadOverheadMillis, "ms"), ("invoke_overhead_ms", invokeOverheadMillis, "ms"), ("thawed_invoke_overhead_ms", thawedInvokeOverheadMillis, "ms"),
         ("init_overhead_ms", initOverheadMillis, "ms"), ("dispatch_ms", dispatchMillis, "ms"),
         ("direct_fork_ms", directForkMillis, "ms"), ("standby_prep_ms", standbyPrepMillis, "ms"),
         ("standby_ready_ms", standbyReadyMillis, "ms"), ("cgroup_create_ms", cgroupCreateMillis, "ms"),
         ("zygote_build_ms", zygoteBuildMillis, "ms"), ("cgroup_attach_wait_ms", cgroupAttachWaitMillis, "ms"),
         ("cgroup_attach_window_ms", cgroupAttachWindowMillis, "ms"), ("handoff_ms", handoffMillis, "ms"),
         ("dispatch_weight", dispatchWeight, "share"), ("import_contention", importContention, "x"),
         ("install_contention", installContention, "x"), ("import_overlap_credit", importOverlapCredit, "share"),
         ("served_import_scale", servedImportScale, "x")]
    }

    /// Writes the primitives atomically, with `comments` first: each row's value (the median alone) and its
    /// spread's quantiles (empty where not measured), then each contended spread as row `contended_NAME` and
    /// how many cores were busy for those (`contention_cores`).
    /// `exact`: every figure as the shortest text that reads back as the same double (the real side a compare
    /// keeps), instead of 4 decimals.
    public func write(path: String, comments: [String], exact: Bool = false) throws {
        let out = try OutputFile(path: path)
        for c in comments { out.write("# \(c)\n") }
        out.write(RuntimeCosts.columns.joined(separator: ",") + "\n")
        func f(_ x: Double) -> String { exact ? "\(x)" : String(format: "%.4f", x) }
        func quantiles(_ s: CostSpread?) -> [String] {
            s.map { s in s.quantiles.enumerated().filter { $0.offset != CostSpread.medianIndex }.map { f($0.element) } }
                ?? Array(repeating: "", count: CostSpread.columns.count)
        }
        for (n, v, u) in rows { out.write(([n, f(v), u] + quantiles(spreads[n])).joined(separator: ",") + "\n") }
        for (n, _, u) in rows { if let s = contendedSpreads[n] { out.write((["contended_" + n, f(s.median), u] + quantiles(s)).joined(separator: ",") + "\n") } }
        for (prefix, byName) in [(RuntimeCosts.installedPrefix, installedMillis), (RuntimeCosts.importedPrefix, importedMillis)] {
            for (n, v) in byName.sorted(by: { $0.key < $1.key }) {
                out.write([prefix + n, f(v), "ms"].joined(separator: ",") + String(repeating: ",", count: CostSpread.columns.count) + "\n")
            }
        }
        out.write("contention_cores,\(contentionCores),cores" + String(repeating: ",", count: CostSpread.columns.count) + "\n")
        try out.commit()
    }

    /// Reads `primitive,value,unit` rows, with the optional spread columns, `contended_NAME`,
    /// `installed_ms:PACKAGE` and `imported_ms:PACKAGE` rows (unknown primitives are an error naming the known ones; quantiles must not
    /// decrease).
    public static func read(path: String) throws -> RuntimeCosts {
        let csv = try CSVReader(path: path)
        let p = try csv.column("primitive"), v = try csv.column("value")
        // A file written before the p95 level (no `p95` column) reads as it was drawn then: its p95 the straight
        // line between its p90 and p99.
        let written = CostSpread.columns.allSatisfy(csv.hasColumn) ? CostSpread.columns
            : CostSpread.columnsBeforeP95.allSatisfy(csv.hasColumn) ? CostSpread.columnsBeforeP95 : nil
        let spreadColumns = try written?.map(csv.column)
        var c = RuntimeCosts()
        c.source = path
        let setters: [String: WritableKeyPath<RuntimeCosts, Double>] = [
            "interpreter_start_ms": \.interpreterStartMillis, "container_create_ms": \.containerCreateMillis,
            "fork_ms": \.forkMillis, "fork_per_gb_ms": \.forkPerGBMillis, "freeze_ms": \.freezeMillis, "thaw_ms": \.thawMillis,
            "interpreter_memory_mb": \.interpreterMemoryMB, "container_memory_mb": \.containerMemoryMB,
            "fork_memory_mb": \.forkMemoryMB, "import_memory_scale": \.importMemoryScale, "memory_touch_ms_per_mb": \.memoryTouchMillisPerMB,
            "install_overhead_ms": \.installOverheadMillis, "install_scale": \.installScale, "mirror_mb_per_s": \.mirrorMBPerSecond, "download_overhead_ms": \.downloadOverheadMillis,
            "invoke_overhead_ms": \.invokeOverheadMillis, "init_overhead_ms": \.initOverheadMillis,
            "thawed_invoke_overhead_ms": \.thawedInvokeOverheadMillis, "dispatch_ms": \.dispatchMillis,
            "direct_fork_ms": \.directForkMillis, "standby_prep_ms": \.standbyPrepMillis,
            "standby_ready_ms": \.standbyReadyMillis, "cgroup_create_ms": \.cgroupCreateMillis,
            "zygote_build_ms": \.zygoteBuildMillis, "cgroup_attach_wait_ms": \.cgroupAttachWaitMillis,
            "cgroup_attach_window_ms": \.cgroupAttachWindowMillis, "handoff_ms": \.handoffMillis, "dispatch_weight": \.dispatchWeight,
            "import_contention": \.importContention, "install_contention": \.installContention,
            "import_overlap_credit": \.importOverlapCredit, "served_import_scale": \.servedImportScale]
        while let f = try csv.next() {
            let name = f[p].trimmingCharacters(in: .whitespaces)
            if name == "contention_cores" {
                c.contentionCores = Int(try csv.double(f, v, name: "value", min: 1, max: 1e6))
                continue
            }
            for (prefix, kp) in [(installedPrefix, \RuntimeCosts.installedMillis), (importedPrefix, \RuntimeCosts.importedMillis)] where name.hasPrefix(prefix) {
                let package = String(name.dropFirst(prefix.count))
                guard !package.isEmpty else { throw csv.error("'\(name)': expected a package's name after '\(prefix)'") }
                c[keyPath: kp][package] = try csv.double(f, v, name: "value", min: 0, max: 1e9)
            }
            if name.hasPrefix(installedPrefix) || name.hasPrefix(importedPrefix) { continue }
            let contended = name.hasPrefix("contended_")
            let base = contended ? String(name.dropFirst("contended_".count)) : name
            guard let kp = setters[base] else {
                throw csv.error("unknown primitive '\(name)'; known: \((setters.keys.sorted() + ["contended_NAME", "contention_cores", installedPrefix + "PACKAGE", importedPrefix + "PACKAGE"]).joined(separator: ", "))")
            }
            let value = base == "dispatch_weight" || base == "import_overlap_credit" ? try csv.double(f, v, name: "value", min: 0, max: 1)
                : base == "install_scale" ? try csv.double(f, v, name: "value", min: 0, max: 100)
                : base == "served_import_scale" || base == "import_memory_scale" ? try csv.double(f, v, name: "value", min: 0.01, max: 100)
                : base.hasSuffix("_contention") ? try csv.double(f, v, name: "value", min: 1, max: 100) : try csv.double(f, v, name: "value")
            if !contended { c[keyPath: kp] = value }
            var spread: CostSpread? = nil
            if let cols = spreadColumns, !cols.allSatisfy({ f[$0].trimmingCharacters(in: .whitespaces).isEmpty }) {
                var q = try zip(cols, written!).map { try csv.double(f, $0, name: $1) }
                q.insert(value, at: CostSpread.medianIndex)
                if written! == CostSpread.columnsBeforeP95 { q = CostSpread.withP95(beforeP95: q) }
                guard zip(q, q.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                    throw csv.error("the quantiles of '\(name)' must not decrease from min through value (the median) to max")
                }
                spread = CostSpread(quantiles: q)
            }
            if contended {
                guard let s = spread else { throw csv.error("'\(name)' needs its quantiles (\(CostSpread.columns.joined(separator: ", ")))") }
                c.contendedSpreads[base] = s
            } else if let s = spread {
                c.spreads[name] = s
            }
        }
        return c
    }
}

/// A primitive's measured spread: its quantiles at `levels` (in the primitive's unit), from which the
/// simulator draws a request's cost by linear interpolation of the inverse distribution function.
public struct CostSpread: Equatable, Sendable {
    /// The p95 between the p90 and the p99: latencies' spreads are skewed there (the hand-off to a core measured
    /// p90 0.167 ms, p99 2.2; drawn on a straight line between them, a twentieth of the simulated hand-offs came
    /// out above 1.3 ms, where the real runs' own were above 0.26, and micro-pyyaml's handler p99 +34%).
    public static let levels: [Double] = [0, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1]
    /// The file's columns for every level but the median (which is the row's value).
    public static let columns = ["min", "p10", "p25", "p75", "p90", "p95", "p99", "max"]
    /// The columns of files written before the p95 level (read with it on the line between p90 and p99).
    public static let columnsBeforeP95 = ["min", "p10", "p25", "p75", "p90", "p99", "max"]
    public static let medianIndex = 3
    public let quantiles: [Double]

    public init(quantiles: [Double]) {
        precondition(quantiles.count == CostSpread.levels.count)
        self.quantiles = quantiles
    }

    /// The quantiles of `samples` at `levels`, by the project's one quantile definition (`Summary`).
    public init(samples: [Double]) {
        precondition(!samples.isEmpty)
        let s = Summary(samples)
        quantiles = CostSpread.levels.map(s.quantile)
    }

    /// Quantiles at the levels without the p95 (min, p10, p25, median, p75, p90, p99, max) with the p95 put
    /// on the straight line from the p90 to the p99: what they were drawn from before the p95 level.
    public static func withP95(beforeP95 q: [Double]) -> [Double] {
        let (l90, l95, l99) = (levels[5], levels[6], levels[7])
        var out = q
        out.insert(q[5] + (q[6] - q[5]) * (l95 - l90) / (l99 - l90), at: 6)
        return out
    }

    public var median: Double { quantiles[CostSpread.medianIndex] }
    public var p90: Double { quantile(atLevel: 0.90) }
    public var p99: Double { quantile(atLevel: 0.99) }

    /// The quantile at `level`, one of `levels`.
    public func quantile(atLevel level: Double) -> Double {
        guard let i = CostSpread.levels.firstIndex(of: level) else { preconditionFailure("\(level) is not one of CostSpread.levels") }
        return quantiles[i]
    }

    /// Every quantile times `factor` (a spread of raw samples put on the footing of a fitted value).
    public func scaled(by factor: Double) -> CostSpread { CostSpread(quantiles: quantiles.map { $0 * factor }) }

    /// The value at probability `u` in [0, 1): the inverse distribution function, linear between levels.
    @inline(__always) public func value(at u: Double) -> Double {
        let levels = CostSpread.levels
        var i = 0
        while i < levels.count - 2 && u >= levels[i + 1] { i += 1 }
        let w = (u - levels[i]) / (levels[i + 1] - levels[i])
        return quantiles[i] + (quantiles[i + 1] - quantiles[i]) * w
    }

    /// The value at probability `u` divided by the median: what a modeled cost is multiplied by (1 when the
    /// median is 0).
    @inline(__always) public func ratio(at u: Double) -> Double {
        let m = quantiles[CostSpread.medianIndex]
        return m > 0 ? value(at: u) / m : 1
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
    /// Which standard-library modules each package's import loads (nil: every import charged in full).
    public var overlap: ImportOverlap?
    /// What every package's measured import cost was multiplied by (1: as measured): how much slower this
    /// machine imports now than when the table was measured (`compare`'s import speed probe).
    public let importScale: Double

    /// Builds the model for `handlers`: measured packages from `table`; every other package a handler needs
    /// gets the costs of a measured package drawn uniformly (bootstrap from the measured distribution), from
    /// substream `estimates:NAME` of `seed`, so each package's estimate is independent of the others. Every
    /// import cost is multiplied by `importScale`.
    public init(table: PackageTable, handlers: HandlerTable, runtime: RuntimeCosts = RuntimeCosts(),
                noiseSigma: Double = 0, overlap: ImportOverlap? = nil, importScale: Double = 1, seed: UInt64) throws {
        precondition(importScale > 0 && importScale.isFinite)
        self.runtime = runtime
        self.importScale = importScale
        self.noiseSigma = noiseSigma
        self.overlap = overlap
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
            if runtime.mirrorMBPerSecond > 0 {
                p.downloadMillis = runtime.downloadOverheadMillis + Double(p.wheelBytes) / (runtime.mirrorMBPerSecond * Double(Bytes.perMB)) * 1000
            }
            // A package calibrate installed: what it took then (the line misses single packages by up to
            // 30%: the table's install_ms was measured at another time); any other: the fitted line.
            if let m = runtime.installedMillis[n], !p.estimated { p.installMillis = m }
            else { p.installMillis = p.installMillis * runtime.installScale + runtime.installOverheadMillis }
            // A package calibrate imported again: what it took then (the table's figure drifts per package).
            if let m = runtime.importedMillis[n], !p.estimated { p.importMillis = m }
            p.importMillis *= importScale
            p.importMemoryBytes = Int64((Double(p.importMemoryBytes) * runtime.importMemoryScale).rounded())
            pk[n] = p
        }
        packages = pk
        estimated = est
    }

    /// The planner's view of these costs.
    public func catalog(handlers: HandlerTable) -> Catalog {
        Catalog(packages: Array(packages.values), handlers: handlers,
                interpreterMemoryBytes: Bytes.fromMB(runtime.interpreterMemoryMB),
                containerMemoryBytes: Bytes.fromMB(runtime.containerMemoryMB), forkMemoryBytes: Bytes.fromMB(runtime.forkMemoryMB),
                interpreterStartNanos: Nanos.fromMillis(runtime.interpreterStartMillis), overlap: overlap)
    }
}

public struct CostModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
