import CachePolicy
import Replay
import Statistics
import Workload

/// The discrete-event simulator: one worker with `cores` cores replays a trace, executing the planner's
/// decisions on a virtual clock with the cost model's costs.
///
/// The replay itself (arrivals, cores, the FIFO queue, event order) is `Replay`'s, the same driver the real
/// runtime replays on over a wall clock; the plans are `PlanLifecycle`'s. This type is the mechanics: what
/// each step costs, when a request and a zygote build end. The planner decides when a request starts, not
/// when it arrives. Memory stays flat however long the trace: invocations are streamed, records handed on
/// as they finish.
public final class Simulation: ReplayExecutor {
    public enum Event: Sendable {
        case done(Int32), zygoteReady(Int64), coreFree
        /// The earliest end among the jobs sharing the cores, of this generation (`cpuModel` `.share`).
        case shared(Int64)
        /// The builder may start the build at its head (a package it counts on is installed by now).
        case builderWake
    }

    /// How the simulator gives CPU time to requests, the builder and the worker's own per-request work.
    public enum CPUModel: String, CaseIterable, Sendable {
        /// The cores shared equally among all that is runnable, re-timed as work comes and goes
        /// (`ProcessorSharing`); a request frees its core when it ends and the worker's per-request work
        /// (`dispatch_ms`) runs beside the requests as one more runnable job.
        case share
        /// Each request's CPU phases stretched once, at its start, by how oversubscribed the cores are then;
        /// its core held for `dispatch_ms` after it ends (before processor sharing was modeled).
        case hold
    }

    struct Running {
        var record: RequestRecord
        var container: Int64
        var memoryBytes: Int64
        var pendingBuilds: [ZygoteSpec] = []
        /// The zygote an import start forked from (its standby child to be replaced after the request).
        var forkedFrom: Int64? = nil
        /// It took a pooled cgroup (a cold start, or a fork with no standby child): one to be made after.
        var tookCgroup = false
        /// With the cores shared: how long it waits for installs started by others (not CPU work), ns.
        var wait: Int64 = 0
        /// With the cores shared: its hand-off to the core's thread (before its phases; part of its queue time), ns.
        var handoff: Int64 = 0
    }

    /// A standby child given to a zygote: in its list (the start can take it) from `available`, ready (in its
    /// cgroup, namespaces made) from `ready`, ns.
    struct StandbyChild { var available: Int64, ready: Int64 }

    /// Owns every plan from start to finish (decision log, outcomes, records); the simulator supplies
    /// only the mechanics: how long each step takes on the virtual clock.
    public let lifecycle: PlanLifecycle
    public var planner: Planner { lifecycle.planner }
    let costs: CostModel
    let catalog: Catalog
    /// Each handler's init and execution time, ms (read per request: no copy of its `Handler`).
    let initMillis: [Double], execMillis: [Double]
    let cores: Int
    let noise: RandomSource?
    /// The timed primitives whose cost is drawn per request from the calibrated spread, by `Primitive`.
    let spreads: [CostSpread?]
    /// Per primitive: its spread with every calibrating core busy, and its median alone (what the modeled
    /// cost stands for), by `Primitive`.
    let contended: [(spread: CostSpread, aloneMedian: Double)?]
    typealias Primitive = RuntimeCosts.Timed
    let contentionCores: Int
    /// How long a core stays busy after each request (`RuntimeCosts.dispatchMillis`), ns.
    let dispatchNanos: Int64
    /// Draws of the primitives' spreads (its own substream of the seed: adding spreads leaves the noise's
    /// draws where they were).
    let spreadDraws: RandomSource
    /// Draw each primitive's cost from its calibrated spread (when the cost model has one) and scale it by
    /// how many cores are busy; off: every request pays the median, as before spreads were measured.
    public var drawsSpreads = true
    /// Check every cache's invariants after every decision (tests).
    public var checkInvariants = false
    /// Build zygotes the way the one-thread real runtime does: right after the request that asked for
    /// them, holding its core, ready before the core serves anything else (for `compare`).
    public var synchronousZygoteBuilds = false
    /// Stretch installs, imports, init and execution by the share of a core each gets when more runs than
    /// there are cores (every core running a request while the builder works); off: as measured alone.
    public var modelsOversubscription = true
    /// How CPU time is given out (`share`: processor sharing; `hold`: the earlier snapshot stretch and a held
    /// core). `synchronousZygoteBuilds` (the one-thread runtime) always holds.
    public var cpuModel = CPUModel.share
    /// Whether the cores are shared (processor sharing) in this run.
    var sharesCores: Bool { cpuModel == .share && !synchronousZygoteBuilds }
    var sharing: ProcessorSharing
    /// With the cores shared: the builder's work in order (zygote builds, maintenance) and the one it is on.
    enum BuilderTask { case build(ZygoteSpec), maintain(Running) }
    var builderTasks: [BuilderTask] = []
    var builderHead = 0
    var builderCurrent: (task: BuilderTask, installs: Int64)? = nil
    /// When the builder is to look at its head again (a build waiting for installs), ns; -1: not waiting.
    var builderWakeAt: Int64 = -1
    /// Every simulated import takes this many times the catalog's cost, which the planner's estimates keep
    /// (`compare`: how much faster or slower the machine imported over the real run than just before it,
    /// when the real planner's estimates were fixed).
    public var importCharge = 1.0
    /// Every simulated install takes this many times the catalog's cost, which the planner's estimates keep
    /// (`compare`: how much faster or slower the machine installed around the real run than at calibration).
    public var installCharge = 1.0
    /// Requests that may wait for a core; more are refused (`summary.rejected`), as a worker's queue bound.
    public var queueLimit = Int.max
    /// Standby children each zygote keeps (the real worker's `standbysPerZygote`: `serve` keeps one per core).
    /// Modeled only when the cost model has `directForkMillis` (else every fork costs `forkMillis`).
    public var standbysPerZygote: Int
    /// Whether forks are modeled with standby children (a cost model calibrated with them).
    public var modelsStandbys: Bool { costs.runtime.directForkMillis > 0 && standbysPerZygote > 0 }
    /// Each zygote's standby children, oldest first (the worker's maintenance gives them one after another).
    var standbys: [Int64: [StandbyChild]] = [:]
    /// The modeled cgroup joins' wait when none came lately (`cgroup_attach_wait_ms`) and how long after one
    /// the next is still cheap, ns; 0: not modeled.
    let attachWaitNanos: Int64, attachWindowNanos: Int64
    /// `RuntimeCosts.importOverlapCredit`, within 0...1.
    let overlapCredit: Double
    /// `RuntimeCosts.servedImportScale` (1 when not positive).
    let servedImportScale: Double
    /// When the latest modeled cgroup join ended, ns.
    var lastAttach = Int64.min / 2

    var slots: [Running] = []
    var freeSlots: [Int32] = []
    var runningMemory: Int64 = 0
    /// When each zygote the simulator is building finishes (mechanics: removed once it is ready).
    var buildEnds: [Int64: Int64] = [:]
    /// When the one builder is done with the builds it was given, ns: the real worker builds zygotes one after
    /// another on one maintenance thread, beside the requests' cores (not with `synchronousZygoteBuilds`).
    var builderFreeAt: Int64 = 0
    /// When each package's latest install ends, ns (0: never installed here); by package id.
    var installedAt: [Int64]
    public internal(set) var summary = SimulationSummary()

    /// Memory now: running containers plus the caches (paused containers, zygotes), bytes.
    public var memoryBytes: Int64 { runningMemory + planner.cachedMemoryBytes }
    /// Memory held by paused containers alone, bytes.
    public var handlerCacheBytes: Int64 { planner.handlerCache?.usedBytes ?? 0 }

    public init(planner: Planner, costs: CostModel, handlers: HandlerTable, cores: Int = 2, seed: UInt64) {
        precondition(cores >= 1)
        lifecycle = PlanLifecycle(planner: planner, handlers: handlers)
        self.costs = costs
        self.catalog = planner.catalog
        // A generated handler writes every page of its trace's memory when it loads, after its packages.
        initMillis = handlers.handlers.map { $0.initMillis + Bytes.mb($0.memoryBytes) * costs.runtime.memoryTouchMillisPerMB }
        execMillis = handlers.handlers.map(\.execMillis)
        self.cores = cores
        sharing = ProcessorSharing(cores: cores, dispatchWeight: costs.runtime.dispatchWeight)
        standbysPerZygote = cores
        installedAt = [Int64](repeating: 0, count: planner.catalog.count)
        noise = costs.noiseSigma > 0 ? RandomSource(seed: seed).substream("costs") : nil
        spreads = Primitive.allCases.map { costs.runtime.spreads[$0.name] }
        contended = Primitive.allCases.map { p in
            let alone = costs.runtime[keyPath: p.keyPath]
            guard let c = costs.runtime.contendedSpreads[p.name], alone > 0 else { return nil }
            return (c, alone)
        }
        contentionCores = costs.runtime.contentionCores
        overlapCredit = min(1, max(0, costs.runtime.importOverlapCredit))
        servedImportScale = costs.runtime.servedImportScale > 0 ? costs.runtime.servedImportScale : 1
        attachWaitNanos = Nanos.fromMillis(costs.runtime.cgroupAttachWaitMillis)
        attachWindowNanos = Nanos.fromMillis(costs.runtime.cgroupAttachWindowMillis)
        dispatchNanos = Nanos.fromMillis(costs.runtime.dispatchMillis)
        spreadDraws = RandomSource(seed: seed).substream("primitives")
        summary.estimatedPackages = costs.estimated.count
        summary.cores = cores
        summary.dispatchNanos = dispatchNanos
        lifecycle.carryOut = { [unowned(unsafe) self] e in self.apply(e) } // self owns the lifecycle
    }

    @inline(__always) func noisy(_ ns: Int64) -> Int64 {
        guard let n = noise, ns > 0 else { return ns }
        return Int64((Double(ns) * n.lognormalFactor(sigma: costs.noiseSigma)).rounded())
    }

    @inline(__always) func ms(_ v: Double) -> Int64 { noisy(Nanos.fromMillis(v)) }

    /// Requests running now (a request being started counts itself).
    var busyCores = 1
    /// Requests waiting for a core now (the replay's queue, while `run` runs).
    var waitingRequests: () -> Int = { 0 }

    /// `millis` of primitive `p` for one request, scaled by a draw: from its contended spread with
    /// probability the share of the other cores busy (against the calibration's all busy), else from its
    /// spread alone; ms. With the cores shared, always from its spread alone: the contended spreads were
    /// measured with the server's threads sharing the cores too, which the sharing now models itself (drawn
    /// from both as well, campaign L's micro-numpy at 90% came out at handler p50 +160..+175%, against +1..+3%).
    @inline(__always) func primitiveMillis(_ p: Primitive, _ millis: Double) -> Double {
        guard drawsSpreads, millis > 0 else { return millis }
        if !sharesCores, let c = contended[p.rawValue], busyCores > 1, contentionCores > 1,
           spreadDraws.uniform() < min(1, Double(busyCores - 1) / Double(contentionCores - 1)) {
            return millis * c.spread.value(at: spreadDraws.uniform()) / c.aloneMedian
        }
        if let s = spreads[p.rawValue] { return millis * s.ratio(at: spreadDraws.uniform()) }
        return millis
    }

    @inline(__always) func cost(_ p: Primitive, _ millis: Double) -> Int64 { ms(primitiveMillis(p, millis)) }

    /// A process joins a cgroup at `t` (a fork with no standby child, a standby child, a zygote's build): what
    /// it waits beyond the back-to-back figure, the grace period when the latest join ended more than the
    /// window before (0 when not modeled), ns. Joins come in the order the simulator works them out, which
    /// is near enough the order they happen in.
    @inline(__always) func attachWait(at t: Int64) -> Int64 {
        guard attachWaitNanos > 0 else { return 0 }
        let wait = t - lastAttach > attachWindowNanos ? attachWaitNanos : 0
        lastAttach = max(lastAttach, t + wait)
        return wait
    }

    /// Runs the whole trace. - Throws: `InputError` from the trace reader.
    @discardableResult
    public func run(_ reader: TraceReader) throws -> SimulationSummary {
        try run(next: reader.nextInvocation)
    }

    /// Runs invocations from any source (in arrival order).
    @discardableResult
    public func run(next nextInvocation: () throws -> Invocation?) throws -> SimulationSummary {
        let replay = Replay<Simulation, VirtualClock>(cores: cores, clock: VirtualClock())
        replay.queueLimit = queueLimit
        waitingRequests = { [unowned replay] in replay.waitingCount }
        defer { waitingRequests = { 0 } }
        let end = try replay.run(self, next: nextInvocation)
        summary.events += replay.events
        summary.queued = replay.queued; summary.maxWaiting = replay.maxWaiting; summary.rejected = replay.rejected
        summary.simulatedSeconds = Nanos.seconds(end)
        return summary
    }

    /// The zygotes built at start-up have their standby children ready when the first request comes, as the
    /// worker gives them before it serves (set on the first start: `standbysPerZygote` may change until then).
    var standbysSeeded = false
    func seedStandbys() {
        standbysSeeded = true
        guard modelsStandbys else { return }
        for z in planner.initialZygotes {
            standbys[z.id] = Array(repeating: StandbyChild(available: 0, ready: 0), count: standbysPerZygote)
        }
    }

    public func start(_ inv: Invocation, now: Int64, queue: inout EventQueue<Event>) {
        if !standbysSeeded { seedStandbys() }
        var (plan, r) = lifecycle.start(handler: inv.handler, arrivalNanos: inv.arrivalNanos, now: now)
        let hi = Int(inv.handler)
        var memory: Int64
        var forkedFrom: Int64? = nil, tookCgroup = false
        // The builder, while it builds, runs beside the requests: it counts as one more busy core.
        let shares = sharesCores
        busyCores = busyRequests(including: true) + ((shares ? builderCurrent != nil : builderFreeAt > now) ? 1 : 0)
        // Installs, imports, the handler's init and execution are CPU work: with every core running a request
        // and the builder busy too, more runs than there are cores, and each gets a share of one. Shared
        // cores re-time it as work comes and goes; else stretched once, now.
        let cpu = shares ? 1 : slowdown(runnable: busyCores)
        let importContention = contention(costs.runtime.importContention, others: busyCores - 1)
        let installContention = contention(costs.runtime.installContention, others: busyCores - 1)
        var wait: Int64 = 0
        switch plan.tier {
        case .handler:
            r.createNanos = cost(.thaw, costs.runtime.thawMillis)
            // Counted among paused containers until now; the planner holds what it was paused with.
            memory = planner.modeledMemoryBytes(container: plan.container) ?? 0
        case .import, .cold:
            for p in plan.install {
                r.downloadNanos += noisy(catalog.downloadNanos[Int(p)])
                r.installNanos += stretch(noisy(catalog.installNanos[Int(p)]), cpu * installCharge * installContention)
                installedAt[Int(p)] = now + r.downloadNanos + r.installNanos
            }
            // A package the plan counts on as installed may still be being installed for a request started
            // earlier (the planner counts it from that plan on): wait for it, as the real worker does; the
            // wait is install time.
            let ready = now + r.downloadNanos + r.installNanos
            var until = ready
            for p in catalog.profiles[hi].importOrder where installedAt[Int(p)] > until { until = installedAt[Int(p)] }
            r.installNanos += until - ready
            wait = until - ready
            r.createNanos = cost(.create, costs.runtime.containerCreateMillis)
            if plan.tier == .cold {
                r.createNanos += cost(.interpreterStart, costs.runtime.interpreterStartMillis)
                tookCgroup = true
            } else {
                let sizeMillis = costs.runtime.forkPerGBMillis * zygoteGB(plan.zygote)
                if modelsStandbys, let z = plan.zygote {
                    forkedFrom = z
                    // The oldest standby child already in the zygote's list, as the worker takes it; one not
                    // yet in its group makes the start wait for it. None: the zygote forks on the request's path.
                    let forkAt = now + r.downloadNanos + r.installNanos + r.createNanos
                    if let c = standbys[z]?.first, c.available <= forkAt {
                        standbys[z]!.removeFirst()
                        summary.standbyForks += 1
                        r.forkNanos = cost(.fork, costs.runtime.forkMillis + sizeMillis) + max(0, c.ready - forkAt)
                    } else {
                        summary.directForks += 1
                        r.forkNanos = cost(.directFork, costs.runtime.directForkMillis + sizeMillis) + attachWait(at: forkAt)
                        tookCgroup = true
                    }
                } else {
                    r.forkNanos = cost(.fork, costs.runtime.forkMillis + sizeMillis)
                }
            }
            // Each import is charged for the standard-library modules the interpreter has not loaded yet.
            var loaded = catalog.loadedModules(holding: plan.tier == .import ? zygotePackages(plan.zygote) : nil)
            // Forked from a zygote, in its container, a set imports slower than in a fresh interpreter
            // (`RuntimeCosts.servedImportScale`); a cold start's fresh interpreter is charged the table's.
            let charge = cpu * importCharge * importContention * (plan.tier == .import ? servedImportScale : 1)
            for p in plan.imports { r.importNanos += stretch(noisy(importCost(p, loaded: &loaded)), charge) }
            r.initNanos = stretch(ms(initMillis[hi] + primitiveMillis(.initOverhead, costs.runtime.initOverheadMillis)), cpu)
            memory = planner.modeledMemoryBytes(container: plan.container) ?? 0
        }
        let overhead = plan.tier == .handler ? primitiveMillis(.thawedInvoke, costs.runtime.thawedInvokeOverheadMillis)
            : primitiveMillis(.invoke, costs.runtime.invokeOverheadMillis)
        // The invocation's own execution time when the trace gives one (Azure's), else its handler's.
        r.execNanos = stretch(inv.execNanos >= 0 ? noisy(inv.execNanos + Nanos.fromMillis(overhead)) : ms(execMillis[hi] + overhead), cpu)
        var total = r.downloadNanos + r.installNanos
        total += r.createNanos + r.forkNanos
        total += r.importNanos + r.initNanos + r.execNanos
        r.endNanos = now + total
        runningMemory += memory
        notePeak()
        let slot: Int32
        var running = Running(record: r, container: plan.container, memoryBytes: memory, forkedFrom: forkedFrom, tookCgroup: tookCgroup)
        // The zygotes the plan asks for are built once the request is done, as the real worker does.
        running.pendingBuilds = plan.createZygotes
        if shares {
            running.wait = wait
            // The worker hands the request to a core's thread before its phases begin (its queue time).
            running.handoff = cost(.handoff, costs.runtime.handoffMillis)
            running.record.startNanos += running.handoff
        }
        if let s = freeSlots.popLast() { slot = s; slots[Int(s)] = running } else { slot = Int32(slots.count); slots.append(running) }
        if shares {
            sharing.add(.request(slot), work: total - wait, now: now)
            reschedule(now: now, queue: &queue)
        } else {
            queue.schedule(at: r.endNanos, .done(slot))
        }
        if checkInvariants { try! planner.checkInvariants() }
    }

    /// Requests running now (with the one being started when `including`).
    @inline(__always) func busyRequests(including: Bool) -> Int { slots.count - freeSlots.count + (including ? 1 : 0) }

    /// How much slower CPU work runs with `runnable` things running (requests, and the builder when busy):
    /// runnable over the cores when there are more of them than cores, else 1. A snapshot at the start of a
    /// phase (processor sharing, not re-timed as others start and end).
    @inline(__always) func slowdown(runnable: Int) -> Double {
        modelsOversubscription && runnable > cores ? Double(runnable) / Double(cores) : 1
    }

    /// What importing `p` costs with the modules `loaded` loaded: its import less the calibrated share
    /// (`RuntimeCosts.importOverlapCredit`) of what the overlap says those modules save.
    @inline(__always) func importCost(_ p: Int32, loaded: inout PackageSet) -> Int64 {
        let credited = catalog.importNanos(p, loaded: &loaded)
        guard overlapCredit != 1 else { return credited }
        let full = catalog.importNanos[Int(p)]
        return full - Int64((Double(full - credited) * overlapCredit).rounded())
    }

    /// How many times longer an import or install takes (`factor`: with every other core busy, calibrated)
    /// with `others` of the other cores busy: the calibrated excess in proportion to the share busy.
    @inline(__always) func contention(_ factor: Double, others: Int) -> Double {
        guard factor != 1, cores > 1, others > 0 else { return 1 }
        return 1 + (factor - 1) * min(1, Double(others) / Double(cores - 1))
    }

    @inline(__always) func stretch(_ ns: Int64, _ factor: Double) -> Int64 {
        factor == 1 ? ns : Int64((Double(ns) * factor).rounded())
    }

    /// The packages zygote `id` holds (nil for none, or one no longer cached: its parent's modules unknown).
    func zygotePackages(_ id: Int64?) -> PackageSet? {
        guard catalog.moduleCount > 0, let id else { return nil }
        return planner.importCache?[id]?.packages
    }

    /// A zygote's whole memory (interpreter and every package it holds), GB: what a fork copies tables for.
    func zygoteGB(_ id: Int64?) -> Double {
        guard costs.runtime.forkPerGBMillis > 0, let id, let z = planner.importCache?[id] else { return 0 }
        return Bytes.gb(catalog.interpreterMemoryBytes + catalog.memoryBytes(z.packages))
    }

    public func handle(_ event: Event, now: Int64, queue: inout EventQueue<Event>) -> Bool {
        switch event {
        case .done(let slot): return finish(slot: slot, now: now, queue: &queue)
        case .zygoteReady(let id): zygoteReady(id, now: now); return false
        case .coreFree: return true
        case .shared(let generation):
            guard generation == sharing.generation else { return false } // re-timed since
            for job in sharing.takeDone(now: now) { ended(job, now: now, queue: &queue) }
            reschedule(now: now, queue: &queue)
            return false
        case .builderWake:
            builderStartNext(now: now, queue: &queue)
            reschedule(now: now, queue: &queue)
            return false
        }
    }

    /// A request refused with the queue full still costs the worker and its client their HTTP work (reading
    /// it, answering 503, the client's send and read): with the cores shared, a dispatch's worth beside the
    /// requests, as a served request's after it ends. (With `hold`, nothing: that model has no cores to share.)
    public func refused(_ invocation: Invocation, now: Int64, queue: inout EventQueue<Event>) {
        guard sharesCores, dispatchNanos > 0 else { return }
        sharing.add(.dispatch, work: dispatchNanos, now: now)
        reschedule(now: now, queue: &queue)
    }

    /// A request is done; returns whether its core is free (not when it goes on to build zygotes).
    func finish(slot: Int32, now: Int64, queue: inout EventQueue<Event>) -> Bool {
        let run = slots[Int(slot)]
        freeSlots.append(slot)
        runningMemory -= run.memoryBytes
        lifecycle.finish(run.record, container: run.container, memoryBytes: run.memoryBytes, failed: false, now: now)
        summary.add(run.record)
        if checkInvariants { try! planner.checkInvariants() }
        if sharesCores {
            // The core is free; the worker's own per-request work (HTTP, the client) runs beside the requests,
            // and the builder takes the zygotes, then the rest of the maintenance, after what it was given.
            for z in run.pendingBuilds {
                summary.zygotesCreated += 1
                buildEnds[z.id] = .max // being built: ready when the builder is done with it
                builderTasks.append(.build(z))
            }
            if hasMaintenance(after: run) { builderTasks.append(.maintain(run)) }
            builderStartNext(now: now, queue: &queue)
            if dispatchNanos > 0 { sharing.add(.dispatch, work: dispatchNanos, now: now) }
            reschedule(now: now, queue: &queue)
            return true
        }
        // The worker's own per-request work (HTTP, the client) holds the core a little longer.
        let hold = dispatchNanos
        if !synchronousZygoteBuilds {
            // Given to the one builder, beside the cores: the zygotes, then the rest of the maintenance.
            for z in run.pendingBuilds { buildZygote(z, now: now, queue: &queue) }
            if hasMaintenance(after: run) { builderFreeAt = maintain(after: run, at: max(now, builderFreeAt)) }
            if hold == 0 { return true }
            queue.schedule(at: now + hold, .coreFree)
            return false
        }
        // The core builds the zygotes one after another, does the rest of the maintenance, then is free.
        var t = now + hold
        for z in run.pendingBuilds {
            summary.zygotesCreated += 1
            let took = zygoteBuildCost(z, startingAt: t)
            summary.zygoteBuilds.record(took.total - took.installs)
            t += took.total
            buildEnds[z.id] = t
            queue.schedule(at: t, .zygoteReady(z.id))
        }
        t = maintain(after: run, at: t)
        if t == now { return true }
        queue.schedule(at: t, .coreFree)
        return false
    }

    /// Whether the worker has maintenance to do after `run`: a pooled cgroup to make, or a standby child.
    @inline(__always) func hasMaintenance(after run: Running) -> Bool {
        modelsStandbys && (run.tookCgroup || run.forkedFrom != nil || !run.pendingBuilds.isEmpty)
    }

    /// The maintenance after a start and the builds it asked for, begun at `start` (on the builder or the
    /// request's core), in the worker's order: the pooled cgroup it took is made again, then every zygote
    /// short of standby children gets them, by id (the one it forked from, the ones just built). Returns when
    /// it is done, ns.
    func maintain(after run: Running, at start: Int64) -> Int64 {
        guard hasMaintenance(after: run) else { return start }
        var t = start
        if run.tookCgroup { t += cost(.cgroupCreate, costs.runtime.cgroupCreateMillis) }
        var ids = run.pendingBuilds.map(\.id)
        if let z = run.forkedFrom { ids.append(z) }
        for z in ids.sorted() { t = prepareStandbys(z, at: t) }
        return t
    }

    /// Gives zygote `z` (if still cached) standby children until it has `standbysPerZygote`, one after
    /// another from `start`: each takes the preparing thread's time and a pooled cgroup made again, and is
    /// ready (in its group) once its readiness time from being asked for has passed. Returns when the thread
    /// is done, ns.
    func prepareStandbys(_ z: Int64, at start: Int64) -> Int64 {
        guard modelsStandbys, planner.importCache?[z] != nil else { return start }
        var t = start
        var list = standbys[z] ?? []
        while list.count < standbysPerZygote {
            let prep = cost(.standbyPrep, costs.runtime.standbyPrepMillis)
            var ready = max(prep, cost(.standbyReady, costs.runtime.standbyReadyMillis))
            ready += attachWait(at: t + ready)
            list.append(StandbyChild(available: t + prep, ready: t + ready))
            t += prep + cost(.cgroupCreate, costs.runtime.cgroupCreateMillis)
        }
        standbys[z] = list
        return t
    }

    /// A zygote build started at `start`: its installs (each shared one there for others when it ends, as
    /// `installedAt` says), then its own cost (fork, cgroup, start) and its imports. Returns how long it
    /// takes, and how much of that its installs took.
    func zygoteBuildCost(_ z: ZygoteSpec, startingAt start: Int64, cpu: Double = 1) -> (total: Int64, installs: Int64) {
        var cost: Int64 = 0
        // The requests running beside it contend for the disk and the kernel as for the cores.
        let others = busyRequests(including: false)
        let installContention = contention(costs.runtime.installContention, others: others)
        let importContention = contention(costs.runtime.importContention, others: others)
        for p in z.install {
            cost += noisy(catalog.downloadNanos[Int(p)]) + stretch(noisy(catalog.installNanos[Int(p)]), cpu * installContention)
            if z.installCached { installedAt[Int(p)] = max(installedAt[Int(p)], start + cost) }
        }
        let installs = cost
        // The build's own cost beyond its imports (fork, cgroup, start), as calibrated; else a fork.
        // It joins its cgroup right after its fork, when its installs are done.
        cost += attachWait(at: start + cost)
        cost += costs.runtime.zygoteBuildMillis > 0 ? self.cost(.zygoteBuild, costs.runtime.zygoteBuildMillis)
            : self.cost(.fork, costs.runtime.forkMillis)
        var loaded = catalog.loadedModules(holding: zygotePackages(z.parent))
        for p in z.imports { cost += stretch(noisy(importCost(p, loaded: &loaded)), cpu * importCharge * importContention) }
        return (cost, installs)
    }

    /// When a build of `z` can start, from `t` on: once every package it imports but does not install itself
    /// (counted on as installed) is, ns.
    func installsDone(for z: ZygoteSpec, from t: Int64) -> Int64 {
        var start = t
        for p in z.imports where !z.install.contains(p) && installedAt[Int(p)] > start { start = installedAt[Int(p)] }
        return start
    }

    func buildZygote(_ z: ZygoteSpec, now: Int64, queue: inout EventQueue<Event>) {
        summary.zygotesCreated += 1
        let parentReady = z.parent.flatMap { buildEnds[$0] } ?? now // a parent still being built
        // A package it counts on as installed may still be installing for a request (the real worker's
        // build waits for it too); its own shared installs are there for others once done.
        // One builder: a build starts when the builds given before it are done.
        let start = installsDone(for: z, from: max(now, parentReady, builderFreeAt))
        // The builder's CPU work shares the cores with the requests running when it starts and those waiting
        // that take the cores as they free up (the request that asked for it hands its core to the next one):
        // in a burst every core runs a request for the whole build, and the builder is one more.
        let requests = min(cores, busyRequests(including: false) + waitingRequests())
        let cost = zygoteBuildCost(z, startingAt: start, cpu: slowdown(runnable: requests + 1))
        let ready = start + cost.total
        summary.zygoteBuilds.record(cost.total - cost.installs) // as the worker times it: its installs done
        builderFreeAt = ready
        buildEnds[z.id] = ready
        queue.schedule(at: ready, .zygoteReady(z.id))
    }

    func zygoteReady(_ id: Int64, now: Int64) {
        // Evicted while it was being built: nothing is ready.
        guard buildEnds.removeValue(forKey: id) != nil, let z = planner.importCache?[id] else { return }
        // The simulator reports the modeled memory: the planner's own estimate.
        lifecycle.zygoteReady(id, memoryBytes: z.memoryBytes, now: now)
        notePeak()
        if checkInvariants { try! planner.checkInvariants() }
    }

    /// Carries out one eviction: in the model, only counted (a zygote being built stops being built).
    func apply(_ e: Eviction) {
        switch e {
        case .container: summary.evictedContainers += 1
        case .zygote(let id): summary.evictedZygotes += 1; buildEnds[id] = nil; standbys[id] = nil
        case .package: summary.evictedPackages += 1
        }
    }

    @inline(__always) func notePeak() {
        let m = runningMemory + planner.cachedMemoryBytes
        if m > summary.peakMemoryBytes { summary.peakMemoryBytes = m }
    }
}
