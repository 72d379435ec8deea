import CachePolicy
import Foundation
import Runtime
import Simulation
import Statistics
import Workload

/// The job behind `pipsqueak calibrate`: measures the runtime's own primitives on this machine with the real
/// runtime and a tiny synthetic package, and writes them as the simulator's runtime cost model.
public struct CalibrateJob {
    public var repeats = 30
    public var output = ProjectPaths.traces("runtime-costs.csv")
    public var wheelhouse = MeasureOptions.defaultCache + "/wheelhouse"
    public var log: (String) -> Void = { _ in }

    public init() {}

    func median(_ xs: [Int64]) -> Double { Summary(xs.map { Double($0) / 1e6 }).p50 }

    public func run() throws -> RuntimeCosts {
        let python = try PythonInterpreter.resolve()
        let work = "/tmp/pipsqueak-calibrate-\(Sys.pid)"
        try? FileManager.default.removeItem(atPath: work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/src", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/wheelhouse", withIntermediateDirectories: true)
        try "VALUE = 1\n".write(toFile: work + "/src/pipsqueak_calib.py", atomically: true, encoding: .utf8)
        guard let helper = Bundle.module.path(forResource: "measure_helper", ofType: "py", inDirectory: "Python") else {
            throw RuntimeError.unavailable("measure_helper.py is missing from the Experiments bundle")
        }
        let mk = try ChildProcess.run(python.executable, ["-S", helper, "makewheel", work + "/wheelhouse", "pipsqueak-calib", "1.0", "", work + "/src"],
                                      environment: PythonInterpreter.cleanEnvironment())
        guard mk.succeeded else { throw RuntimeError.python("cannot build the calibration wheel: \(mk.lastErrorLine)") }
        let pkg = Package(name: "pipsqueak-calib", version: "1.0", topLevelModules: ["pipsqueak_calib"], installedBytes: 4096)
        // The handler does 1 ms of work per request (as the microbenchmark's handlers do): the round trip
        // then includes what doing work costs right after a fork or a thaw, which an empty handler hides.
        let workMillis = 1.0
        let handlers = HandlerTable([Handler(id: "calib", customer: "c", packages: ["pipsqueak-calib"], execMillis: workMillis)])
        func worker(_ edit: (inout PolicyConfig) -> Void) throws -> RuntimeWorker {
            var c = PolicyConfig.presets["all"]!
            edit(&c)
            let planner = try Planner(config: c, catalog: Catalog(packages: [pkg], handlers: handlers), popularPackages: [pkg.name])
            var o = RuntimeOptions(wheelhouse: work + "/wheelhouse")
            o.stateDirectory = work + "/state"; o.packageDirectory = work + "/packages"
            return try RuntimeWorker(planner: planner, handlers: handlers, packages: [pkg.name: pkg], options: o, python: python)
        }
        var costs = RuntimeCosts()
        costs.source = "pipsqueak calibrate"

        log("interpreter start (python -S), \(repeats)×")
        var starts: [Int64] = []
        for _ in 0..<repeats { starts.append(try ChildProcess.run(python.executable, ["-S", "-c", "pass"], environment: PythonInterpreter.cleanEnvironment()).elapsedNanos) }

        log("import-cache hits: container create, fork and relocate, invoke round trip, \(repeats)×")
        var w = try worker { $0.handlerCache.enabled = false; $0.importCache.tree = "static"; $0.importCache.topK = 1; $0.installCache.preinstallTop = 1 }
        var create: [Int64] = [], fork: [Int64] = [], invoke: [Int64] = [], initT: [Int64] = []
        for _ in 0..<repeats {
            let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
            guard r.error.isEmpty, r.tier == .import else { w.shutdown(); throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
            create.append(r.createNanos); fork.append(r.forkNanos); invoke.append(r.execNanos); initT.append(r.initNanos)
        }
        let rootMemory = w.zygoteMemory(0) ?? 0
        // A zygote's size as the simulator counts it: the interpreter (root) plus what it imported itself.
        let smallZygote = Bytes.gb(rootMemory + (w.zygoteMemory(1) ?? 0))
        w.shutdown()

        log("import-cache hits from a zygote holding 256 MB more, \(repeats)×: the cost of forking a big zygote")
        let big = Package(name: "pipsqueak-ballast", version: "1.0", topLevelModules: ["pipsqueak_ballast"], installedBytes: 4096)
        try FileManager.default.createDirectory(atPath: work + "/src-ballast", withIntermediateDirectories: true)
        try "B = bytearray(256 * 1024 * 1024)\nfor i in range(0, len(B), 4096):\n    B[i] = 1\n".write(toFile: work + "/src-ballast/pipsqueak_ballast.py", atomically: true, encoding: .utf8)
        let mk2 = try ChildProcess.run(python.executable, ["-S", helper, "makewheel", work + "/wheelhouse", "pipsqueak-ballast", "1.0", "", work + "/src-ballast"],
                                       environment: PythonInterpreter.cleanEnvironment())
        guard mk2.succeeded else { throw RuntimeError.python("cannot build the ballast wheel: \(mk2.lastErrorLine)") }
        let bigHandlers = HandlerTable([Handler(id: "ballast", customer: "c", packages: ["pipsqueak-ballast"])])
        var cb = PolicyConfig.presets["all"]!
        cb.handlerCache.enabled = false; cb.importCache.tree = "static"; cb.importCache.topK = 1; cb.installCache.preinstallTop = 1
        var ob = RuntimeOptions(wheelhouse: work + "/wheelhouse")
        ob.stateDirectory = work + "/state"; ob.packageDirectory = work + "/packages"
        let wb = try RuntimeWorker(planner: try Planner(config: cb, catalog: Catalog(packages: [big], handlers: bigHandlers), popularPackages: [big.name]),
                                   handlers: bigHandlers, packages: [big.name: big], options: ob, python: python)
        var bigFork: [Int64] = []
        for _ in 0..<repeats {
            let r = wb.serve(handler: 0, arrivalNanos: wb.now(), startNanos: wb.now())
            guard r.error.isEmpty, r.tier == .import else { wb.shutdown(); throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
            bigFork.append(r.forkNanos)
        }
        let bigZygote = Bytes.gb((wb.zygoteMemory(0) ?? 0) + (wb.zygoteMemory(1) ?? 0))
        wb.shutdown()

        log("handler-cache hits: thaw and freeze, \(repeats)×")
        w = try worker { $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        var thaw: [Int64] = [], freeze: [Int64] = [], containerMemory: [Int64] = [], thawedInvoke: [Int64] = []
        w.lifecycle.keepsOutcomes = true
        _ = w.serve(handler: 0, arrivalNanos: 0, startNanos: 0)
        for _ in 0..<repeats {
            Sys.sleep(micros: 50_000) // a frozen container waits between requests in a replay; its caches go cold
            let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
            guard r.error.isEmpty, r.tier == .handler else { w.shutdown(); throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
            thaw.append(r.createNanos); freeze.append(w.lastFreezeNanos); thawedInvoke.append(r.execNanos)
        }
        if case .container(_, let bytes, _)? = w.lifecycle.outcomes.last { containerMemory.append(bytes) }
        w.shutdown()

        log("cold starts: interpreter start and relocation in a container, \(repeats)×")
        w = try worker { $0.handlerCache.enabled = false; $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        var cold: [Int64] = []
        for _ in 0..<repeats {
            let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
            guard r.error.isEmpty, r.tier == .cold else { w.shutdown(); throw RuntimeError.unavailable("calibration request failed: \(r.error)") }
            cold.append(r.createNanos)
        }
        log("sandboxed pip install of a tiny wheel and the mirror's throughput, \(min(repeats, 10))×")
        var installs: [Int64] = []
        for _ in 0..<min(repeats, 10) {
            let (staged, _) = try w.store.download(pkg)
            installs.append(try w.store.install(pkg, wheel: staged, python: python))
        }
        w.shutdown()
        var mbps: [Double] = []
        let wheels = ((try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []).filter { $0.hasSuffix(".whl") }
        if let biggest = wheels.max(by: { (fileSize(wheelhouse + "/" + $0)) < (fileSize(wheelhouse + "/" + $1)) }) {
            let src = wheelhouse + "/" + biggest, dst = work + "/copy.whl"
            for _ in 0..<5 {
                let t0 = Sys.monotonicNanos()
                try? FileManager.default.removeItem(atPath: dst)
                try FileManager.default.copyItem(atPath: src, toPath: dst)
                mbps.append(Bytes.mb(fileSize(src)) / (Double(Sys.monotonicNanos() - t0) / 1e9))
            }
        }

        costs.containerCreateMillis = median(create)
        // fork = a + b × zygote GB, through the small and the big zygote.
        let slope = bigZygote > smallZygote ? max(0, (median(bigFork) - median(fork)) / (bigZygote - smallZygote)) : 0
        costs.forkPerGBMillis = slope
        costs.forkMillis = max(0, median(fork) - slope * smallZygote)
        log(String(format: "fork and relocate: %.3f ms from a %.0f MB zygote, %.3f ms from a %.0f MB one", median(fork), smallZygote * 1024,
                   median(bigFork), bigZygote * 1024))
        // A just-thawed process answers more slowly than a fresh one (its caches are cold).
        costs.invokeOverheadMillis = max(0, median(invoke) - workMillis)
        costs.thawedInvokeOverheadMillis = max(0, median(thawedInvoke) - workMillis)
        log(String(format: "invoke round trip with %.0f ms of work: %.3f ms on a fresh fork, %.3f ms just thawed", workMillis, median(invoke), median(thawedInvoke)))
        costs.initOverheadMillis = median(initT)
        costs.thawMillis = median(thaw)
        costs.freezeMillis = median(freeze)
        costs.interpreterStartMillis = max(0, median(cold) - costs.containerCreateMillis)
        costs.installOverheadMillis = median(installs)
        costs.mirrorMBPerSecond = mbps.isEmpty ? 0 : Summary(mbps).p50
        costs.interpreterMemoryMB = Bytes.mb(rootMemory)
        // A cold container holds an interpreter; what it holds beyond the bare interpreter is the container's own.
        costs.containerMemoryMB = containerMemory.isEmpty ? costs.containerMemoryMB : max(0, Bytes.mb(containerMemory[0] - rootMemory))
        try ProjectPaths.ensureParent(of: output)
        try costs.write(path: output, comments: [
            "made by: pipsqueak calibrate --repeat \(repeats)", "machine: \(MachineDescription.summary)", "date: \(MachineDescription.date)",
            "python: \(python.version); bare python -S start \(String(format: "%.2f", median(starts))) ms (outside any container)",
            "medians over \(repeats) starts of a handler importing a tiny synthetic package; interpreter_start_ms is a cold start's",
            "create phase (interpreter start + entering the container) minus container_create_ms"])
        return costs
    }

    func fileSize(_ p: String) -> Int64 { ((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? NSNumber)?.int64Value ?? 0 }
}
