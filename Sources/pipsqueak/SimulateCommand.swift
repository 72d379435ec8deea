import ArgumentParser
import Experiments
import Foundation

/// Options shared by the commands that pick a cache configuration.
struct PolicyOptions: ParsableArguments {
    @Option(help: "A preset: none, h, hm, hs, all (the paper's configurations).")
    var preset: String?

    @Option(help: ArgumentHelp("A JSON config file; fields it does not give keep the preset's (--preset, default all).",
                               discussion: "Its keys: `pipsqueak config keys`; a preset as a starting file: `pipsqueak config show --preset hm`."))
    var config: String?

    /// The options as given, for provenance lines.
    var given: String? {
        let words = (preset.map { ["--preset", $0] } ?? []) + (config.map { ["--config", $0] } ?? [])
        return words.isEmpty ? nil : words.joined(separator: " ")
    }

    func validate() throws {
        if let p = preset, CacheConfig.presets[p] == nil {
            throw ValidationError("unknown preset '\(p)'; known: " + CacheConfig.presetDescriptions.map { "\($0.0) (\($0.1))" }.joined(separator: ", "))
        }
    }

    func load() throws -> CacheConfig {
        if let c = config { return try CacheConfig.read(path: c, base: try CacheConfig.preset(preset ?? "all")) }
        return try CacheConfig.preset(preset ?? "all")
    }
}

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a trace through the discrete-event simulator and print a summary table.",
        discussion: """
        With no arguments: the default mixed trace (traces/mixed.csv) on preset 'all', with the package costs \
        measured in traces/packages.csv. Packages without a measurement get costs drawn from the measured ones \
        (seeded) and are counted in the summary.
        """)

    @Option(help: "Trace CSV (its handler table is NAME.handlers.csv).")
    var trace: String?

    @OptionGroup var policy: PolicyOptions

    @Option(parsing: .unconditional, help: "Root seed (cost estimates, noise).")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "Cores of the worker.")
    var cores: Int = 2

    @Option(parsing: .unconditional, help: ArgumentHelp("Requests that may wait for a core; more are refused (default: no bound).",
                                                        discussion: "`pipsqueak serve --queue` bounds its queue the same way (default 64 there); give the same number to model it."))
    var queueLimit: Int?

    @Option(parsing: .unconditional, help: "Lognormal sigma of multiplicative noise on every cost (0 = none).")
    var noise: Double = 0

    @Option(help: "Package cost table.")
    var packages: String?

    @Option(help: ArgumentHelp("How the simulated cores give out CPU time: share or hold.",
                               discussion: "share (default): the cores are shared among the running requests, the one zygote builder and the worker's own per-request work (runtime costs' dispatch_ms), re-timed whenever one starts or ends; each request and the builder with weight 1, the dispatch with the runtime costs' dispatch_weight (calibrated; 1 when the file has none), no job more than a core; a request frees its core when it ends, and waits the runtime costs' handoff_ms (the server's hand-off to a core's thread) before its phases. hold: each request's CPU phases are stretched once, at its start, by how oversubscribed the cores are then, and its core is held for dispatch_ms after it ends (the model before processor sharing; kept to compare against)."))
    var cpuModel: CPUModelName = .share

    @Option(help: "Runtime primitive costs (default: traces/runtime-costs.csv if present, else built-in).")
    var runtimeCosts: String?

    @Option(help: "Write per-request records to this CSV.")
    var out: String?

    @Option(help: "Write the decision log (one line per plan) to this file.")
    var decisions: String?

    func validate() throws {
        if cores < 1 { throw ValidationError("--cores must be at least 1") }
        if noise < 0 { throw ValidationError("--noise must be >= 0") }
        if let q = queueLimit, q < 0 { throw ValidationError("--queue-limit must be 0 or more, found \(q)") }
    }

    func run() throws {
        var job = SimulateJob()
        if let t = trace { job.tracePath = t }
        job.config = try policy.load()
        job.seed = seed; job.cores = cores; job.noiseSigma = noise
        job.queueLimit = queueLimit
        job.cpuModel = cpuModel
        if let p = packages { job.packagesPath = p }
        job.runtimeCostsPath = runtimeCosts
        job.recordsPath = out; job.decisionsPath = decisions
        let start = DispatchTime.now().uptimeNanoseconds
        let s = try job.run()
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(s.report(title: "trace \(job.tracePath)\nconfig \(job.config.summary)"))
        print(String(format: "simulated in %.2f s of wall time: %.0f requests/s, %.0f events/s", secs,
                     Double(s.requests) / max(secs, 1e-9), Double(s.events) / max(secs, 1e-9)))
        if let o = out { print("records: \(o)") }
        if let d = decisions { print("decision log: \(d)") }
    }
}

/// `--cpu-model`: the simulator's CPU model by its name.
extension CPUModelName: ExpressibleByArgument {}
