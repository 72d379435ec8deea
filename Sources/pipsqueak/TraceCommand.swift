import ArgumentParser
import Experiments
import Foundation

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Generate, convert and summarise request traces.",
        discussion: """
        A trace is two CSV files: NAME.csv (time_s,handler: arrival in seconds, handler id) and \
        NAME.handlers.csv (handler,customer,packages,init_ms,exec_ms,memory_mb).
        """,
        subcommands: [TraceGenerate.self, TraceFromAzure.self, TraceFitCommand.self, TraceStatsCommand.self])
}

/// Options every generator shares.
struct GeneratorOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Root seed for every random draw (same seed, same trace).")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "Arrival rate, requests per second (Poisson arrivals; default 2 for micro, 1 for mixed).")
    var rate: Double?

    @Option(parsing: .unconditional, help: "Trace length in seconds.")
    var seconds: Double = 600

    @Option(help: "Also print the trace's stats after writing it.")
    var stats: Bool = true

    @Flag(help: "Overwrite an existing output, and allow traces of more than 50 million requests.")
    var force = false

    static let maxRequests = 50_000_000.0

    func validate() throws {
        if let r = rate, !(r > 0) { throw ValidationError("--rate must be a positive number of requests per second") }
        if !(seconds > 0) { throw ValidationError("--seconds must be positive") }
        if seconds >= 900_000_000 { throw ValidationError("--seconds must be below 900000000 (about 28 years), found \(seconds)") }
    }

    /// Checks the size a generation will have (about rate × seconds requests, ~20 bytes each) and that it
    /// does not overwrite a file unasked; says how many requests it will make.
    func check(out: String, rate: Double) throws {
        let expected = rate * seconds
        if expected > GeneratorOptions.maxRequests && !force {
            throw ValidationError(String(format: "this would make about %.0f requests (%.1f GB); more than %.0f needs --force", expected,
                                         expected * 20 / 1e9, GeneratorOptions.maxRequests))
        }
        if FileManager.default.fileExists(atPath: out) && !force {
            throw ValidationError("\(out) exists; --force overwrites it, or --out names another file")
        }
    }

    func announce(out: String, rate: Double) {
        FileHandle.standardError.write(Data(String(format: "generating about %.0f requests into %@\n", rate * seconds, out).utf8))
    }
}

struct TraceGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a synthetic trace (the paper's microbenchmark or a mixed workload).",
        subcommands: [GenerateMicro.self, GenerateMixed.self])
}

struct GenerateMicro: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro",
        abstract: "The paper's microbenchmark: N distinct handlers all importing one package, Poisson arrivals.")

    @Option(help: "The package every handler imports (a distribution name).")
    var package: String = "numpy"

    @Option(parsing: .unconditional, help: "Number of distinct handlers.")
    var handlers: Int = 100

    @OptionGroup var common: GeneratorOptions

    @Option(help: "Output trace CSV (the handler table goes beside it as NAME.handlers.csv; default: micro-PACKAGE.csv in the working directory).")
    var out: String?

    func validate() throws {
        if handlers < 1 { throw ValidationError("--handlers must be at least 1") }
        try common.check(out: out ?? "micro-\(package).csv", rate: common.rate ?? 2)
    }

    func run() throws {
        let out = self.out ?? "micro-\(package).csv" // the working directory, not the project's data
        common.announce(out: out, rate: common.rate ?? 2)
        let n = try TraceJobs.generateMicro(package: package, handlers: handlers, rate: common.rate ?? 2, seconds: common.seconds,
                                            seed: common.seed, to: out)
        print("wrote \(n.requests) requests for \(n.handlers) handlers to \(out)")
        if common.stats { print(); print(try TraceJobs.stats(path: out)) }
    }
}

struct GenerateMixed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixed",
        abstract: "A mixed workload: handlers with real import sets from traces/handler-sets.csv, Zipf popularity.")

    @Option(parsing: .unconditional, help: "Number of handlers.")
    var handlers: Int = 100

    @Option(parsing: .unconditional, help: "Zipf exponent of handler popularity (0 = uniform).")
    var zipf: Double = 1.0

    @Option(parsing: .unconditional, help: "Number of customers owning the handlers (round-robin).")
    var customers: Int = 50

    @Option(help: "Keep only packages measured in this packages.csv (rows left empty are dropped).")
    var onlyMeasured: String?

    @OptionGroup var common: GeneratorOptions

    @Option(help: "Output trace CSV (the handler table goes beside it as NAME.handlers.csv; default: mixed.csv in the working directory).")
    var out: String?

    func validate() throws {
        if handlers < 1 { throw ValidationError("--handlers must be at least 1") }
        if zipf < 0 { throw ValidationError("--zipf must be >= 0") }
        if customers < 1 { throw ValidationError("--customers must be at least 1") }
        try common.check(out: out ?? "mixed.csv", rate: common.rate ?? 1)
    }

    func run() throws {
        let out = self.out ?? "mixed.csv" // the working directory, not the project's data
        common.announce(out: out, rate: common.rate ?? 1)
        let n = try TraceJobs.generateMixed(handlers: handlers, zipf: zipf, customers: customers, rate: common.rate ?? 1,
                                            seconds: common.seconds, seed: common.seed, onlyMeasured: onlyMeasured, to: out)
        print("wrote \(n.requests) requests for \(n.handlers) handlers to \(out)")
        if common.stats { print(); print(try TraceJobs.stats(path: out)) }
    }
}

struct TraceFromAzure: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "from-azure",
        abstract: "Convert Azure Functions traces (2019 or 2021) into a pipsqueak trace.",
        discussion: """
        2019 (PATH is a directory): it holds invocations.csv (per-minute counts), durations.csv and \
        memory.csv in the published schema; columns are found by header name. Each minute's count becomes \
        that many arrivals spread uniformly in the minute; each invocation's execution time is drawn from its \
        function's duration percentiles and each function's memory from its memory percentiles (seeded). \
        Window: --from-minute, --minutes.

        2021 (PATH is a file, e.g. AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt): one row per \
        invocation with app, func, end_timestamp and duration (seconds). Each invocation arrives at \
        end_timestamp - duration and runs for its own measured duration. The file has no memory figures: \
        every handler gets --memory-mb. Window: --from-second, --seconds.

        Either way each function gets the packages of a random real row of traces/handler-sets.csv, and \
        the trace's header says which fields were measured, drawn or assumed.
        """)

    @Argument(help: "A 2019 trace directory, or a 2021 per-invocation file.")
    var path: String

    @Option(parsing: .unconditional, help: "2019: first minute of the window (a minute column's number; default: the first column).")
    var fromMinute: Int?

    @Option(parsing: .unconditional, help: "2019: number of minutes in the window (default: through the last column).")
    var minutes: Int?

    @Option(parsing: .unconditional, help: "2021: start of the window, in seconds from the trace's start.")
    var fromSecond: Double = 0

    @Option(parsing: .unconditional, help: "2021: length of the window in seconds (default: to the end of the file).")
    var seconds: Double?

    @Option(parsing: .unconditional, help: "2021: memory of every handler in MB (the trace has none).")
    var memoryMb: Double = 128

    @Option(parsing: .unconditional, help: "Root seed for arrival offsets, durations, memory and package sets.")
    var seed: UInt64 = 1

    @Option(help: "Give functions only package sets whose packages are all measured in this package table (traces/packages.csv): a trace the real worker can serve.")
    var onlyMeasured: String?

    @Option(help: "Output trace CSV (default: azure.csv in the working directory).")
    var out: String?

    func validate() throws {
        if let m = minutes, m < 1 { throw ValidationError("--minutes must be at least 1") }
        if let s = seconds, !(s > 0) { throw ValidationError("--seconds must be greater than 0") }
        if !(fromSecond >= 0) { throw ValidationError("--from-second must be at least 0") }
        if !(memoryMb > 0) { throw ValidationError("--memory-mb must be greater than 0") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or directory (expected a 2019 trace directory or a 2021 invocation file)")
        }
        if isDirectory.boolValue, seconds != nil || fromSecond != 0 {
            throw ValidationError("--from-second and --seconds are for a 2021 file; a 2019 directory takes --from-minute and --minutes")
        }
        if !isDirectory.boolValue, fromMinute != nil || minutes != nil {
            throw ValidationError("--from-minute and --minutes are for a 2019 directory; a 2021 file takes --from-second and --seconds")
        }
    }

    func run() throws {
        let out = self.out ?? "azure.csv" // the working directory, not the project's data
        let warn: (String) -> Void = { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) // checked in validate()
        if isDirectory.boolValue {
            let n = try TraceJobs.fromAzure(directory: path, fromMinute: fromMinute, minutes: minutes, seed: seed, onlyMeasured: onlyMeasured, to: out, warn: warn)
            print("wrote \(n.requests) requests for \(n.functions) functions (minutes \(n.firstMinute)...\(n.lastMinute)) to \(out)")
        } else {
            let n = try TraceJobs.fromAzure2021(path: path, fromSecond: fromSecond, seconds: seconds, memoryMB: memoryMb,
                                                seed: seed, onlyMeasured: onlyMeasured, to: out, warn: warn)
            print("wrote \(n.requests) requests for \(n.functions) functions to \(out)")
        }
        print(); print(try TraceJobs.stats(path: out))
    }
}

struct TraceStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Summarise a trace: requests, duration, rate, handler and package popularity.")

    @Argument(help: "The trace CSV (its handler table is read from NAME.handlers.csv unless --handlers is given).")
    var file: String

    @Option(help: "The handler table, if not beside the trace.")
    var handlers: String?

    @Option(parsing: .unconditional, help: "How many handlers and packages to list.")
    var top: Int = 10

    func run() throws {
        print(try TraceJobs.stats(path: file, handlersPath: handlers, top: top))
    }
}

struct TraceFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Scale a trace's arrival times so its requests keep a chosen share of a worker's cores busy.",
        discussion: """
        The load is measured by simulating the trace with this machine's costs (traces/packages.csv, \
        traces/runtime-costs.csv) and the cache configuration: each request's time on a core, starts included, \
        and the calibrated dispatch after it (dispatch_ms: the HTTP server's and client's core time per request), \
        over the span of the arrivals, over --cores. The arrivals are stretched or compressed until the load is \
        --load within 3%. Handlers, their order and any exec_ms column are kept. With --thin the arrival \
        times stay and requests are dropped instead (each kept with one probability, seeded), until the load \
        is --load: a trace that needs 10 cores (the Azure sample) keeps its minutes and bursts at a rate 2 \
        cores can serve, rather than being stretched tenfold.

          pipsqueak trace fit traces/mixed.csv --cores 2 --load 0.6 --out mixed-60.csv
          pipsqueak trace from-azure ../shared/data/azure2019-sample-100 --minutes 5 \\
              --only-measured traces/packages.csv --out azure.csv
          pipsqueak trace fit azure.csv --cores 2 --load 0.3 --thin
        """)

    @Argument(help: "The trace CSV (its handler table is NAME.handlers.csv unless --handlers is given).")
    var file: String

    @Option(help: "The handler table, if not beside the trace.")
    var handlers: String?

    @Option(parsing: .unconditional, help: "Cores of the worker to fit to.")
    var cores = ProcessInfo.processInfo.activeProcessorCount

    @Option(parsing: .unconditional, help: "Share of the cores the requests should keep busy (0.3 = 30%).")
    var load: Double

    @OptionGroup var policy: PolicyOptions

    @Option(help: "Package cost table.")
    var packages: String?

    @Option(parsing: .unconditional, help: "Root seed (cost estimates of unmeasured packages).")
    var seed: UInt64 = 1

    @Option(help: "Runtime cost model the load is simulated with (default traces/runtime-costs.csv).")
    var runtimeCosts: String?

    @Option(help: "Output trace CSV (default: NAME-load<L>.csv beside the input).")
    var out: String?

    @Flag(help: "Keep the arrival times and drop requests (seeded) instead of stretching time; only lowers the load.")
    var thin = false

    @Flag(help: "Overwrite an existing output.")
    var force = false

    func validate() throws {
        if cores < 1 { throw ValidationError("--cores must be at least 1, found \(cores)") }
        if !(load > 0) { throw ValidationError("--load must be positive, found \(load)") }
    }

    func run() throws {
        let target = out ?? (file.hasSuffix(".csv") ? String(file.dropLast(4)) : file) + String(format: "-load%02.0f.csv", 100 * load)
        if FileManager.default.fileExists(atPath: target) && !force {
            throw ValidationError("\(target) exists; --force overwrites it, or --out names another file")
        }
        var job = TraceFit(tracePath: file)
        job.handlersPath = handlers; job.cores = cores; job.load = load; job.seed = seed; job.thin = thin
        job.config = try policy.load()
        if let p = packages { job.packagesPath = p }
        job.runtimeCostsPath = runtimeCosts
        job.progress = { printProgress($0) }
        let command = Provenance.madeBy("pipsqueak trace fit \(file) --cores \(cores) --load \(load)" + (thin ? " --thin" : "") + (policy.given.map { " " + $0 } ?? "")
                                        + (runtimeCosts.map { " --runtime-costs \($0)" } ?? "") + " --out \(target)")
        let r = try job.run(out: target, command: command)
        print(String(format: "%@: %d requests over %.1f s (%@); load %.1f%% of %d cores (was %.1f%%), simulated",
                     target, r.requests, r.seconds, thin ? String(format: "%.2f%% of requests kept", 100 * r.kept) : String(format: "arrivals × %.4f", r.factor),
                     100 * r.loadAfter, cores, 100 * r.loadBefore))
    }
}
