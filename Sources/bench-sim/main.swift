// bench-sim: how fast the simulator runs, against the bare event-queue floor, in one invocation.
//
// Generates a mixed trace (2,000 handlers with real import sets, Zipf popularity) of N requests, then runs:
//   end to end  — read the trace file, simulate, write per-request records;
//   engine only — the same invocations from memory, no records;
//   floor       — the same number of events through the same EventQueue with no model behind them;
// and prints requests/s, events/s, the ratio to the floor, and the peak resident memory after a run of
// N/4 and of N requests (flat means memory does not grow with the trace).
import CachePolicy
import Experiments
import Foundation
import Replay
import Results
import Simulation
import Statistics
import Workload

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func peakRSSMB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return .nan }
    return Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") .map { $0 / 1024 } ?? .nan
}

let args = CommandLine.arguments
let requests = args.count > 1 ? Int(args[1]) ?? 1_000_000 : 1_000_000
/// How the simulated cores give out CPU time (second argument: share, the default, or hold).
let cpuModel = args.count > 2 ? Simulation.CPUModel(rawValue: args[2]) ?? .share : .share
let dir = NSTemporaryDirectory() + "pipsqueak-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: dir) }

let sets = try TraceJobs.loadHandlerSets()
let rate = 20.0 // requests/s: a load 64 cores carry, so the backlog (and memory) stays bounded
func makeTrace(_ n: Int, _ name: String) throws -> Trace {
    let (table, body) = try TraceGenerator.mixed(sets: sets, handlers: 2000, zipfExponent: 1.0, rate: rate,
                                                 seconds: Double(n) / rate, seed: 1)
    try TraceJobs.write(table: table, body: body, to: dir + "/\(name).csv", comments: [])
    return try Trace(path: dir + "/\(name).csv")
}

let packagesPath = ProjectPaths.packages
let table = try PackageTable.read(path: packagesPath)
let overlap = try ImportOverlap.beside(packagesPath: packagesPath)
var config = PolicyConfig.presets["all"]!
config.handlerCache.memoryMB = 2048; config.importCache.memoryMB = 1024; config.installCache.diskMB = 4096

/// Simulates `trace` (from `next`, or its file), writing per-request records to `records` when given.
func simulate(_ trace: Trace, records: String?, next: (() throws -> Invocation?)? = nil) throws -> SimulationSummary {
    let costs = try CostModel(table: table, handlers: trace.handlers, overlap: overlap, seed: 1)
    let planner = try Planner(config: config, catalog: costs.catalog(handlers: trace.handlers), popularPackages: [])
    let sim = Simulation(planner: planner, costs: costs, handlers: trace.handlers, cores: 64, seed: 1)
    sim.cpuModel = cpuModel
    var writer: RecordWriter?
    if let r = records {
        let w = try RecordWriter(path: r, handlers: trace.handlers, comments: [])
        sim.lifecycle.onRecord = { w.append($0) }
        writer = w
    }
    let summary = try next.map { try sim.run(next: $0) } ?? sim.run(try trace.makeReader())
    try writer?.commit()
    return summary
}

print("bench-sim: \(requests) requests, 2000 handlers, config \(config.summary), cores 64, cpu model \(cpuModel.rawValue)")
let small = try makeTrace(requests / 4, "small")
let t0 = now()
_ = try simulate(small, records: dir + "/small-records.csv")
let smallSecs = Double(now() - t0) / 1e9
let peakSmall = peakRSSMB()

let trace = try makeTrace(requests, "big")
var t = now()
let e2e = try simulate(trace, records: dir + "/records.csv")
let e2eSecs = Double(now() - t) / 1e9
let peakBig = peakRSSMB()

let invocations = Array(try trace.makeReader())
var i = 0
t = now()
let engine = try simulate(trace, records: nil, next: { () -> Invocation? in
    guard i < invocations.count else { return nil }
    defer { i += 1 }
    return invocations[i]
})
let engineSecs = Double(now() - t) / 1e9

// Floor: the same number of events through the same queue, no model: each arrival schedules one completion.
var q = EventQueue<Int32>()
var handled = 0
t = now()
var j = 0
while handled < engine.events {
    if let nt = q.nextTime, j >= invocations.count || nt <= invocations[j].arrivalNanos {
        _ = q.pop(); handled += 1
    } else if j < invocations.count {
        q.schedule(at: invocations[j].arrivalNanos + 1_000_000, invocations[j].handler); j += 1; handled += 1
    } else { break }
}
let floorSecs = Double(now() - t) / 1e9

func rate(_ n: Int, _ s: Double) -> String { String(format: "%.0f", Double(n) / s) }
print("")
print("run            requests/s     events/s   seconds")
print("end to end   \(rate(e2e.requests, e2eSecs).padding(toLength: 12, withPad: " ", startingAt: 0)) \(rate(e2e.events, e2eSecs).padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%.3f", e2eSecs))")
print("engine only  \(rate(engine.requests, engineSecs).padding(toLength: 12, withPad: " ", startingAt: 0)) \(rate(engine.events, engineSecs).padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%.3f", engineSecs))")
print("floor        \("-".padding(toLength: 12, withPad: " ", startingAt: 0)) \(rate(handled, floorSecs).padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%.3f", floorSecs))")
print(String(format: "\nengine event rate / floor event rate: %.2f (floor is %.1fx faster)", (Double(engine.events) / engineSecs) / (Double(handled) / floorSecs), (Double(handled) / floorSecs) / (Double(engine.events) / engineSecs)))
print(String(format: "end to end at N/4 (%d requests): %.3f s", requests / 4, smallSecs))
print(String(format: "peak RSS after the N/4 run: %.1f MB; after the N run: %.1f MB (before loading N invocations into memory for the engine-only run)", peakSmall, peakBig))
print(String(format: "tiers: handler %.1f%%, import %.1f%%, cold %.1f%%; evictions: %d containers, %d zygotes, %d packages",
             100 * e2e.ratio(.handler), 100 * e2e.ratio(.import), 100 * e2e.ratio(.cold), e2e.evictedContainers, e2e.evictedZygotes, e2e.evictedPackages))
