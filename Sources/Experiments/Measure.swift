import Foundation
import Runtime
import Statistics
import Workload

/// What `pipsqueak measure` measures and where it keeps things.
public struct MeasureOptions: Sendable {
    /// Distributions to measure; empty means the `top` most imported ones in import-frequency.csv.
    public var distributions: [String] = []
    public var top = 40
    /// Import repetitions (each in a fresh interpreter); the median is kept with the spread.
    public var repeats = 5
    /// The local package mirror: wheels are fetched into it, and only it is used when `offline`.
    public var wheelhouse: String
    /// One directory per name-version is installed under `cache/packages` (the install cache's layout).
    public var cache: String
    public var offline = false
    /// Ignore results of an earlier, interrupted run.
    public var fresh = false
    public var output: String = ProjectPaths.packages
    public var importFrequency: String = ProjectPaths.importFrequency

    public init(wheelhouse: String? = nil, cache: String? = nil) {
        let c = cache ?? MeasureOptions.defaultCache
        self.cache = c
        self.wheelhouse = wheelhouse ?? c + "/wheelhouse"
    }

    public static var defaultCache: String {
        if let c = ProcessInfo.processInfo.environment["PIPSQUEAK_CACHE"] { return c }
        if let x = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] { return x + "/pipsqueak" }
        return NSHomeDirectory() + "/.cache/pipsqueak"
    }
}

/// One package's raw measurements, kept per package so an interrupted run resumes where it stopped.
struct MeasuredPackage: Codable, Sendable {
    var name: String
    var version: String
    var requires: [String]
    var wheelBytes: Int64 = 0
    var downloadMillis: Double = 0
    var installMillisRaw: Double = 0
    var installedBytes: Int64 = 0
    var topLevel: [String] = []
    var importMillis: [Double] = []
    var importMemoryBytes: [Int64] = []
    var importFailures: [String] = []
    var failure: String?
}

/// Measures, on this machine, what each package costs to download, install and import (see
/// `MeasureOptions`), writing `traces/packages.csv` atomically after every package.
public final class PackageMeasurer {
    let options: MeasureOptions
    let python: PythonInterpreter
    let helper: String
    let env: [String: String]
    let log: (String) -> Void
    let stateDir: String
    let startNanos = DispatchTime.now().uptimeNanoseconds

    /// Interpreter start with and without `site`, and pip's fixed cost, medians in ms (filled by `run`).
    public private(set) var interpreterStartMillis = 0.0
    public private(set) var interpreterStartNoSiteMillis = 0.0
    public private(set) var pipOverheadMillis = 0.0
    /// The import speed probe's runs (`ImportSpeedProbe`), before the imports are measured and after.
    public private(set) var probeMillis: [Double] = []
    var probeDone = false
    /// Some imports of the table come from an earlier, interrupted run (measured at another speed).
    var resumedImports = false

    let speedProbe: ImportSpeedProbe

    /// Runs the import speed probe (before the imports are measured, and again after) and logs it.
    func probe(_ when: String) throws {
        let runs = try speedProbe.measure()
        probeMillis += runs
        log(String(format: "import speed probe %@: %.1f ms (median of %d)", when, Summary(runs).p50, runs.count))
    }

    /// The header line recording the probe (nil before it ran, or when the table has rows whose imports were
    /// measured at another time: their speed is not known).
    func probeLine(coversTable: Bool) -> String? {
        probeMillis.isEmpty || !coversTable ? nil : ImportSpeedProbe.headerLine(probeMillis, when: probeDone ? "before and after the imports were measured" : "before the imports were measured")
    }

    /// A measurer with this machine's Python (resolved once, past any pyenv shim).
    public convenience init(options: MeasureOptions, log: @escaping (String) -> Void) throws {
        try self.init(options: options, python: try PythonInterpreter.resolve(), log: log)
    }

    public init(options: MeasureOptions, python: PythonInterpreter, log: @escaping (String) -> Void) throws {
        self.options = options
        self.python = python
        self.log = log
        helper = try MeasureHelper.path()
        speedProbe = try ImportSpeedProbe(python: python)
        env = PythonInterpreter.cleanEnvironment()
        stateDir = options.cache + "/measure-state"
        for d in [options.wheelhouse, options.cache + "/packages", stateDir] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        if options.fresh { for f in (try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? [] {
            try? FileManager.default.removeItem(atPath: stateDir + "/" + f)
        } }
    }

    /// Runs the interpreter with `args` in the measurer's environment (with HOME `home` when given).
    func py(_ args: [String], timeout: Double = 900, home: String? = nil) throws -> ChildProcess.Result {
        var e = env
        if let home { e["HOME"] = home }
        return try ChildProcess.run(python.executable, args, environment: e, timeoutSeconds: timeout)
    }

    /// Runs the helper with `args` in an empty HOME of its own, removed after: imports are timed as a request's
    /// container pays them, whose HOME is its own fresh /tmp. A package that keeps a cache under HOME builds
    /// it at every such import: matplotlib's font list took 117 ms of its 493 (pylab, fresh) against 376 with
    /// the host's cache warm, the one package of the table that writes under HOME as it imports (2026-12-05).
    func pyInFreshHome(_ args: [String], timeout: Double) throws -> ChildProcess.Result {
        let home = stateDir + "/home-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        return try py(args, timeout: timeout, home: home)
    }

    func pip(_ args: [String], timeout: Double = 900) throws -> ChildProcess.Result {
        try py(["-m", "pip"] + args + ["--disable-pip-version-check", "--root-user-action=ignore"], timeout: timeout)
    }

    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - startNanos) / 1e9 }

    var stageStart = 0.0
    func progress(_ i: Int, _ n: Int, _ what: String) {
        if i == 0 { stageStart = elapsed }
        let stage = elapsed - stageStart
        let eta = i > 0 ? String(format: ", about %.0f s left in this stage", stage / Double(i) * Double(n - i)) : ""
        log(String(format: "[%d/%d] %@ (%.0f s elapsed%@)", i + 1, n, what, elapsed, eta))
    }

    // MARK: The run

    /// Measures everything and returns the table (also written to `options.output`).
    public func run() throws -> PackageTable {
        log("python: \(python.executable) (\(python.version))")
        try measureInterpreterStart()
        try measurePipOverhead()
        let (order, failedRoots) = try resolveAll()
        var table = PackageTable()
        for (name, why) in failedRoots { table.recordFailure(name: name, reason: why) }
        var measured: [String: MeasuredPackage] = [:]
        for (i, pkg) in order.enumerated() {
            if let done = loadState(pkg), done.importMillis.count >= options.repeats || done.failure != nil {
                measured[pkg.name] = done
                if done.failure == nil { resumedImports = true }
                progress(i, order.count, "\(pkg.name) \(pkg.version): done in an earlier run")
                continue
            }
            var m = pkg
            progress(i, order.count, "\(pkg.name) \(pkg.version): download, install")
            do { try fetchAndInstall(&m) } catch { m.failure = "\(error)" }
            measured[m.name] = m
            saveState(m)
        }
        // Imports once every package is installed: a package's dependencies are imported first.
        try probe("before the imports")
        for (i, name) in order.map(\.name).enumerated() {
            guard var m = measured[name], m.failure == nil else { continue }
            if m.importMillis.count < options.repeats {
                progress(i, order.count, "\(name): import ×\(options.repeats)")
                do { try measureImport(&m, all: measured) } catch { m.failure = "\(error)" }
                measured[name] = m
                saveState(m)
            }
            table = makeTable(order: order, measured: measured, failedRoots: failedRoots)
            try writeTable(table) // after each package: an interrupted run keeps what it measured
        }
        try probe("after the imports")
        probeDone = true
        table = makeTable(order: order, measured: measured, failedRoots: failedRoots)
        return try writeTable(table)
    }

    func measureInterpreterStart() throws {
        var site: [Double] = [], nosite: [Double] = []
        for _ in 0..<max(5, options.repeats) {
            site.append(Nanos.millis(try py(["-c", "pass"]).elapsedNanos))
            nosite.append(Nanos.millis(try py(["-S", "-c", "pass"]).elapsedNanos))
        }
        interpreterStartMillis = Summary(site).p50
        interpreterStartNoSiteMillis = Summary(nosite).p50
        log(String(format: "interpreter start: %.1f ms with site, %.1f ms with -S", interpreterStartMillis, interpreterStartNoSiteMillis))
    }

    func measurePipOverhead() throws {
        let work = options.cache + "/noop"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work + "/src", withIntermediateDirectories: true)
        try "".write(toFile: work + "/src/pipsqueak_noop.py", atomically: true, encoding: .utf8)
        let mk = try py([helper, "makewheel", work, "pipsqueak-noop", "0.0.0", "", work + "/src"])
        guard mk.succeeded else { throw RuntimeError.python("cannot build the no-op wheel: \(mk.lastErrorLine)") }
        let wheel = mk.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var times: [Double] = []
        for k in 0..<max(3, options.repeats) {
            let r = try pip(["install", "--no-deps", "--no-index", "--quiet", "--target", work + "/t\(k)", wheel])
            guard r.succeeded else { throw RuntimeError.python("pip cannot install a no-op wheel: \(r.lastErrorLine)") }
            times.append(Nanos.millis(r.elapsedNanos))
        }
        pipOverheadMillis = Summary(times).p50
        try? FileManager.default.removeItem(atPath: work)
        log(String(format: "pip fixed overhead (no-op wheel install): %.0f ms", pipOverheadMillis))
    }

    /// Resolves each root with pip's resolver (wheels only), in popularity order until `top` roots resolve.
    /// Returns the packages in discovery order (one version per name: the first resolved) and the roots
    /// that failed with why.
    func resolveAll() throws -> ([MeasuredPackage], [(String, String)]) {
        var roots = options.distributions.map(PackageName.canonical)
        let explicit = !roots.isEmpty
        if !explicit {
            roots = try ImportFrequency.read(path: options.importFrequency).distributionsByPopularity.map(\.name)
        }
        var order: [MeasuredPackage] = [], seen = Set<String>(), failed: [(String, String)] = []
        var ok = 0
        for root in roots {
            if !explicit && ok >= options.top { break }
            if seen.contains(root) { ok += 1; continue }
            log("resolving \(root) (\(ok) of \(explicit ? roots.count : options.top) resolved)")
            let report = stateDir + "/report-\(root).json", summary = stateDir + "/resolve-\(root).txt"
            var lines: String
            if let cached = try? String(contentsOfFile: summary, encoding: .utf8), !options.fresh {
                lines = cached
            } else {
                var args = ["install", "--dry-run", "--ignore-installed", "--only-binary=:all:", "--quiet", "--report", report]
                if options.offline { args += ["--no-index", "--find-links", options.wheelhouse] }
                let r = try pip(args + [root], timeout: 600)
                guard r.succeeded else { failed.append((root, "no wheel resolves: \(r.lastErrorLine)")); continue }
                let s = try py([helper, "resolve", summary, report])
                guard s.succeeded else { failed.append((root, "cannot read pip's report: \(s.lastErrorLine)")); continue }
                lines = try String(contentsOfFile: summary, encoding: .utf8)
            }
            ok += 1
            for line in lines.split(separator: "\n") {
                let f = line.split(separator: " ").map(String.init)
                guard f.count == 5, !seen.contains(f[0]) else { continue }
                seen.insert(f[0])
                var m = MeasuredPackage(name: f[0], version: f[1], requires: f[4] == "-" ? [] : f[4].split(separator: ",").map(String.init))
                m.failure = nil
                urls[f[0]] = f[2]
                order.append(m)
            }
        }
        return (order, failed)
    }
    private var urls: [String: String] = [:]

    func installDir(_ m: MeasuredPackage) -> String { installDir(name: m.name, version: m.version) }

    func fetchAndInstall(_ m: inout MeasuredPackage) throws {
        // Download: time the fetch of the one wheel, no dependencies.
        let url = urls[m.name] ?? "-"
        let fileName = url == "-" ? "" : String(url.split(separator: "/").last!.split(separator: "#").first!)
        var wheelPath = options.wheelhouse + "/" + fileName
        if options.offline || url == "-" || url.hasPrefix("file://") {
            let local = url.hasPrefix("file://") ? String(url.dropFirst(7)) : try findWheel(m)
            wheelPath = local
            let r = try py([helper, "download", "file://" + local, NSTemporaryDirectory() + "pipsqueak-wheel-copy"])
            try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "pipsqueak-wheel-copy")
            guard r.succeeded else { throw RuntimeError.python("cannot read \(local): \(r.lastErrorLine)") }
            let f = r.stdout.split(separator: " ")
            m.downloadMillis = Double(f[0]) ?? 0
            m.wheelBytes = Int64(f[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        } else {
            let r = try py([helper, "download", url, wheelPath], timeout: 600)
            guard r.succeeded else { throw RuntimeError.python("download failed: \(r.lastErrorLine)") }
            let f = r.stdout.split(separator: " ")
            m.downloadMillis = Double(f[0]) ?? 0
            m.wheelBytes = Int64(f[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        // Install: the wheel alone into its own directory, three times (one install varies by hundreds of
        // ms: bytecode compilation, the page cache); the median is kept.
        let dir = installDir(m)
        var installs: [Double] = []
        for _ in 0..<3 {
            try? FileManager.default.removeItem(atPath: dir)
            let r = try pip(["install", "--no-deps", "--no-index", "--quiet", "--target", dir, wheelPath], timeout: 900)
            guard r.succeeded else { throw RuntimeError.python("pip install failed: \(r.lastErrorLine)") }
            installs.append(Nanos.millis(r.elapsedNanos))
        }
        m.installMillisRaw = Summary(installs).p50
        m.installedBytes = directoryBytes(dir)
        let t = try py([helper, "toplevel", dir])
        m.topLevel = t.stdout.split(separator: "\n").map(String.init)
        if m.topLevel.isEmpty { m.failure = "no importable top-level module in the wheel" }
    }

    func findWheel(_ m: MeasuredPackage) throws -> String {
        guard let w = PackageStore.wheel(name: m.name, version: m.version, in: options.wheelhouse) else {
            throw RuntimeError.python("no wheel for \(m.name) \(m.version) in the wheelhouse \(options.wheelhouse)")
        }
        return w
    }

    /// Fetches `name` `version`'s wheel (not its dependencies) from the package index into `wheelhouse` with
    /// `pip download` on the host (pip only fetches here; installs run sandboxed). Returns its path.
    static func downloadWheel(name: String, version: String, into wheelhouse: String, python: PythonInterpreter) throws -> String {
        try Sys.mkdirs(wheelhouse)
        let r = try ChildProcess.run(python.executable, ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                                                         "--disable-pip-version-check", "--dest", wheelhouse, "\(name)==\(version)"],
                                     environment: PythonInterpreter.cleanEnvironment(), timeoutSeconds: 900)
        guard r.succeeded, let w = PackageStore.wheel(name: name, version: version, in: wheelhouse) else {
            throw RuntimeError.python("pip download \(name)==\(version) into \(wheelhouse) failed: \(r.lastErrorLine)")
        }
        return w
    }

    /// The packages of `packages` whose wheel `wheelhouse` lacks, in the order given.
    static func missingWheels(_ packages: [Package], in wheelhouse: String) -> [Package] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []
        return packages.filter { PackageStore.wheel(name: $0.name, version: $0.version, in: wheelhouse, files: files) == nil }
    }

    /// Fetches each of `packages`' wheels into `wheelhouse` (`downloadWheel`: not their dependencies; pass
    /// them), one after another, telling `progress` which and why (`purpose`: "before the run").
    static func fetchWheels(_ packages: [Package], into wheelhouse: String, python: PythonInterpreter, purpose: String,
                            progress: (String) -> Void) throws {
        for (i, p) in packages.enumerated() {
            progress("fetching \(p.name) \(p.version) into the wheelhouse (\(i + 1) of \(packages.count)) \(purpose)")
            _ = try downloadWheel(name: p.name, version: p.version, into: wheelhouse, python: python)
        }
    }

    /// Transitive dependencies of `name`, dependencies before dependents.
    func closure(_ name: String, _ all: [String: MeasuredPackage]) -> [String] {
        var out: [String] = [], visiting = Set<String>()
        func visit(_ n: String) {
            guard !visiting.contains(n) else { return }
            visiting.insert(n)
            for d in all[n]?.requires ?? [] { visit(d) }
            if n != name { out.append(n) }
        }
        visit(name)
        return out
    }

    func measureImport(_ m: inout MeasuredPackage, all: [String: MeasuredPackage]) throws {
        try measureImport(&m, all: all, partners: [])
        // A cycle: the package imports a module of one that depends on it (soupsieve imports bs4, and bs4
        // depends on soupsieve). Measure again with that partner (and its closure) loaded first, so the
        // package's own import is what is timed.
        let missing = Set(m.importFailures.compactMap { f -> String? in
            guard let r = f.range(of: "(ModuleNotFoundError:") else { return nil }
            return String(f[r.upperBound...].dropLast())
        })
        let partners = all.values.filter { p in
            p.failure == nil && p.name != m.name && p.topLevel.contains { missing.contains(String($0.split(separator: ".")[0])) }
                && closure(p.name, all).contains(m.name)
        }.map(\.name)
        if !partners.isEmpty {
            log("\(m.name): imports \(partners.joined(separator: ", ")), which depends on it; measured with it loaded first")
            m.failure = nil
            try measureImport(&m, all: all, partners: partners)
        }
    }

    /// The helper's arguments that time `m`'s import in a fresh interpreter, its dependencies (and `partners`
    /// with theirs) imported first.
    func importArguments(_ m: MeasuredPackage, all: [String: MeasuredPackage], partners: [String]) -> [String] {
        var names = closure(m.name, all)
        for p in partners { names += [p] + closure(p, all) }
        var seen = Set<String>([m.name])
        let deps = names.filter { seen.insert($0).inserted }.compactMap { all[$0] }.filter { $0.failure == nil }
        let paths = ([m] + deps).map(installDir).joined(separator: ":")
        let depModules = deps.flatMap(\.topLevel).joined(separator: ",")
        return ["-S", "-I", helper, "import", paths, depModules, m.topLevel.joined(separator: ",")]
    }

    /// Runs the helper's import with `arguments`: ms, memory before and after, the modules that failed.
    func timedImport(_ arguments: [String]) throws -> (millis: Double, before: Int64, after: Int64, failures: String) {
        let r = try pyInFreshHome(arguments, timeout: 300)
        guard r.succeeded else { throw RuntimeError.python("import run failed: \(r.lastErrorLine)") }
        // The figures are the last line: a package may print warnings of its own while importing.
        let last = r.stdout.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? ""
        let f = last.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        guard f.count == 4, let ms = Double(f[0]), let before = Int64(f[1]), let after = Int64(f[2]) else {
            throw RuntimeError.python("unexpected import output: \(r.stdout)")
        }
        return (ms, before, after, f[3])
    }

    func measureImport(_ m: inout MeasuredPackage, all: [String: MeasuredPackage], partners: [String]) throws {
        let arguments = importArguments(m, all: all, partners: partners)
        m.importMillis = []; m.importMemoryBytes = []
        for _ in 0..<options.repeats {
            let (ms, before, after, failures) = try timedImport(arguments)
            m.importMillis.append(ms)
            m.importMemoryBytes.append(max(0, after - before))
            m.importFailures = failures == "-" ? [] : failures.split(separator: ";").map(String.init)
        }
        if m.importFailures.count == m.topLevel.count {
            m.failure = "import failed: \(m.importFailures.joined(separator: ", "))"
        }
    }

    func makeTable(order: [MeasuredPackage], measured: [String: MeasuredPackage], failedRoots: [(String, String)]) -> PackageTable {
        var t = PackageTable()
        for (n, why) in failedRoots { t.recordFailure(name: n, reason: why) }
        for p in order {
            guard let m = measured[p.name] else { continue }
            if let f = m.failure { t.recordFailure(name: m.name, version: m.version, reason: f); continue }
            guard !m.importMillis.isEmpty else { continue }
            let s = Summary(m.importMillis)
            let trans = closure(m.name, measured)
            t.insert(Package(name: m.name, version: m.version, dependencies: m.requires, transitiveDependencies: trans,
                             topLevelModules: m.topLevel.filter { mod in !m.importFailures.contains { $0.hasPrefix(mod + "(") } },
                             wheelBytes: m.wheelBytes, installedBytes: m.installedBytes, downloadMillis: m.downloadMillis,
                             installMillis: max(0, m.installMillisRaw - pipOverheadMillis), importMillis: s.p50,
                             importMemoryBytes: Int64(Summary(m.importMemoryBytes.map(Double.init)).p50)),
                     spreadMillis: s.max - s.min, repeats: s.count, installRawMillis: m.installMillisRaw)
        }
        return t
    }

    /// Writes the table to `options.output` and returns what was written. Measuring named packages into
    /// an existing table merges: their rows are replaced, every other row is kept (a table is never shrunk
    /// by measuring part of it); `--fresh` with no names writes the table measured now.
    @discardableResult
    func writeTable(_ measuredNow: PackageTable) throws -> PackageTable {
        var t = measuredNow
        var mergeNote: [String] = []
        if !options.distributions.isEmpty, FileManager.default.fileExists(atPath: options.output) {
            let existing = try PackageTable.read(path: options.output)
            t = existing.merging(measuredNow)
            mergeNote = ["merged: \(measuredNow.count) packages measured now (\(measuredNow.names.joined(separator: ", "))) replace their rows; the other \(t.count - measuredNow.count) rows are as measured before"]
        }
        try ProjectPaths.ensureParent(of: options.output)
        try t.write(path: options.output, comments: [
            "made by: " + Provenance.madeBy("pipsqueak measure\(options.distributions.map { " " + $0 }.joined()) --top \(options.top) --repeat \(options.repeats)\(options.offline ? " --offline" : "")"),
        ] + mergeNote + [
            "machine: \(MachineDescription.summary)",
            "python: \(python.version) (\(python.executable))",
            "date: \(MachineDescription.date)",
            String(format: "interpreter_start_ms: %.3f", interpreterStartMillis),
            String(format: "interpreter_start_nosite_ms: %.3f", interpreterStartNoSiteMillis),
            String(format: "pip_overhead_ms: %.3f (subtracted from install_ms)", pipOverheadMillis),
            "download_ms: fetching the wheel alone from the index (or reading it from the wheelhouse with --offline)",
            "install_ms: pip install --no-deps --target of the wheel alone (median of 3), minus pip's fixed overhead",
            "import_ms, import_memory_bytes: median over repeats in a fresh `python -S -I`, dependencies imported first",
        ] + (probeLine(coversTable: t.count == measuredNow.count && !resumedImports).map { [$0] } ?? []))
        return t
    }

    // MARK: Imports again

    /// Measures again the import time and memory of every package of the table at `options.output` (or the
    /// named ones) as `run` does (`options.repeats` fresh interpreters, dependencies imported first), and
    /// rewrites the table with those columns replaced; versions, dependencies, download and install costs
    /// are kept as they were. Installs what the cache lacks (from the wheelhouse). Returns the table written.
    public func remeasureImports() throws -> PackageTable {
        log("python: \(python.executable) (\(python.version))")
        let old = try PackageTable.read(path: options.output)
        let asked = Set(options.distributions.map(PackageName.canonical))
        for n in asked where old[n] == nil { throw RuntimeError.python("\(n) is not in \(options.output): measure it first (without --imports-only)") }
        var all: [String: MeasuredPackage] = [:]
        for n in old.names {
            let p = old[n]!
            all[n] = MeasuredPackage(name: n, version: p.version, requires: p.dependencies, topLevel: p.topLevelModules)
        }
        var t = old
        let wanted = old.names.filter { asked.isEmpty || asked.contains($0) }
        var changed: [String] = []
        try probe("before the imports")
        for (i, n) in wanted.enumerated() {
            let p = old[n]!
            progress(i, wanted.count, "\(n) \(p.version): import ×\(options.repeats)")
            for q in [p] + p.transitiveDependencies.compactMap({ old[$0] }) { try ensureInstalled(q) }
            var m = all[n]!
            try measureImport(&m, all: all)
            if let f = m.failure { throw RuntimeError.python("\(n): \(f)") }
            let s = Summary(m.importMillis)
            var q = p
            q.importMillis = s.p50
            q.importMemoryBytes = Int64(Summary(m.importMemoryBytes.map(Double.init)).p50)
            t.insert(q, spreadMillis: s.max - s.min, repeats: s.count, installRawMillis: old.installRawMillis[n])
            changed.append(n)
            try writeRemeasured(t, measured: changed.count, of: wanted.count)
        }
        try probe("after the imports")
        probeDone = true
        try writeRemeasured(t, measured: changed.count, of: wanted.count)
        return t
    }

    /// The imports of `names` (packages of `table`, the one at `options.output`) timed again now, exactly as
    /// the table's were measured (`options.repeats` fresh interpreters, installs in the cache, dependencies
    /// imported first): each one's median now, and the table's figure. Writes nothing.
    public func retimeImports(_ names: [String], of table: PackageTable) throws -> [(name: String, now: Double, then: Double)] {
        let all = measuredPackages(table)
        return try names.map { n in
            guard let p = table[n], var m = all[n] else { throw RuntimeError.python("\(n) is not in \(options.output)") }
            for q in [p] + p.transitiveDependencies.compactMap({ table[$0] }) { try ensureInstalled(q) }
            try measureImport(&m, all: all)
            if let f = m.failure { throw RuntimeError.python("\(n): \(f)") }
            return (n, Summary(m.importMillis).p50, p.importMillis)
        }
    }

    func measuredPackages(_ table: PackageTable) -> [String: MeasuredPackage] {
        var all: [String: MeasuredPackage] = [:]
        for n in table.names {
            let p = table[n]!
            all[n] = MeasuredPackage(name: n, version: p.version, requires: p.dependencies, topLevel: p.topLevelModules)
        }
        return all
    }

    /// `names` and their dependencies imported together in one fresh interpreter (dependencies first, as the
    /// worker's handler imports them), after `preload` (what the worker's script has loaded), untimed; and in
    /// the same rounds, each of those packages' own import as `measure` times it (its dependencies loaded
    /// first, untimed), so that both are of the same moment. `repeats` rounds, each the combined import then
    /// every package's own; the medians, ms. `eachRound` runs after each round (`calibrate` serves the same set
    /// from its worker there, to time it served in the same rounds). - Throws: when one is not in `table` or
    /// cannot be installed, or what `eachRound` throws.
    public func combinedImport(_ names: [String], of table: PackageTable, preload: [String], repeats: Int,
                               eachRound: () throws -> Void = {}) throws -> (together: Double, own: [String: Double]) {
        let all = measuredPackages(table)
        var order: [String] = [], seen = Set<String>()
        for n in names {
            guard all[n] != nil else { throw RuntimeError.python("\(n) is not in \(options.output)") }
            for q in closure(n, all) + [n] where seen.insert(q).inserted { order.append(q) }
        }
        for q in order { if let p = table[q] { try ensureInstalled(p) } }
        let ms = order.compactMap { all[$0] }.filter { $0.failure == nil }
        let arguments = ["-S", "-I", helper, "import", ms.map(installDir).joined(separator: ":"), preload.joined(separator: ","),
                         ms.flatMap(\.topLevel).joined(separator: ",")]
        let alone = ms.map { importArguments($0, all: all, partners: []) }
        // Untimed: a warm page cache, as every other import figure.
        _ = try timedImport(arguments)
        for a in alone { _ = try timedImport(a) }
        var together: [Double] = [], own = Array(repeating: [Double](), count: ms.count)
        for _ in 0..<repeats {
            together.append(try timedImport(arguments).millis)
            for (k, a) in alone.enumerated() { own[k].append(try timedImport(a).millis) }
            try eachRound()
        }
        return (Summary(together).p50, Dictionary(uniqueKeysWithValues: zip(ms.map(\.name), own.map { Summary($0).p50 })))
    }

    func writeRemeasured(_ t: PackageTable, measured: Int, of total: Int) throws {
        // The table's own header stays (it says how download and install were measured), after a line
        // saying which columns this run replaced.
        let kept = (try? String(contentsOfFile: options.output, encoding: .utf8))?.split(separator: "\n")
            .prefix { $0.hasPrefix("#") }.map { String($0.dropFirst(2)) }.filter { !$0.hasPrefix("imports re-measured") && !$0.hasPrefix(ImportSpeedProbe.headerKey + ":") } ?? []
        let line = "imports re-measured (import_ms, import_ms_spread, import_memory_bytes, repeats) for \(measured) of \(total) packages by "
            + Provenance.madeBy("pipsqueak measure --imports-only --repeat \(options.repeats)\(options.distributions.map { " " + $0 }.joined())")
            + " on \(MachineDescription.date); the other columns as measured before"
        try t.write(path: options.output, comments: [line] + (probeLine(coversTable: measured == t.count).map { [$0] } ?? []) + kept)
    }

    // MARK: Import overlap

    /// Traces the import of every measured package of the table at `options.output` (its dependencies imported
    /// first, as `import_ms` was measured) and of the worker's own script, and writes which standard-library
    /// modules each loaded and what each took (`ImportOverlap`) to `path`, atomically after every package.
    /// Packages are installed from the wheelhouse (fetched from the index unless offline) where the cache
    /// lacks them. Returns where it was written (beside the table), how many packages and how many modules the
    /// worker preloads.
    public func measureImportOverlap() throws -> (path: String, packages: Int, preloaded: Int) {
        let path = ImportOverlap.path(besidePackages: options.output)
        let o = try measureImportOverlap(to: path)
        return (path, o.packages.count, o.preloaded.count)
    }

    @discardableResult
    func measureImportOverlap(to path: String) throws -> ImportOverlap {
        log("python: \(python.executable) (\(python.version))")
        let table = try PackageTable.read(path: options.output)
        // Tracing named packages into an existing file replaces their rows and keeps the others.
        var overlap = !options.distributions.isEmpty && FileManager.default.fileExists(atPath: path) ? try ImportOverlap.read(path: path) : ImportOverlap()
        let script = try workerScriptPath()
        let w = try tracedImport(paths: [(script as NSString).deletingLastPathComponent], deps: [], modules: ["pipsqueak_worker"])
        overlap.worker = ImportOverlap.Entry(version: "", tracedMillis: w.total, modules: w.modules)
        log("the worker's script loads \(w.modules.count) standard-library modules before a handler's imports")
        let asked = Set(options.distributions.map(PackageName.canonical))
        let wanted = table.names.filter { asked.isEmpty || asked.contains($0) }
        var failures: [String] = []
        for (i, n) in wanted.enumerated() {
            guard let p = table[n] else { continue }
            progress(i, wanted.count, "\(n) \(p.version): trace its import")
            do {
                let deps = p.transitiveDependencies.compactMap { table[$0] }
                for q in [p] + deps { try ensureInstalled(q) }
                let r = try tracedImport(paths: ([p] + deps).map { installDir(name: $0.name, version: $0.version) },
                                         deps: deps.flatMap(\.topLevelModules), modules: p.topLevelModules)
                overlap.packages[n] = ImportOverlap.Entry(version: p.version, tracedMillis: r.total, modules: r.modules)
            } catch {
                failures.append("\(n): \(error)")
                log("\(n): \(error)")
            }
            try writeOverlap(overlap, to: path, partial: i + 1 < wanted.count)
        }
        if wanted.isEmpty { try writeOverlap(overlap, to: path, partial: false) }
        if !failures.isEmpty { throw RuntimeError.python("could not trace \(failures.count) packages (their imports are charged in full): \(failures.joined(separator: "; "))") }
        return overlap
    }

    func writeOverlap(_ o: ImportOverlap, to path: String, partial: Bool) throws {
        try ProjectPaths.ensureParent(of: path)
        try o.write(path: path, comments: [
            "made by: " + Provenance.madeBy("pipsqueak measure --import-overlap\(options.distributions.map { " " + $0 }.joined())\(options.offline ? " --offline" : "")"),
            "packages: \(options.output)\(partial ? " (partial: the run is still going or was interrupted)" : "")",
            "machine: \(MachineDescription.summary)",
            "python: \(python.version) (\(python.executable))",
            "date: \(MachineDescription.date)",
            "each package's import traced once with `python -S -I -X importtime`, its dependencies imported first; stdlib_modules: the",
            "standard-library modules it loaded, each with its self time (ms); traced_ms: the self time of all it loaded; ':worker': what",
            "the worker's script (pipsqueak_worker.py) loads before a handler's packages",
        ])
    }

    /// One traced import (`measure_helper.py shared`): the self time of all it loaded and its stdlib modules.
    func tracedImport(paths: [String], deps: [String], modules: [String]) throws -> (total: Double, modules: [(name: String, millis: Double)]) {
        let r = try pyInFreshHome(["-S", "-I", helper, "shared", paths.joined(separator: ":"), deps.joined(separator: ","), modules.joined(separator: ",")], timeout: 300)
        guard r.succeeded else { throw RuntimeError.python("traced import failed: \(r.lastErrorLine)") }
        let last = r.stdout.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? ""
        let f = last.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1).map(String.init)
        guard f.count == 2, let total = Double(f[0]) else { throw RuntimeError.python("unexpected traced import output: \(r.stdout)") }
        var mods: [(name: String, millis: Double)] = []
        if f[1] != "-" {
            for pair in f[1].split(separator: ";") {
                let kv = pair.split(separator: ":")
                guard kv.count == 2, let ms = Double(kv[1]) else { throw RuntimeError.python("unexpected traced import output: \(last)") }
                mods.append((String(kv[0]), ms))
            }
        }
        return (total, mods)
    }

    func installDir(name: String, version: String) -> String { options.cache + "/packages/\(name)-\(version)" }

    /// Installs `p` into its cache directory unless it is there: from its wheel in the wheelhouse, fetched
    /// from the index first (`pip download`) when missing and not offline.
    func ensureInstalled(_ p: Package) throws {
        let dir = installDir(name: p.name, version: p.version)
        if let e = try? FileManager.default.contentsOfDirectory(atPath: dir), !e.isEmpty { return }
        let m = MeasuredPackage(name: p.name, version: p.version, requires: p.dependencies)
        let wheel: String
        if let w = try? findWheel(m) { wheel = w } else {
            guard !options.offline else { _ = try findWheel(m); return }
            wheel = try PackageMeasurer.downloadWheel(name: p.name, version: p.version, into: options.wheelhouse, python: python)
        }
        try? FileManager.default.removeItem(atPath: dir)
        let r = try pip(["install", "--no-deps", "--no-index", "--quiet", "--target", dir, wheel], timeout: 900)
        guard r.succeeded else { throw RuntimeError.python("pip install \(wheel) failed: \(r.lastErrorLine)") }
    }

    // MARK: State

    func statePath(_ m: MeasuredPackage) -> String { stateDir + "/\(m.name)-\(m.version).json" }

    func loadState(_ m: MeasuredPackage) -> MeasuredPackage? {
        guard let d = FileManager.default.contents(atPath: statePath(m)) else { return nil }
        return try? JSONDecoder().decode(MeasuredPackage.self, from: d)
    }

    func saveState(_ m: MeasuredPackage) {
        guard let d = try? JSONEncoder().encode(m) else { return }
        try? d.write(to: URL(fileURLWithPath: statePath(m)), options: .atomic) // temporary file, then rename
    }

    func directoryBytes(_ path: String) -> Int64 {
        var total: Int64 = 0
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        while let f = e.nextObject() as? String {
            if let a = try? FileManager.default.attributesOfItem(atPath: path + "/" + f),
               (a[.type] as? FileAttributeType) == .typeRegular, let s = a[.size] as? NSNumber { total += s.int64Value }
        }
        return total
    }
}

/// `body(0..<n)` run on `n` threads at once (each start as close to the others' as the threads allow): the
/// results in index order.
func atOnce<T>(_ n: Int, _ body: (Int) -> T) -> [T] {
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: n)
    defer { results.deallocate() }
    results.initialize(repeating: nil)
    DispatchQueue.concurrentPerform(iterations: n) { i in results[i] = body(i) }
    return results.map { $0! }
}
