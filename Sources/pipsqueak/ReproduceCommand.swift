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
        none, h, hm, hs, all), results/cache-interaction.csv (handler cache alone vs handler + import cache, \
        per minute), results/import-cache-size.csv (hit ratio and latency against import-cache size) and \
        results/latency-cdf.csv; every run is also stored in results/pipsqueak.sqlite. Each CSV's header names \
        the command, seed and machine. Real runs of the same traces: `pipsqueak compare`.
        """)

    @Option(help: "Root seed.")
    var seed: UInt64 = 1

    @Option(help: "Only these packages in the microbenchmark (comma-separated; default every measured package).")
    var packages: String?

    @Option(help: "Output directory.")
    var out: String?

    @Option(help: "Parallel simulations.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Also measure the microbenchmark on the real runtime (root; --packages, default numpy,pyyaml) → results/speedup-real.csv.")
    var real = false

    @Option(help: "With --real: requests of each trace to replay.")
    var realLimit: Int = 200

    @Option(help: "With --real: replay speed.")
    var realSpeed: Double = 10

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if realLimit < 1 { throw ValidationError("--real-limit must be at least 1") }
        if !(realSpeed > 0) { throw ValidationError("--real-speed must be positive") }
    }

    func run() throws {
        var job = ReproduceJob()
        job.seed = seed
        job.packages = packages?.split(separator: ",").map(String.init)
        if let o = out { job.outputDirectory = o; job.storePath = o + "/pipsqueak.sqlite" }
        job.jobs = jobs
        job.real = real; job.realLimit = realLimit; job.realSpeed = realSpeed
        job.progress = { printProgress($0) }
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
        points already there (an interrupted sweep loses nothing). Writes one CSV row per point.
        """)

    @Option(help: "Trace CSV.")
    var trace: String?

    @Option(help: "Name of the output (results/sweep-NAME.csv).")
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

    @Option(help: "Parallel simulations.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Results database.")
    var store: String?

    func numbers(_ s: String, _ what: String) throws -> [Double] {
        try s.split(separator: ",").map {
            guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v >= 0 else { throw ValidationError("--\(what): expected non-negative numbers, found '\($0)'") }
            return v
        }
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
        job.progress = { FileHandle.standardError.write(Data(("\r" + $0).utf8)) }
        let r = try job.run()
        FileHandle.standardError.write(Data("\n".utf8))
        print("\(r.ran) points simulated, \(r.skipped) already stored; one row per point in \(r.csv)")
    }
}
