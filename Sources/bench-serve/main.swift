// bench-serve: `pipsqueak serve` under load, against floors measured in the same run.
//
//   handler-cache hits  wrk (POST /run/noop, a no-op f(event)) at 1, 4 and 16 connections against the worker
//                       (C cores, handler cache on: after a warm-up every request thaws a paused container);
//                       floor: the same HTTP server and cores answering from C bare Python processes that run
//                       the same f(event) over the same channel (no containers, no caches, no planner).
//                       Goals: throughput >= 70% of the floor's, p50 within 0.3 ms of the floor's.
//   import-cache hits   C threads at once, each request a handler not seen before that imports numpy (handler
//                       cache off, a static {numpy} zygote): start latency against the fork floor (a Python with
//                       numpy forks a child into a cgroup, new namespaces and a chroot), C floors at once.
//                       Goal: p50 <= 1.5x the floor's.
//   network isolation   what a container's own network namespace costs on a start that makes it (cold starts;
//                       import hits make it ahead, with the standby child): a Python process forks children
//                       that unshare the container's namespaces, with and without CLONE_NEWNET, alternating.
//
//   bench-serve [SECONDS per wrk point, default 5] [IMPORT STARTS per core, default 100]
// Needs root, cgroups, wrk (scripts/bench-serve installs it) and numpy's wheel (fetched from the index if
// the wheelhouse lacks it).
import CachePolicy
import Experiments
import Foundation
import Runtime
import Server
import Statistics
import Workload

let args = CommandLine.arguments
let seconds = args.count > 1 ? Int(args[1]) ?? 5 : 5
let importStarts = args.count > 2 ? Int(args[2]) ?? 100 : 100
let cores = ProcessInfo.processInfo.activeProcessorCount
let python = try PythonInterpreter.resolve()
let state = "/tmp/pipsqueak-bench-serve-\(getpid())"
try Sys.mkdirs(state + "/registry/noop")
try "def f(event):\n    return event\n".write(toFile: state + "/registry/noop/f.py", atomically: true, encoding: .utf8)
defer { try? FileManager.default.removeItem(atPath: state) }
print("bench-serve: \(cores) cores, \(seconds) s per wrk point; python \(python.version); \(MachineDescription.summary)")

/// Runs a server on `backend` (port picked by the kernel) for the duration of `body`.
func withServer<T>(_ backend: any ServeBackend, _ body: (Int) throws -> T) throws -> T {
    var o = ServeOptions()
    o.port = 0; o.cores = cores; o.queueLimit = 4096
    let server = WorkerServer(backend: backend, options: o)
    let port = try server.startInBackground()
    defer { server.stopAndWait() }
    return try body(port)
}

struct WrkResult { var rps: Double; var p50: Double; var p99: Double; var errors: Int }

/// wrk against `url` with `connections`; p50/p99 in ms.
func wrk(_ url: String, connections: Int) throws -> WrkResult {
    let lua = state + "/post.lua"
    try "wrk.method = \"POST\"\nwrk.body = \"{}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n".write(toFile: lua, atomically: true, encoding: .utf8)
    let r = try ChildProcess.run("/usr/bin/wrk", ["-t", "\(min(connections, 2))", "-c", "\(connections)", "-d", "\(seconds)s", "--latency", "-s", lua, url],
                                 timeoutSeconds: Double(seconds) + 60)
    precondition(r.succeeded, "wrk failed: \(r.stderr)")
    func ms(_ s: Substring) -> Double {
        let t = s.trimmingCharacters(in: .whitespaces)
        for (unit, f) in [("us", 1e-3), ("ms", 1.0), ("s", 1e3)] where t.hasSuffix(unit) {
            return (Double(t.dropLast(unit.count)) ?? .nan) * f
        }
        return .nan
    }
    var out = WrkResult(rps: .nan, p50: .nan, p99: .nan, errors: 0)
    for line in r.stdout.split(separator: "\n") {
        let f = line.split(separator: " ", omittingEmptySubsequences: true)
        if f.count == 2 && f[0] == "50%" { out.p50 = ms(f[1]) }
        if f.count == 2 && f[0] == "99%" { out.p99 = ms(f[1]) }
        if line.hasPrefix("Requests/sec:") { out.rps = Double(f.last ?? "") ?? .nan }
        if line.contains("Non-2xx or 3xx responses:") { out.errors += Int(f.last ?? "") ?? 0 }
        if line.contains("Socket errors:") { out.errors += 1 }
    }
    return out
}

// MARK: Handler-cache hits

func realWorker(_ config: PolicyConfig, packages: [String: Package] = [:], online: Bool = false,
                handlers: HandlerTable = HandlerTable([])) throws -> RuntimeWorker {
    let catalog = Catalog(packages: Array(packages.values), handlers: handlers)
    let planner = try Planner(config: config, catalog: catalog, popularPackages: Array(packages.keys))
    var o = RuntimeOptions(wheelhouse: MeasureOptions.defaultCache + "/wheelhouse")
    o.stateDirectory = state + "/state"; o.packageDirectory = state + "/packages"
    o.online = online; o.cgroupPoolSize = cores + 2; o.standbysPerZygote = cores
    try Sys.mkdirs(o.wheelhouse)
    let w = try RuntimeWorker(planner: planner, handlers: handlers, packages: packages, options: o, python: python)
    w.backgroundMaintenance = true
    return w
}

var hc = PolicyConfig.presets["h"]!
hc.handlerCache.memoryMB = 4096
let worker = try realWorker(hc)
let registry = HandlerRegistry(root: state + "/registry", worker: worker)
let connections = [1, 4, 16]
var real: [WrkResult] = []
try withServer(WorkerBackend(worker: worker, registry: registry)) { port in
    // Warm up: enough requests at once that every core has a paused container.
    _ = try wrk("http://127.0.0.1:\(port)/run/noop", connections: 16)
    for c in connections { real.append(try wrk("http://127.0.0.1:\(port)/run/noop", connections: c)) }
}
let tiers = worker.cacheState()
worker.shutdown()

var floorProcesses: [BareHandlerProcess] = []
for _ in 0..<cores { floorProcesses.append(try BareHandlerProcess(directory: state + "/registry/noop", python: python)) }
var floor: [WrkResult] = []
try withServer(BareBackend(processes: floorProcesses)) { port in
    _ = try wrk("http://127.0.0.1:\(port)/run/noop", connections: 16)
    for c in connections { floor.append(try wrk("http://127.0.0.1:\(port)/run/noop", connections: c)) }
}
floorProcesses.forEach { $0.close() }

print("")
print("handler-cache hits (no-op handler; the worker's handler hits \(tiers.handlerHits), misses \(tiers.handlerMisses))")
print("conns   worker req/s   p50 ms   p99 ms |  floor req/s   p50 ms   p99 ms | throughput  p50 diff  errors")
for (i, c) in connections.enumerated() {
    let a = real[i], b = floor[i]
    print(String(format: "%5d   %12.0f %8.3f %8.3f | %12.0f %8.3f %8.3f | %9.0f%% %+8.3f ms  %d/%d",
                 c, a.rps, a.p50, a.p99, b.rps, b.p50, b.p99, 100 * a.rps / b.rps, a.p50 - b.p50, a.errors, b.errors))
}
print("goals: throughput >= 70% of the floor's, p50 within 0.3 ms of the floor's")

// MARK: Import-cache hits under concurrency

let table = try PackageTable.read(path: ProjectPaths.packages)
guard let numpy = table["numpy"] else { fatalError("numpy is not in \(ProjectPaths.packages)") }
let distinct = HandlerTable((0..<(2 * cores * importStarts)).map { Handler(id: "np\($0)", customer: "c", packages: ["numpy"]) })
var ic = PolicyConfig.presets["all"]!
ic.handlerCache.enabled = false; ic.importCache.tree = "static"; ic.importCache.topK = 1; ic.installCache.preinstallTop = 1
let iw = try realWorker(ic, packages: ["numpy": numpy], online: true, handlers: distinct)
iw.settle()
final class Starts: @unchecked Sendable { let lock = NSLock(); var ns: [Int64] = []; var bad: [String] = [] }
/// `cores` threads at once, each serving `importStarts` new handlers, `gapMicros` apart.
func importHits(first: Int, gapMicros: Int) -> Starts {
    let starts = Starts()
    DispatchQueue.concurrentPerform(iterations: cores) { k in
        for j in 0..<importStarts {
            if gapMicros > 0 { Sys.sleep(micros: Int64(gapMicros)) }
            let h = Int32(first + k * importStarts + j)
            let s = iw.serveEvent(handler: h, event: ["request": j], arrivalNanos: iw.now(), startNanos: iw.now())
            starts.lock.withLock {
                if s.failure == nil && s.record.tier == .import && s.record.zygote == 1 { starts.ns.append(s.record.startupNanos) }
                else { starts.bad.append("\(s.record.tier) z\(s.record.zygote ?? -1) \(s.record.error)") }
            }
        }
    }
    precondition(starts.bad.isEmpty, "not all import hits: \(starts.bad.prefix(3))")
    return starts
}
let backToBack = importHits(first: 0, gapMicros: 0)
iw.settle()
let spaced = importHits(first: cores * importStarts, gapMicros: 50_000)
// The floor imports the same numpy: copied before the worker's install cache goes with it.
try Sys.mkdirs(state + "/numpy")
try FileManager.default.copyItem(atPath: iw.store.directory(numpy), toPath: state + "/numpy/site")
iw.shutdown()

// The fork floor, C at once.
let cg = try Cgroups.detect()
try cg.ensureParent()
final class Floors: @unchecked Sendable { let lock = NSLock(); var ns: [Int64] = [] }
let floors = Floors()
DispatchQueue.concurrentPerform(iterations: cores) { k in
    let g = cg.group("bench-serve-floor-\(getpid())-\(k)")
    try! g.create(memoryLimitBytes: 1 << 30, pidsLimit: 64)
    defer { try? g.destroy() }
    let ns = try! ForkFloor.measure(python: python, numpyPath: state + "/numpy/site", group: g, root: state + "/floor-root", n: importStarts)
    floors.lock.withLock { floors.ns += ns }
}
if cg.leftovers().isEmpty { cg.removeParent() }
let hit = Summary(backToBack.ns.map { Double($0) / 1e6 }), hitSpaced = Summary(spaced.ns.map { Double($0) / 1e6 })
let fl = Summary(floors.ns.map { Double($0) / 1e6 })
print("")
print("import-cache hits, \(cores) at once (each a new handler forking the {numpy} zygote; \(cores) standby children per zygote)")
print(String(format: "back to back  n=%5d  p50 %7.3f ms  p99 %7.3f ms", hit.count, hit.p50, hit.p99))
print(String(format: "50 ms apart   n=%5d  p50 %7.3f ms  p99 %7.3f ms", hitSpaced.count, hitSpaced.p50, hitSpaced.p99))
print(String(format: "fork floor    n=%5d  p50 %7.3f ms  p99 %7.3f ms", fl.count, fl.p50, fl.p99))
print(String(format: "import hit p50 / floor p50: %.2fx back to back, %.2fx 50 ms apart (goal <= 1.5x)", hit.p50 / fl.p50, hitSpaced.p50 / fl.p50))

// MARK: Network isolation

let netScript = """
import os, time, ctypes, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
BASE, NET = 0x00020000 | 0x04000000 | 0x08000000 | 0x20000000, 0x40000000
def one(flags):
    r, w = os.pipe()
    t0 = time.monotonic_ns()
    pid = os.fork()
    if pid == 0:
        if libc.unshare(flags) != 0: os._exit(3)
        os.write(w, b"x"); os._exit(0)
    os.read(r, 1)
    dt = time.monotonic_ns() - t0
    os.waitpid(pid, 0); os.close(r); os.close(w)
    return dt
a, b = [], []
for _ in range(int(sys.argv[1])):
    a.append(one(BASE)); b.append(one(BASE | NET))
print(" ".join(map(str, a)))
print(" ".join(map(str, b)))
"""
let nr = try ChildProcess.run(python.executable, ["-S", "-c", netScript, String(cores * importStarts * 2)],
                              environment: PythonInterpreter.cleanEnvironment(), timeoutSeconds: 600)
if !nr.succeeded { fatalError("the network namespace measurement failed: \(nr.stderr)") }
let lines = nr.stdout.split(separator: "\n").map { $0.split(separator: " ").compactMap { Double(String($0)).map { $0 / 1e6 } } }
let without = Summary(lines[0]), with = Summary(lines[1])
print("")
print("network isolation: fork + unshare(mount, uts, ipc, pid) with and without a network namespace, alternating")
print(String(format: "without        n=%5d  p50 %7.3f ms  p99 %7.3f ms", without.count, without.p50, without.p99))
print(String(format: "with CLONE_NEWNET n=%2d  p50 %7.3f ms  p99 %7.3f ms", with.count, with.p50, with.p99))
print(String(format: "a network namespace adds %.3f ms (p50) to a start that makes it; import hits make it ahead of need", with.p50 - without.p50))
