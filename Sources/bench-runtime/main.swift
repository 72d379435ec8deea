// bench-runtime: start latencies of the real runtime against their floors, measured in one run.
//
//   floor         a bare Python process (numpy imported) forks a child that joins a cgroup, enters new
//                 mount/uts/ipc/pid namespaces, chroots and answers over a pipe;
//   import hit    the runtime forks a numpy zygote into a new container (cgroup, namespaces, read-only
//                 bind-mounted root, chroot), loads the handler and answers one request; back to back,
//                 then with 50 ms between requests (time for the zygote's next standby child to be ready);
//   handler hit   the runtime thaws a frozen container and answers one request;
//   cold          a fresh interpreter in a new container imports numpy, loads the handler, answers;
//   cold floor    a bare `python -S` that imports numpy (no container).
// Each is p50/p99 over N starts (default 200). Needs root, cgroups, and numpy's wheel in the wheelhouse
// (`pipsqueak measure numpy`).
import CachePolicy
import Experiments
import Foundation
import Runtime
import Statistics
import Workload

let n = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200 : 200
let table = try PackageTable.read(path: ProjectPaths.packages)
guard let numpy = table["numpy"] else { fatalError("numpy is not in \(ProjectPaths.packages): run `pipsqueak measure numpy`") }
let python = try PythonInterpreter.resolve()
let wheelhouse = MeasureOptions.defaultCache + "/wheelhouse"
let state = "/tmp/pipsqueak-bench-\(getpid())"

func report(_ name: String, _ ns: [Int64]) -> Double {
    let s = Summary(ns.map { Double($0) / 1e6 })
    print(String(format: "%-13@ n=%4d  p50 %8.3f ms  p99 %8.3f ms  mean %8.3f ms", name as NSString, s.count, s.p50, s.p99, s.mean))
    return s.p50
}

func worker(_ config: PolicyConfig) throws -> RuntimeWorker {
    let handlers = HandlerTable([Handler(id: "np", customer: "c", packages: ["numpy"])])
    let catalog = Catalog(packages: [numpy], handlers: handlers)
    let planner = try Planner(config: config, catalog: catalog, popularPackages: ["numpy"])
    var o = RuntimeOptions(wheelhouse: wheelhouse)
    o.stateDirectory = state + "/state"
    o.packageDirectory = state + "/packages"
    return try RuntimeWorker(planner: planner, handlers: handlers, packages: ["numpy": numpy], options: o, python: python)
}

print("bench-runtime: \(n) starts each; numpy \(numpy.version); python \(python.version); \(MachineDescription.summary)")

// Runtime: import-cache hits (a static {numpy} zygote, numpy pre-installed, no handler cache).
var c = PolicyConfig.presets["all"]!
c.handlerCache.enabled = false; c.importCache.tree = "static"; c.importCache.topK = 1; c.installCache.preinstallTop = 1
var w = try worker(c)
var importHit: [Int64] = [], forkOnly: [Int64] = [], importHitSpaced: [Int64] = []
for _ in 0..<n {
    let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
    precondition(r.error.isEmpty && r.tier == .import && r.zygote == 1, "unexpected: \(r)")
    importHit.append(r.startupNanos)
    forkOnly.append(r.createNanos + r.forkNanos)
}
// The same with 50 ms between requests: the zygote's next standby child (cgroup joined, namespaces
// unshared) is then ready before the request comes; back to back, a request waits for the rest of it.
for _ in 0..<n {
    Sys.sleep(micros: 50_000)
    let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
    precondition(r.error.isEmpty && r.tier == .import && r.zygote == 1, "unexpected: \(r)")
    importHitSpaced.append(r.startupNanos)
}
let numpyDir = w.store.directory(numpy)
// Floor, with the same numpy on sys.path as the zygote, in the same run.
let cg = try Cgroups.detect()
let floorGroup = cg.group("bench-floor-\(getpid())")
try floorGroup.create(memoryLimitBytes: 1 << 30, pidsLimit: 64)
let floor = try ForkFloor.measure(python: python, numpyPath: numpyDir, group: floorGroup, root: state + "/floor-root", n: n)
try floorGroup.destroy()
w.shutdown()

// Handler-cache hits: one container, frozen and thawed.
var ch = PolicyConfig.presets["hs"]!
ch.installCache.preinstallTop = 1
w = try worker(ch)
_ = w.serve(handler: 0, arrivalNanos: 0, startNanos: 0)
var handlerHit: [Int64] = []
for _ in 0..<n {
    let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
    precondition(r.error.isEmpty && r.tier == .handler, "unexpected: \(r)")
    handlerHit.append(r.startupNanos)
}
w.shutdown()

// Cold starts: fresh interpreter in a new container, numpy pre-installed.
var cc = PolicyConfig.presets["hs"]!
cc.handlerCache.enabled = false; cc.installCache.preinstallTop = 1
w = try worker(cc)
var cold: [Int64] = []
for _ in 0..<n {
    let r = w.serve(handler: 0, arrivalNanos: w.now(), startNanos: w.now())
    precondition(r.error.isEmpty && r.tier == .cold, "unexpected: \(r)")
    cold.append(r.startupNanos)
}
let coldDir = w.store.directory(numpy)
var bare: [Int64] = []
for _ in 0..<n {
    let r = try ChildProcess.run(python.executable, ["-S", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import numpy", coldDir],
                                 environment: PythonInterpreter.cleanEnvironment())
    bare.append(r.elapsedNanos)
}
w.shutdown()
try? FileManager.default.removeItem(atPath: state)

print("")
let f = report("floor", floor)
let i = report("import hit", importHit)
_ = report("  create+fork", forkOnly)
let iSpaced = report("  50 ms apart", importHitSpaced)
let h = report("handler hit", handlerHit)
let cl = report("cold", cold)
let b = report("cold floor", bare)
print("")
print(String(format: "import hit p50 / floor p50: %.2fx back to back, %.2fx 50 ms apart (goal <= 1.5x)", i / f, iSpaced / f))
print(String(format: "handler hit p50: %.3f ms (goal < 1 ms)", h))
print(String(format: "cold p50 / (python -S + import numpy) p50: %.2fx (goal <= 1.2x)", cl / b))
