import CachePolicy
import DequeModule
import Statistics
import Workload

/// The discrete-event simulator: one worker with `cores` cores replays a trace, executing the planner's
/// decisions on a virtual clock with the cost model's costs.
///
/// Event order: completions and zygote-ready events at time t are handled before arrivals at t (a core
/// freed at t serves a request arriving at t); among scheduled events, by sequence number. Requests wait
/// FIFO when all cores are busy. The planner decides when a request starts, not when it arrives.
///
/// Memory stays flat however long the trace: invocations are streamed, records written as they finish.
public final class Simulation {
    enum Payload: Sendable { case done(Int32), zygoteReady(Int64), coreFree }

    struct Running {
        var record: RequestRecord
        var container: Int64
        var memoryBytes: Int64
        var pendingBuilds: [ZygoteSpec] = []
    }

    public let planner: Planner
    let costs: CostModel
    let catalog: Catalog
    let handlers: HandlerTable
    let cores: Int
    let noise: RandomSource?
    public var records: RecordWriter?
    public var decisions: DecisionLog?
    /// Called with each decision-log line (compare collects them).
    public var onDecision: ((String) -> Void)?
    /// Called with each finished record (tests collect them).
    public var onRecord: ((RequestRecord) -> Void)?
    /// Check every cache's invariants after every decision (tests).
    public var checkInvariants = false
    /// Build zygotes the way the one-thread real runtime does: right after the request that asked for
    /// them, holding its core, ready before the core serves anything else (for `compare`).
    public var synchronousZygoteBuilds = false
    /// Outcomes to report instead of the model's: called with (container or zygote, modeled bytes), returns
    /// the bytes to report and whether the container failed (for `compare`, fed from a real run).
    public var outcomes: ((Outcome, Int64) -> (bytes: Int64, failed: Bool))?

    public enum Outcome { case container(Int64), zygote(Int64) }

    var queue = EventQueue<Payload>()
    var waiting = Deque<(arrival: Int64, handler: Int32)>()
    var slots: [Running] = []
    var freeSlots: [Int32] = []
    var freeCores: Int
    var runningMemory: Int64 = 0
    var zygoteReadyAt: [Int64: Int64] = [:]
    var perPackageMemo: [Int32: (download: Int64, install: Int64, importNanos: Int64)] = [:]
    public private(set) var summary = SimulationSummary()

    /// Memory now: running containers plus the caches (paused containers, zygotes), bytes.
    public var memoryBytes: Int64 { runningMemory + planner.cachedMemoryBytes }
    /// Memory held by paused containers alone, bytes.
    public var handlerCacheBytes: Int64 { planner.handlerCache?.usedBytes ?? 0 }

    public init(planner: Planner, costs: CostModel, handlers: HandlerTable, cores: Int = 2, seed: UInt64) {
        precondition(cores >= 1)
        self.planner = planner
        self.costs = costs
        self.catalog = planner.catalog
        self.handlers = handlers
        self.cores = cores
        self.freeCores = cores
        noise = costs.noiseSigma > 0 ? RandomSource(seed: seed).substream("costs") : nil
        summary.estimatedPackages = costs.estimated.count
        for z in planner.initialZygotes { zygoteReadyAt[z.id] = 0 }
    }

    @inline(__always) func noisy(_ ns: Int64) -> Int64 {
        guard let n = noise, ns > 0 else { return ns }
        return Int64((Double(ns) * n.lognormalFactor(sigma: costs.noiseSigma)).rounded())
    }

    @inline(__always) func ms(_ v: Double) -> Int64 { noisy(Nanos.fromMillis(v)) }

    /// Runs the whole trace. - Throws: `InputError` from the trace reader.
    @discardableResult
    public func run(_ reader: TraceReader) throws -> SimulationSummary {
        try run(next: reader.nextInvocation)
    }

    /// Runs invocations from any source (in arrival order).
    @discardableResult
    public func run(next nextInvocation: () throws -> Invocation?) throws -> SimulationSummary {
        var next = try nextInvocation()
        var now: Int64 = 0
        while true {
            // Scheduled events first at equal times.
            if let t = queue.nextTime, next == nil || t <= next!.arrivalNanos {
                let e = queue.pop()!
                now = e.time
                summary.events += 1
                switch e.payload {
                case .done(let slot): finish(slot: slot, now: now)
                case .zygoteReady(let id): zygoteReady(id, now: now)
                case .coreFree: releaseCore(now: now)
                }
            } else if let inv = next {
                now = inv.arrivalNanos
                summary.events += 1
                if freeCores > 0 { start(arrival: now, handler: inv.handler, now: now) } else { waiting.append((now, inv.handler)) }
                next = try nextInvocation()
            } else {
                break
            }
        }
        summary.simulatedSeconds = Nanos.seconds(now)
        try records?.commit()
        try decisions?.commit()
        return summary
    }

    func start(arrival: Int64, handler: Int32, now: Int64) {
        freeCores -= 1
        let plan = planner.plan(handler: handler, now: now)
        log(planner.logLine(plan, handlerID: handlers[handler].id))
        let h = handlers[handler]
        let prof = catalog.profile(handler)
        var r = RequestRecord(request: plan.request, handler: handler, arrivalNanos: arrival, startNanos: now, endNanos: now,
                              tier: plan.tier, zygote: plan.zygote)
        var memory: Int64
        switch plan.tier {
        case .handler:
            r.createNanos = ms(costs.runtime.thawMillis)
            memory = 0 // already counted among paused containers until now
        case .import, .cold:
            for p in plan.install {
                r.downloadNanos += noisy(catalog.downloadNanos[Int(p)])
                r.installNanos += noisy(catalog.installNanos[Int(p)])
            }
            r.createNanos = ms(costs.runtime.containerCreateMillis)
            if plan.tier == .cold {
                r.createNanos += ms(costs.runtime.interpreterStartMillis)
            } else {
                r.forkNanos = ms(costs.runtime.forkMillis + costs.runtime.forkPerGBMillis * zygoteGB(plan.zygote))
            }
            for p in plan.imports { r.importNanos += noisy(catalog.importNanos[Int(p)]) }
            r.initNanos = ms(h.initMillis + costs.runtime.initOverheadMillis)
            memory = planner.modeledMemoryBytes(container: plan.container) ?? 0
        }
        r.execNanos = ms(h.execMillis + (plan.tier == .handler ? costs.runtime.thawedInvokeOverheadMillis : costs.runtime.invokeOverheadMillis))
        r.evictions = plan.evictions.count
        r.estimated = prof.touchesEstimated
        var total = r.downloadNanos + r.installNanos
        total += r.createNanos + r.forkNanos
        total += r.importNanos + r.initNanos + r.execNanos
        r.endNanos = now + total
        apply(plan.evictions)
        var pendingBuilds: [ZygoteSpec] = []
        if synchronousZygoteBuilds { pendingBuilds = plan.createZygotes } else { for z in plan.createZygotes { buildZygote(z, now: now) } }
        if plan.tier == .handler, Int(plan.container) < pausedMemory.count {
            memory = pausedMemory[Int(plan.container)]
            pausedMemory[Int(plan.container)] = 0
        }
        runningMemory += memory
        notePeak()
        let slot: Int32
        var running = Running(record: r, container: plan.container, memoryBytes: memory)
        running.pendingBuilds = pendingBuilds
        if let s = freeSlots.popLast() { slot = s; slots[Int(s)] = running } else { slot = Int32(slots.count); slots.append(running) }
        queue.schedule(at: r.endNanos, .done(slot))
        if checkInvariants { try! planner.checkInvariants() }
    }

    /// Memory of paused containers by container id (ids are dense: the planner reuses them).
    var pausedMemory: [Int64] = []

    /// A zygote's whole memory (interpreter and every package it holds), GB: what a fork copies tables for.
    func zygoteGB(_ id: Int64?) -> Double {
        guard costs.runtime.forkPerGBMillis > 0, let id, let z = planner.importCache?[id] else { return 0 }
        return Double(catalog.interpreterMemoryBytes + catalog.memoryBytes(z.packages)) / 1_073_741_824
    }

    func finish(slot: Int32, now: Int64) {
        let run = slots[Int(slot)]
        freeSlots.append(slot)
        runningMemory -= run.memoryBytes
        var reported = run.memoryBytes, failed = false
        if let o = outcomes { (reported, failed) = o(.container(run.container), run.memoryBytes) }
        let idle = planner.finished(container: run.container, now: now, memoryBytes: reported, failed: failed)
        log(planner.logLine(idle))
        apply(idle.evictions)
        if idle.paused {
            let i = Int(run.container)
            if i >= pausedMemory.count { pausedMemory.append(contentsOf: repeatElement(0, count: i - pausedMemory.count + 1)) }
            pausedMemory[i] = run.memoryBytes
        }
        summary.add(run.record)
        records?.append(run.record)
        onRecord?(run.record)
        if checkInvariants { try! planner.checkInvariants() }
        if run.pendingBuilds.isEmpty {
            releaseCore(now: now)
        } else {
            // The core builds the zygotes one after another, then is free.
            var t = now
            for z in run.pendingBuilds {
                summary.zygotesCreated += 1
                t += zygoteBuildCost(z)
                zygoteReadyAt[z.id] = t
                queue.schedule(at: t, .zygoteReady(z.id))
            }
            queue.schedule(at: t, .coreFree)
        }
    }

    func releaseCore(now: Int64) {
        freeCores += 1
        if let w = waiting.popFirst() { start(arrival: w.arrival, handler: w.handler, now: now) }
    }

    func zygoteBuildCost(_ z: ZygoteSpec) -> Int64 {
        var cost = ms(costs.runtime.forkMillis)
        for p in z.install { cost += noisy(catalog.downloadNanos[Int(p)]) + noisy(catalog.installNanos[Int(p)]) }
        for p in z.imports { cost += noisy(catalog.importNanos[Int(p)]) }
        return cost
    }

    func buildZygote(_ z: ZygoteSpec, now: Int64) {
        summary.zygotesCreated += 1
        let parentReady = z.parent.flatMap { zygoteReadyAt[$0] } ?? now
        let ready = max(now, parentReady) + zygoteBuildCost(z)
        zygoteReadyAt[z.id] = ready
        queue.schedule(at: ready, .zygoteReady(z.id))
    }

    func zygoteReady(_ id: Int64, now: Int64) {
        guard zygoteReadyAt[id] != nil else { return } // evicted while building
        // The simulator reports the modeled memory: the planner's own estimate.
        guard let z = planner.importCache?[id] else { return } // evicted while building is not possible; be safe
        var bytes = z.memoryBytes
        if let o = outcomes {
            let (b, failed) = o(.zygote(id), z.memoryBytes)
            if failed { // the real run could not build it: the planner hears what the runtime told it
                let (ev, _) = planner.zygoteFailed(id, now: now)
                log(planner.logLineFailed(zygote: id, now: now, evictions: ev))
                apply(ev)
                return
            }
            bytes = b
        }
        let r = planner.zygoteReady(id, now: now, memoryBytes: bytes)
        log(planner.logLine(r))
        apply(r.evictions)
        notePeak()
        if checkInvariants { try! planner.checkInvariants() }
    }

    /// Appends a decision-log line; the line is only formatted when someone reads the log.
    @inline(__always) func log(_ line: @autoclosure () -> String) {
        guard decisions != nil || onDecision != nil else { return }
        let l = line()
        decisions?.append(l)
        onDecision?(l)
    }

    func apply(_ evictions: [Eviction]) {
        for e in evictions {
            switch e {
            case .container(let id, _): summary.evictedContainers += 1; if Int(id) < pausedMemory.count { pausedMemory[Int(id)] = 0 }
            case .zygote(let id): summary.evictedZygotes += 1; zygoteReadyAt[id] = nil
            case .package: summary.evictedPackages += 1
            }
        }
    }

    @inline(__always) func notePeak() {
        let m = runningMemory + planner.cachedMemoryBytes
        if m > summary.peakMemoryBytes { summary.peakMemoryBytes = m }
    }
}
