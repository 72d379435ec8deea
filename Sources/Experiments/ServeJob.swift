import CachePolicy
import Foundation
import Results
import Runtime
import Server
import Simulation
import Workload

/// The job behind `pipsqueak serve`: a worker over HTTP for the handlers in a registry folder, with the
/// planner `simulate` uses, until SIGTERM or SIGINT; then it drains and removes everything it made.
public struct ServeJob {
    /// The worker's default for `RuntimeOptions.libraryThreads` (the command's default).
    public static let defaultLibraryThreads = PythonInterpreter.defaultLibraryThreads
    public var registry: String
    public var config: PolicyConfig = PolicyConfig.presets["all"]!
    public var seed: UInt64 = 1
    public var packagesPath = ProjectPaths.packages
    public var wheelhouse = MeasureOptions.defaultCache + "/wheelhouse"
    public var runtime = RuntimeOptions(wheelhouse: "")
    public var serve = ServeOptions()
    public var recordsPath: String?
    public var decisionsPath: String?
    public var progress: (String) -> Void = { _ in }

    public init(registry: String) { self.registry = registry }

    /// Builds the worker, serves until a signal, drains, shuts down. `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: registry, isDirectory: &isDir), isDir.boolValue else {
            throw RegistryError("no registry folder \(registry): it holds one folder per handler, NAME/f.py defining f(event) and an optional NAME/requirements.txt of pins name==version")
        }
        let root = URL(fileURLWithPath: registry).standardizedFileURL.path
        let table = try PackageTable.read(path: packagesPath)
        // The handlers there now are known at start; their pins decide the versions of packages the table
        // does not have. Every package of the table is in the catalog, so a handler added later may use any.
        var initial: [String] = [], pins: [String: String] = [:]
        for name in HandlerRegistry.folders(root) {
            do {
                for p in try HandlerRegistry.requirements(root + "/" + name) where table[p.name] == nil { pins[p.name] = p.version }
                initial.append(name)
            } catch {
                progress("warning: \(error) (requests for \(name) will fail until it is fixed)")
            }
        }
        let everything = Handler(id: "catalog", customer: "", packages: table.names + Array(pins.keys))
        let job = SimulateJob()
        let costs = try CostModel(table: table, handlers: HandlerTable([everything]), runtime: try job.runtimeCosts(),
                                  overlap: try ImportOverlap.beside(packagesPath: packagesPath), seed: seed)
        var packages = costs.packages
        for (n, v) in pins { packages[n]?.version = v } // estimated costs, the pinned version
        let handlers = HandlerTable([])
        let planner = try Planner(config: config, catalog: costs.catalog(handlers: handlers), popularPackages: job.popularPackages())
        var options = runtime
        options.wheelhouse = wheelhouse
        options.cgroupPoolSize = max(2, serve.cores + 1)
        options.standbysPerZygote = serve.cores
        try Sys.mkdirs(wheelhouse)
        let python = try PythonInterpreter.resolve()
        progress("starting the worker (\(config.summary)); building its initial zygotes")
        let worker = try RuntimeWorker(planner: planner, handlers: handlers, packages: packages, options: options, python: python)
        defer { worker.shutdown() }
        worker.backgroundMaintenance = true
        let header = ["made by: " + Provenance.madeBy("pipsqueak serve \(registry)"), "config: \(config.summary)",
                      "machine: \(MachineDescription.summary)", "python: \(python.version)"]
        var decisions: DecisionLog?
        if let d = decisionsPath { try ProjectPaths.ensureParent(of: d); decisions = try DecisionLog(path: d, comments: header) }
        worker.lifecycle.onDecision = { decisions?.append($0) }
        let registryObject = HandlerRegistry(root: root, worker: worker)
        for name in initial {
            do { _ = try registryObject.lookup(name) } catch { progress("warning: \(error)") }
        }
        if let r = recordsPath { try ProjectPaths.ensureParent(of: r) }
        let server = WorkerServer(worker: worker, registry: registryObject, options: serve)
        let sink = RecordSink()
        if recordsPath != nil { server.onRecord = { sink.append($0) } }
        let (host, cores, queue, progress) = (serve.host, serve.cores, serve.queueLimit, progress)
        do {
            try server.runUntilSignalled { port in
                progress("serving \(root) on http://\(host):\(port) with \(cores) cores (queue \(queue)); Ctrl-C or SIGTERM drains and stops")
                onListening(port)
            }
        } catch where "\(error)".contains("Address already in use") {
            throw RegistryError("cannot listen on \(serve.host):\(serve.port): the port is in use (another worker?); choose another with --port")
        }
        progress("drained: stopping the worker and removing its processes, cgroups and mounts")
        if let path = recordsPath {
            // Written at the end: the handler table (records name handlers) grows while serving.
            let w = try RecordWriter(path: path, handlers: worker.handlers, comments: header)
            for r in sink.all() { w.append(r) }
            try w.commit()
        }
        try decisions?.commit()
    }
}

/// Records collected from the cores, in completion order.
final class RecordSink: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [RequestRecord] = []
    func append(_ r: RequestRecord) { lock.withLock { records.append(r) } }
    func all() -> [RequestRecord] { lock.withLock { records } }
}
