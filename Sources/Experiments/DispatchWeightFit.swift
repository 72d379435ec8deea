import CachePolicy
import Foundation
import Runtime
import Simulation
import Statistics
import Workload

/// The dispatch's weight in the simulator's processor sharing (`RuntimeCosts.dispatchWeight`), fitted to
/// served hits: the server's and client's threads on a real machine need not take an equal share of a core
/// from the handlers beside them (not measured why; likely the kernel running a handler woken for its request
/// ahead of threads that have been running, and the containers sitting in cgroups of their own). The simulator replays the served hits'
/// arrivals at the server (the same handlers, each container paused beforehand, the cores shared, the queue
/// bound of `serve`) with each candidate weight, and the weight whose simulated latencies come closest to the
/// measured ones is taken: closest as the sum over the streams of |ln(simulated / measured)| of the hits'
/// latency p50 and p90, the simulated figures the mean over `seeds` seeds.
struct DispatchWeightFit {
    /// The weights tried (0: the dispatch only gets cores no request wants; 1: an equal share).
    static let candidates = (0...20).map { Double($0) / 20 }
    static let seeds: [UInt64] = [1, 2, 3]

    struct Stream { var name: String; var hits: [RequestRecord] }
    struct Point { var weight: Double; var p50: [Double]; var p90: [Double]; var error: Double }
    struct Result {
        var streams: [Stream]; var measured: [(p50: Double, p90: Double)]; var points: [Point]; var best: Point
        /// The machine around the loaded stream: how it was settled before it, and how busy its cores were
        /// while it was served ("" where not said).
        var machine = ""
        var weight: Double { best.weight }

        /// The measured latency p50/p90 of each stream, ms, as "name p50/p90 ms, ...".
        var measuredText: String {
            zip(streams, measured).map { String(format: "%@ %.3f/%.3f ms", $0.name, $1.p50, $1.p90) }.joined(separator: ", ")
        }

        /// The simulated p50 and p90 of each stream at `p`'s weight.
        func simulatedText(_ p: Point) -> String {
            zip(streams, zip(p.p50, p.p90)).map { String(format: "%@ p50 %.3f p90 %.3f", $0.name, $1.0, $1.1) }.joined(separator: ", ")
        }

    }

    /// The round whose weight is the median of the rounds' (the lower middle one of an even count; nil
    /// when there are none).
    static func median(_ rounds: [Result]) -> Result? {
        rounds.isEmpty ? nil : rounds.sorted { $0.weight < $1.weight }[(rounds.count - 1) / 2]
    }

    /// What the cost file's header says of the weight: every round's fit, and the median round's figures.
    static func header(_ rounds: [Result], median: Result) -> String {
        String(format: "dispatch_weight: the dispatch's weight against a request's 1 with the cores shared, fitted (of 0, 0.05, ..., 1) so that the simulator's replay of the served hits' arrivals matches their latency p50 and p90, in each of %d rounds of the loaded stream spread over the calibration (%@), the median kept (its round: measured %@; simulated at %.2f: %@)",
               rounds.count, rounds.map { String(format: "%.2f", $0.weight) + ($0.machine.isEmpty ? "" : " [\($0.machine)]") }.joined(separator: ", "), median.measuredText, median.weight, median.simulatedText(median.best))
    }

    let costs: RuntimeCosts
    let cores: Int
    let queueLimit: Int
    /// The handlers the streams cycle through (each record's `handler` is one of them).
    let handlers: Int
    /// Those handlers as the simulator sees them: no packages, the calibration's 1 ms of work in init and per request.
    let table: HandlerTable

    init(costs: RuntimeCosts, cores: Int, queueLimit: Int, handlers: Int) {
        self.costs = costs; self.cores = cores; self.queueLimit = queueLimit; self.handlers = handlers
        table = HandlerTable((0..<handlers).map {
            Handler(id: "calib-\($0)", customer: "c", packages: [], initMillis: CalibrateJob.workMillis, execMillis: CalibrateJob.workMillis)
        })
    }

    func fit(_ streams: [Stream]) throws -> Result {
        let measured = streams.map { s -> (p50: Double, p90: Double) in
            let l = Summary(s.hits.map { Double($0.latencyNanos) / 1e6 })
            return (l.p50, l.quantile(0.9))
        }
        var points: [Point] = []
        for w in DispatchWeightFit.candidates {
            var p = Point(weight: w, p50: [], p90: [], error: 0)
            for (i, s) in streams.enumerated() {
                var p50 = 0.0, p90 = 0.0
                for seed in DispatchWeightFit.seeds {
                    let l = Summary(try simulate(s.hits, weight: w, seed: seed).map { Double($0.latencyNanos) / 1e6 })
                    p50 += l.p50 / Double(DispatchWeightFit.seeds.count); p90 += l.quantile(0.9) / Double(DispatchWeightFit.seeds.count)
                }
                p.p50.append(p50); p.p90.append(p90)
                p.error += abs(log(p50 / measured[i].p50)) + abs(log(p90 / measured[i].p90))
            }
            points.append(p)
        }
        return Result(streams: streams, measured: measured, points: points, best: points.min { $0.error < $1.error }!)
    }

    /// The simulator's handler-cache hits for `hits`' arrivals (in arrival order) with the dispatch at
    /// `weight`: each handler started once first, 100 ms apart, so that every request of the stream finds its
    /// container paused, as the real stream did.
    func simulate(_ hits: [RequestRecord], weight: Double, seed: UInt64) throws -> [RequestRecord] {
        var runtime = costs
        runtime.dispatchWeight = weight
        let model = try CostModel(table: PackageTable(), handlers: table, runtime: runtime, seed: seed)
        var config = PolicyConfig.presets["all"]!
        config.importCache.enabled = false
        let planner = try Planner(config: config, catalog: model.catalog(handlers: table), popularPackages: [])
        let sim = Simulation(planner: planner, costs: model, handlers: table, cores: cores, seed: seed)
        sim.cpuModel = .share
        sim.queueLimit = queueLimit
        let warm = Int64(handlers) * 100_000_000
        var out: [RequestRecord] = []
        sim.lifecycle.onRecord = { r in if r.arrivalNanos >= warm, r.error.isEmpty, r.tier == .handler { out.append(r) } }
        let sorted = hits.sorted { $0.arrivalNanos < $1.arrivalNanos }
        guard let first = sorted.first?.arrivalNanos else { return [] }
        var i = 0
        _ = try sim.run(next: {
            defer { i += 1 }
            if i < handlers { return Invocation(arrivalNanos: Int64(i) * 100_000_000, handler: Int32(i)) }
            let j = i - handlers
            guard j < sorted.count else { return nil }
            return Invocation(arrivalNanos: warm + 1_000_000_000 + sorted[j].arrivalNanos - first, handler: sorted[j].handler)
        })
        return out
    }
}

extension CalibrationBench {
    /// The worker's queue bound in the streams served over HTTP (`overHTTP`), as `serve` sets one up.
    static let servedQueueLimit = 64

    /// How far the streams of `servedHits` load the cores: the second stream's rate is this share of what the
    /// cores could serve of hits that cost what the first measured (its median latency plus the dispatch).
    static let loadedShare = 0.75

    /// The machine's CPU time while a stream was served (from its first send to its last reply): every
    /// core's counters before and after, and this process's CPU time and the wall over it, ns.
    struct StreamCPU {
        var before: MachineCPUTimes?
        var after: MachineCPUTimes?
        var ownNanos: Int64
        var wallNanos: Int64
    }

    /// `n` handler-cache hits over HTTP at `rate` per second (Poisson; round `round`'s arrivals) across
    /// `dispatchHandlers` paused containers, as `dispatch` serves its hits over HTTP: the records served (hits
    /// only), and the machine's CPU time over the stream.
    func servedHits(count n: Int, rate: Double, round: Int = 1) throws -> (hits: [RequestRecord], cpu: StreamCPU) {
        let k = CalibrationBench.dispatchHandlers
        let w = try worker(tiny, handlers: k) { $0.importCache.enabled = false; $0.installCache.preinstallTop = 1 }
        defer { w.shutdown() }
        try pauseEach(w, handlers: k)
        let (server, client, names) = try overHTTP(w, handlers: k)
        defer { server.stopAndWait() }
        defer { try? waitFor { await client.shutdown() } }
        let served = HTTPOutcomes()
        let (before, own, wall) = (MachineCPUTimes.now(), Sys.processCPUNanos(), Sys.monotonicNanos())
        try openLoop(client, names: names, rate: rate, gaps: RandomSource(seed: 1).substream(round == 1 ? "calibrate-loaded-hits" : "calibrate-loaded-hits-\(round)"), into: served) { i in
            i <= n ? Int32(i % k) : nil
        }
        let cpu = StreamCPU(before: before, after: MachineCPUTimes.now(), ownNanos: Sys.processCPUNanos() - own, wallNanos: Sys.monotonicNanos() - wall)
        try served.check(sent: n)
        return (served.kept.filter { $0.tier == .handler }, cpu)
    }
}
