import ArgumentParser
import Experiments
import Foundation

struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Measure real package costs on this machine: download, install, import time and memory.",
        discussion: """
        Resolves each distribution with pip's own resolver (wheels only), fetches every wheel of the closure \
        into the wheelhouse (the local package mirror), installs each alone into its own directory under the \
        cache (one directory per name-version: the install cache's layout), and imports each in fresh \
        `python -S -I` interpreters with only it and its dependencies on sys.path, dependencies first, the garbage \
        collector off and HOME an empty directory of its own (as the worker imports packages: a container's HOME \
        is its own fresh /tmp, so a package that caches under HOME, as matplotlib its font list, builds it every time). \
        pip's fixed start-up cost is measured with a no-op wheel and subtracted. Writes traces/packages.csv \
        after every package (atomically) and results/startup-costs.csv at the end. An interrupted run resumes \
        where it stopped; --fresh starts over. Before and after the imports (here and with --imports-only) an \
        import speed probe (fresh interpreters importing a fixed set of standard-library modules) is run and \
        recorded in the table's header (import_speed_probe_ms) when every row was measured in the run: \
        `compare` scales the imports by how fast the machine imports when it runs.
        """)

    @Argument(help: "Distributions to measure (default: the --top most imported in traces/import-frequency.csv).")
    var distributions: [String] = []

    @Option(parsing: .unconditional, help: "How many of the most imported distributions to measure (those with a wheel), plus their dependencies.")
    var top: Int = 40

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Import repetitions per package; the median and spread are kept.")
    var repeats: Int = 5

    @Option(help: "The wheelhouse (local package mirror). Default: CACHE/wheelhouse.")
    var wheelhouse: String?

    @Option(help: "Cache directory for installs and resume state (default: $PIPSQUEAK_CACHE or ~/.cache/pipsqueak).")
    var cache: String?

    @Flag(help: "Use only the wheelhouse; no network. Download time is then the time to read the wheel from it.")
    var offline = false

    @Flag(help: "Ignore what an earlier interrupted run measured.")
    var fresh = false

    @Option(help: "Output table.")
    var out: String?

    @Flag(help: ArgumentHelp("Measure only the import overlap: trace each package of the table (--out) importing, and write which standard-library modules it loads and their share of its import time to import-overlap.csv beside the table.", discussion: "A package's import_ms includes the standard library it pulls in; a worker imports each such module once (its own script loads some before any handler import). The cost model reads the overlap file beside the package table and charges a package only for the modules not yet loaded. Named distributions replace their rows and keep the others."))
    var importOverlap = false

    @Flag(help: ArgumentHelp("Measure only import time and memory again, for every package of the table (--out) or the named ones, keeping its versions, dependencies, download and install costs.", discussion: "The table is rewritten after every package; its header says which columns were re-measured, when and how."))
    var importsOnly = false

    @Option(help: "Startup-cost comparison with the paper.")
    var startupCosts: String?

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if repeats < 1 { throw ValidationError("--repeat must be at least 1") }
    }

    func run() throws {
        var o = MeasureOptions(wheelhouse: wheelhouse, cache: cache)
        o.distributions = distributions
        o.top = top; o.repeats = repeats; o.offline = offline; o.fresh = fresh
        o.output = out ?? ProjectPaths.packages
        if importsOnly && importOverlap { throw ValidationError("--imports-only and --import-overlap are separate runs: give one") }
        if importsOnly {
            let m = try PackageMeasurer(options: o) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            let t = try m.remeasureImports()
            print("re-measured the imports of \(distributions.isEmpty ? t.count : distributions.count) packages in \(o.output)")
            return
        }
        if importOverlap {
            let m = try PackageMeasurer(options: o) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            let (path, traced, preloaded) = try m.measureImportOverlap()
            print("traced \(traced) packages' imports into \(path) (the worker's script loads \(preloaded) standard-library modules first)")
            return
        }
        let m = try PackageMeasurer(options: o) {
            FileHandle.standardError.write(Data(($0 + "\n").utf8))
        }
        let table = try m.run()
        let sc = startupCosts ?? ProjectPaths.results("startup-costs.csv")
        try ProjectPaths.ensureParent(of: sc)
        try StartupCosts.write(table: table, to: sc, comments: [
            "made by: pipsqueak measure (from \(o.output))", "machine: \(MachineDescription.summary)", "date: \(MachineDescription.date)"])
        print("measured \(table.count) packages (\(table.failures.count) failed) into \(o.output); comparison in \(sc)")
        for (n, why) in table.failures.sorted(by: { $0.key < $1.key }) { print("  failed: \(n): \(why)") }
    }
}
