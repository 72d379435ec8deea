import ArgumentParser
import Experiments
import Foundation

struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Reproduce the paper's results from this machine's measured costs (simulated), as CSV in results/.",
        discussion: """
        Writes results/startup-costs.csv (measured costs beside the paper's), results/speedup.csv (the \
        single-package microbenchmark — 100 handlers, 2 req/s, 10 minutes — for every measured package under \
        none, h, hm, hs, all, with each preset's load), results/cache-interaction.csv (Question 2 as the paper \
        set it up: one worker, the numpy microbenchmark, the handler cache alone against handler + import \
        cache at the same total memory, per minute: hit ratio, miss latency, memory split into zygotes and \
        paused containers; with --real also measured on the real worker, which takes the trace's 10 minutes \
        per configuration at --interaction-speed 1), results/import-cache-size.csv (hit ratio and latency against import-cache size) and \
        results/latency-cdf.csv; every run is also stored in results/pipsqueak.sqlite. Each CSV's header names \
        the command, seed and machine. Real runs of the same traces: `pipsqueak compare`.
        """)

    @Option(parsing: .unconditional, help: "Root seed.")
    var seed: UInt64 = 1

    @Option(help: "Only these packages in the microbenchmark (comma-separated; default every measured package).")
    var packages: String?

    @Option(help: "Output directory.")
    var out: String?

    @Option(parsing: .unconditional, help: "Parallel simulations.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Also measure the microbenchmark on the real runtime (root; --packages, default numpy,pyyaml) → results/speedup-real.csv.")
    var real = false

    @Option(parsing: .unconditional, help: "With --real: requests of each trace to replay.")
    var realLimit: Int = 200

    @Option(parsing: .unconditional, help: "With --real: replay speed.")
    var realSpeed: Double = 10

    @Option(parsing: .unconditional, help: "Question 2's replay speed, simulated and (with --real) measured: 1 is the paper's 2 req/s.")
    var interactionSpeed: Double = 1

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if realLimit < 1 { throw ValidationError("--real-limit must be at least 1") }
        if !(realSpeed > 0) { throw ValidationError("--real-speed must be positive") }
        if !(interactionSpeed > 0) { throw ValidationError("--interaction-speed must be positive") }
    }

    func run() throws {
        var job = ReproduceJob()
        job.seed = seed
        job.packages = packages?.split(separator: ",").map(String.init)
        if let o = out { job.outputDirectory = o; job.storePath = o + "/pipsqueak.sqlite" }
        job.jobs = jobs
        job.real = real; job.realLimit = realLimit; job.realSpeed = realSpeed; job.interactionSpeed = interactionSpeed
        job.progress = { printProgress($0) }
        // Ctrl-C or SIGTERM during a real run stops it after the request in flight; the worker removes its
        // containers, cgroups and mounts (before, the process died with them alive).
        if real { RunJob.stopOnInterrupt() }
        let files = try job.run()
        print("wrote:")
        files.forEach { print("  \($0)") }
        print(try ReproduceJob.speedupSummary(path: files[1]))
    }
}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Simulate a grid of cache budgets × policies × tree shapes × seeds on one trace, in parallel, resumably.",
        discussion: """
        Every finished point is stored at once in the results database; rerunning the same sweep skips the \
        points already there (an interrupted sweep loses nothing). Several sweeps may write one store at once \
        (a point finished twice is stored once). Writes one CSV row per point to results/sweep-NAME.csv \
        (or --out).

        Across machines: --shard I/N runs only the I-th of N slices of the grid (I from 0 to N-1; the point at \
        grid position k is in slice k mod N), into its own --store, and writes no CSV unless --out is given. \
        Then `pipsqueak results merge` joins the shards' stores and `pipsqueak results export --sweep NAME` \
        writes the CSV the whole sweep would have written. scripts/slurm/submit-sweep does all of this as a \
        Slurm job array (see the README).
        """)

    @Option(help: "Trace CSV (default: traces/mixed.csv).")
    var trace: String?

    @Option(help: "Name of the sweep: its CSV is results/sweep-NAME.csv (letters, digits, . _ -).")
    var name: String = "default"

    @Option(help: "Handler-cache budgets, MB (comma-separated).")
    var handlerMb: String = "256,1024,4096"

    @Option(help: "Import-cache budgets, MB (0 = no import cache).")
    var importMb: String = "0,512,2048"

    @Option(help: "Handler-cache eviction policies.")
    var policies: String = "lru,gdsf"

    @Option(help: "Zygote tree shapes.")
    var trees: String = "dynamic,static"

    @Option(help: "Seeds.")
    var seeds: String = "1"

    @Option(parsing: .unconditional, help: "Parallel simulations.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Results database (default: results/pipsqueak.sqlite).")
    var store: String?

    @Option(help: "Output CSV (default: results/sweep-NAME.csv; a shard writes none unless given).")
    var out: String?

    @Option(help: "Run only slice I of N of the grid (I from 0 to N-1), e.g. 2/8.")
    var shard: String?

    @Flag(help: "Print the number of points of the grid (of the shard, with --shard) and exit.")
    var countPoints = false

    @OptionGroup(title: "Base configuration (each point sets its budgets, policy and tree on top)")
    var policy: PolicyOptions

    @Option(parsing: .unconditional, help: "Cores of the simulated worker.")
    var cores: Int = 2

    @Option(parsing: .unconditional, help: "Cost noise: lognormal sigma applied to every modeled cost (0: none).")
    var noise: Double = 0

    @Option(help: "Package cost table (default: traces/packages.csv).")
    var packages: String?

    func numbers(_ s: String, _ what: String) throws -> [Double] {
        try s.split(separator: ",").map {
            guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v >= 0 else { throw ValidationError("--\(what): expected non-negative numbers, found '\($0)'") }
            return v
        }
    }

    func validate() throws {
        do { try SweepJob.checkName(name) } catch { throw ValidationError("\(error)") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if cores < 1 { throw ValidationError("--cores must be at least 1") }
        if !(noise >= 0) { throw ValidationError("--noise must be >= 0") }
        if let s = shard { do { _ = try SweepJob.Shard(parsing: s) } catch { throw ValidationError("\(error)") } }
    }

    func run() throws {
        var job = SweepJob()
        if let t = trace { job.tracePath = t }
        job.name = name
        job.handlerCacheMB = try numbers(handlerMb, "handler-mb")
        job.importCacheMB = try numbers(importMb, "import-mb")
        job.policies = policies.split(separator: ",").map(String.init)
        job.trees = trees.split(separator: ",").map(String.init)
        job.seeds = try seeds.split(separator: ",").map { guard let v = UInt64($0) else { throw ValidationError("--seeds: expected integers, found '\($0)'") }; return v }
        job.jobs = jobs
        if let s = store { job.storePath = s }
        job.output = out
        job.base = try policy.load(); job.baseOptions = policy.given
        job.cores = cores; job.noise = noise
        if let p = packages { job.packagesPath = p }
        if let s = shard { job.shard = try SweepJob.Shard(parsing: s) }
        if countPoints { print(job.shardPoints.count); return }
        let terminal = Console.standardErrorIsTerminal
        job.progress = { FileHandle.standardError.write(Data(((terminal ? "\r" : "") + $0 + (terminal ? "" : "\n")).utf8)) }
        let r = try job.run()
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        let of = job.shard.map { " (shard \($0) of the grid)" } ?? ""
        if let csv = r.csv {
            print("\(r.ran) points simulated, \(r.skipped) already stored\(of); one row per point in \(csv)")
        } else {
            print("\(r.ran) points simulated, \(r.skipped) already stored\(of), in \(job.storePath); merge the shards' stores with `pipsqueak results merge` and write the CSV with `pipsqueak results export --sweep \(name)`")
        }
    }
}

/// `word` as a shell would need it written (single quotes where it holds anything but safe characters).
func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
