import ArgumentParser
import Experiments
import Foundation

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure the runtime's primitives on this machine and write the simulator's runtime cost model.",
        discussion: """
        Starts handlers of a tiny synthetic package on the real runtime (needs root) and times container \
        create, fork and relocate, invoke round trip, handler load, freeze, thaw, cold interpreter start, a \
        sandboxed pip install and the local mirror's throughput; writes traces/runtime-costs.csv, which \
        `simulate` and `compare` use when present.
        """)

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Starts per primitive (medians are kept).")
    var repeats: Int = 30

    @Option(help: "Output file.")
    var out: String?

    func validate() throws { if repeats < 3 { throw ValidationError("--repeat must be at least 3") } }

    func run() throws {
        var job = CalibrateJob()
        job.repeats = repeats
        if let o = out { job.output = o }
        job.log = { printProgress($0) }
        let c = try job.run()
        for (n, v, u) in c.rows { print(n.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%10.3f %@", v, u)) }
        print("written to \(job.output)")
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run a trace on the real runtime and in the simulator; compare decisions and latencies.",
        discussion: """
        The simulator runs the same requests on one core with the calibrated costs (traces/runtime-costs.csv), \
        building zygotes in line as the runtime does, and is fed the real run's measured memory, so with a \
        faithful model the decision logs are identical. Writes results/compare-NAME.csv (one row per request) \
        and prints decision agreement, per-tier latency quantiles with their errors, and per-phase means. \
        Budgets make the exit code non-zero when exceeded.
        """)

    @OptionGroup var replay: ReplayOptions

    @Option(help: "Name of the output (results/compare-NAME.csv).")
    var name: String = "compare"

    @Option(help: "Runtime cost model (default traces/runtime-costs.csv).")
    var runtimeCosts: String?

    @Option(parsing: .unconditional, help: "Fail when a tier's p50 relative error exceeds this (0.1 = 10%).")
    var maxP50Error: Double?

    @Option(parsing: .unconditional, help: "Fail when a tier's p99 relative error exceeds this.")
    var maxP99Error: Double?

    @Flag(help: "Fail when the decision logs differ.")
    var requireIdenticalDecisions = false

    func run() throws {
        var job = CompareJob()
        try replay.apply(to: &job.run)
        job.name = name
        job.runtimeCostsPath = runtimeCosts
        job.maxP50Error = maxP50Error; job.maxP99Error = maxP99Error
        job.requireIdenticalDecisions = requireIdenticalDecisions
        RunJob.stopOnInterrupt()
        let report = try job.execute { printProgress($0) }
        print(report.text)
        if !report.failures.isEmpty { throw ExitCode(2) }
    }
}
