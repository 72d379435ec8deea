import CachePolicy
import Foundation
import Results
import Simulation
import Workload

/// The job behind `pipsqueak simulate`: load a trace, the cost model and a cache configuration, run the
/// simulator, and write records and the decision log on request.
public struct SimulateJob {
    public var tracePath = ProjectPaths.defaultMixedTrace
    public var handlersPath: String?
    public var config: PolicyConfig = PolicyConfig.presets["all"]!
    public var seed: UInt64 = 1
    public var cores = 2
    /// Requests that may wait for a core (nil: no bound).
    public var queueLimit: Int?
    public var noiseSigma = 0.0
    /// How the simulated cores give out CPU time (`Simulation.CPUModel`).
    public var cpuModel = CPUModelName.share
    public var packagesPath = ProjectPaths.packages
    public var runtimeCostsPath: String? = nil
    public var recordsPath: String?
    public var decisionsPath: String?
    public var importFrequencyPath = ProjectPaths.importFrequency

    public init() {}

    /// Loads the runtime primitives: `runtimeCostsPath`, else traces/runtime-costs.csv if present, else defaults.
    public func runtimeCosts() throws -> RuntimeCosts {
        if let p = runtimeCostsPath { return try RuntimeCosts.read(path: p) }
        let def = ProjectPaths.traces("runtime-costs.csv")
        if FileManager.default.fileExists(atPath: def) { return try RuntimeCosts.read(path: def) }
        return RuntimeCosts()
    }

    public func popularPackages() -> [String] {
        (try? ImportFrequency.read(path: importFrequencyPath).distributionsByPopularity.map(\.name)) ?? []
    }

    /// Builds everything and runs. `configure` may adjust the simulation (tests collect records).
    public func run(configure: (Simulation) -> Void = { _ in }) throws -> SimulationSummary {
        let trace = try Trace(path: tracePath, handlersPath: handlersPath)
        guard FileManager.default.fileExists(atPath: packagesPath) else {
            throw CostModelError("no package cost table at \(packagesPath): run `pipsqueak measure` first, or pass --packages")
        }
        let table = try PackageTable.read(path: packagesPath)
        let costs = try CostModel(table: table, handlers: trace.handlers, runtime: try runtimeCosts(), noiseSigma: noiseSigma,
                                  overlap: try ImportOverlap.beside(packagesPath: packagesPath), seed: seed)
        let planner = try Planner(config: config, catalog: costs.catalog(handlers: trace.handlers), popularPackages: popularPackages())
        let sim = Simulation(planner: planner, costs: costs, handlers: trace.handlers, cores: cores, seed: seed)
        if let q = queueLimit { sim.queueLimit = q }
        sim.cpuModel = cpuModel
        let header = provenance
        var records: RecordWriter?, decisions: DecisionLog?
        if let r = recordsPath {
            try ProjectPaths.ensureParent(of: r)
            let w = try RecordWriter(path: r, handlers: trace.handlers, comments: header)
            sim.lifecycle.onRecord = { w.append($0) }
            records = w
        }
        if let d = decisionsPath {
            try ProjectPaths.ensureParent(of: d)
            let log = try DecisionLog(path: d, comments: header)
            sim.lifecycle.onDecision = { log.append($0) }
            decisions = log
        }
        configure(sim)
        let summary = try sim.run(try trace.makeReader())
        try records?.commit()
        try decisions?.commit()
        return summary
    }

    public var provenance: [String] {
        ["made by: " + Provenance.madeBy("pipsqueak simulate --trace \(tracePath) --seed \(seed) --cores \(cores)\(queueLimit.map { " --queue-limit \($0)" } ?? "")\(noiseSigma > 0 ? " --noise \(noiseSigma)" : "")\(cpuModel != .share ? " --cpu-model \(cpuModel.rawValue)" : "")"),
         "config: \(config.summary)", "packages: \(packagesPath)\(ImportOverlap.describe(besidePackages: packagesPath))", "machine: \(MachineDescription.summary)"]
    }
}

/// `Simulation.CPUModel` under a name the commands see (they import `Experiments` only).
public typealias CPUModelName = Simulation.CPUModel
