import Workload

/// What an executor reports back about the work a plan asked for. One vocabulary for both executors: the
/// simulator reports modeled outcomes, the real runtime measured ones, and `compare` feeds the runtime's
/// outcomes to the simulator in order (`PlanLifecycle.replay`).
public enum Outcome: Equatable, Sendable, Codable, CustomStringConvertible {
    /// A request's container is done: its memory (bytes) and whether it broke (its start or its request failed).
    case container(id: Int64, memoryBytes: Int64, failed: Bool)
    /// A zygote finished building, with its memory (bytes).
    case zygoteReady(id: Int64, memoryBytes: Int64)
    /// A zygote could not be built. `packages`: those whose import failed (they are never put in a zygote
    /// again); nil: not known which, all of its own imports are blamed; empty: the failure was not an import
    /// (an install failed, a package it needs is gone), nothing is blamed.
    case zygoteFailed(id: Int64, packages: [Int32]?)
    /// A zygote died (killed, crashed) after it was built.
    case zygoteLost(id: Int64)
    /// A package could not be installed.
    case installFailed(package: Int32)
    /// A container could not be paused (frozen) after its request.
    case pauseFailed(container: Int64)

    public var description: String {
        switch self {
        case .container(let id, let b, let f): return "container c\(id) \(b) bytes\(f ? " failed" : "")"
        case .zygoteReady(let id, let b): return "zygote z\(id) ready \(b) bytes"
        case .zygoteFailed(let id, let p): return "zygote z\(id) failed" + (p.map { " (packages \($0))" } ?? "")
        case .zygoteLost(let id): return "zygote z\(id) lost"
        case .installFailed(let p): return "install of p\(p) failed"
        case .pauseFailed(let c): return "pause of c\(c) failed"
        }
    }
}

/// Owns every plan from start to finish, for both executors: asks the planner, hands evictions to the
/// executor to carry out, reports outcomes to the planner, writes the decision log and assembles each
/// request's record. The simulator and the runtime supply only the mechanics: how long each step takes, or
/// doing it for real. Neither keeps a copy of the planner's state, and neither decides anything itself:
/// every failure goes to the planner through here, and its answer is in the decision log.
///
/// Order rules: `start` → (the executor runs the request, filling the record's phases) → `finish`;
/// for every `ZygoteSpec` of a plan (or `rebuild` answer): build it, then exactly one of `zygoteReady`,
/// `zygoteFailed` or `zygoteLost`. Evictions in every answer are carried out (`carryOut`) before the call
/// returns. Pure: no I/O, no clock; decision lines and records go to the sinks the caller sets.
public final class PlanLifecycle {
    public let planner: Planner
    var handlerIDs: [String]
    /// Carries out one eviction (destroy a container or zygote, remove a package). Set by the executor.
    public var carryOut: (Eviction) -> Void = { _ in }
    /// Receives each decision-log line; nil: lines are not even formatted.
    public var onDecision: ((String) -> Void)?
    /// Receives each finished request's record.
    public var onRecord: ((RequestRecord) -> Void)?
    /// Keep every outcome reported, in order (`outcomes`; `compare` replays a real run's in the simulator).
    public var keepsOutcomes = false
    public private(set) var outcomes: [Outcome] = []
    /// Outcomes to report instead of the executor's own, by what they are about (a real run's, for `compare`).
    public var replay: OutcomeReplay?
    /// With a replay by meaning: what kind each running container is, and each zygote's package set.
    var tracker = OutcomeReplay.Tracker()
    var kindOf: [Int64: OutcomeReplay.ContainerKind] = [:]
    /// Containers whose running request is their first (their memory at its end is the executor's model, not
    /// a figure the planner heard before).
    var freshContainers: Set<Int64> = []
    /// Per class of start (a fresh interpreter, a fork from the root, from another zygote): the real memory and
    /// the modeled memory summed over the fresh containers' ends that took a real figure, bytes.
    var memorySums: [MemoryClass: (real: Double, modeled: Double)] = [:]
    enum MemoryClass {
        case cold, root, zygote
        init(_ k: OutcomeReplay.ContainerKind) { self = k.zygote == "cold" ? .cold : k.zygote.isEmpty ? .root : .zygote }
    }
    /// With a replay by meaning: each zygote being built's whole package set (`OutcomeReplay.Tracker.zygote`).
    var setOf: [Int64: String] = [:]
    /// With a replay by meaning: container ends that took a real container's memory, and those of a kind the
    /// real run never ended, whose modeled memory was scaled by the real-over-modeled ratio heard so far
    /// (`ReplayedMemory`).
    public private(set) var replayedMemory = ReplayedMemory()
    public struct ReplayedMemory: Equatable, Sendable {
        /// Ends that took a real figure; fresh ends of a kind the real run never ended (scaled, when a ratio
        /// was known); handler-cache hits of those (the planner's figure from their first end).
        public var real = 0, scaled = 0, unscaled = 0, kept = 0
        /// Real over modeled memory of the fresh ends that took a real figure, summed over every class.
        public var ratio: Double?
    }
    /// Zygotes built and failed, pauses and installs failed, so far (kept always: they are rare).
    public private(set) var zygotesReady = 0, zygotesFailed = 0, pausesFailed = 0, installsFailed = 0

    public init(planner: Planner, handlers: HandlerTable) {
        self.planner = planner
        handlerIDs = handlers.handlers.map(\.id)
    }

    /// Registers a handler with the planner (see `Planner.addHandler`); returns its id.
    public func addHandler(_ h: Handler) throws -> Int32 {
        let id = try planner.addHandler(h)
        handlerIDs.append(h.id)
        return id
    }

    // MARK: Requests

    /// Plans the start of a request of `handler` that arrived at `arrivalNanos`, at `now`; carries out the
    /// plan's evictions and returns the plan with the request's record begun (tier, zygote, evictions).
    public func start(handler: Int32, arrivalNanos: Int64, now: Int64) -> (plan: StartPlan, record: RequestRecord) {
        let plan = planner.plan(handler: handler, now: now)
        log(planner.logLine(plan, handlerID: handlerIDs[Int(handler)]))
        if let r = replay, r.byMeaning {
            kindOf[plan.container] = tracker.start(handler: handlerIDs[Int(handler)], reused: plan.tier == .handler, container: plan.container, zygote: plan.zygote)
            if plan.tier == .handler { freshContainers.remove(plan.container) } else { freshContainers.insert(plan.container) }
            for z in plan.createZygotes { setOf[z.id] = tracker.zygote(z.id, parent: z.parent, imports: planner.catalog.names(z.imports)) }
        }
        var r = RequestRecord(request: plan.request, handler: handler, arrivalNanos: arrivalNanos, startNanos: now, endNanos: now,
                              tier: plan.tier, zygote: plan.zygote)
        r.evictions = plan.evictions.count
        r.estimated = planner.catalog.profile(handler).touchesEstimated
        for e in plan.evictions { carryOut(e) }
        return (plan, r)
    }

    /// The request is done (its record complete): reports the container's memory and whether it broke, and
    /// returns whether the executor must pause it (true) or destroy it (false). The record goes to `onRecord`.
    @discardableResult
    public func finish(_ record: RequestRecord, container: Int64, memoryBytes: Int64, failed: Bool, now: Int64) -> IdlePlan {
        var bytes = memoryBytes, broken = failed
        if let r = replay {
            if r.byMeaning {
                let fresh = freshContainers.contains(container)
                if let k = kindOf[container], case .container(_, let b, let f)? = r.container(k) {
                    if fresh {
                        let c = MemoryClass(k)
                        memorySums[c, default: (0, 0)].real += Double(b)
                        memorySums[c, default: (0, 0)].modeled += Double(memoryBytes)
                        let all = memorySums.values.reduce((real: 0.0, modeled: 0.0)) { ($0.real + $1.real, $0.modeled + $1.modeled) }
                        replayedMemory.ratio = all.modeled > 0 ? all.real / all.modeled : nil
                    }
                    bytes = b; broken = f
                    replayedMemory.real += 1
                } else if fresh, let k = kindOf[container] {
                    // A start the real run made another way (forked from another zygote): the model's memory, put
                    // on the real footing by what the real containers of the same class took against the model.
                    if let (real, modeled) = memorySums[MemoryClass(k)], modeled > 0 {
                        bytes = Int64((Double(memoryBytes) * real / modeled).rounded())
                        replayedMemory.scaled += 1
                    } else {
                        replayedMemory.unscaled += 1
                    }
                } else {
                    replayedMemory.kept += 1
                }
            } else if case .container(let id, let b, let f)? = r.next(matching: .container(id: container, memoryBytes: 0, failed: false)), id == container {
                bytes = b; broken = f
            }
        }
        note(.container(id: container, memoryBytes: bytes, failed: broken))
        let idle = planner.finished(container: container, now: now, memoryBytes: bytes, failed: broken)
        log(planner.logLine(idle))
        for e in idle.evictions { carryOut(e) }
        onRecord?(record)
        return idle
    }

    /// The executor could not pause a container the planner kept: the planner drops it from the handler
    /// cache; the executor destroys it (the answer's evictions, carried out here).
    public func pauseFailed(container: Int64, now: Int64) {
        note(.pauseFailed(container: container))
        pausesFailed += 1
        let ev = planner.pauseFailed(container: container)
        log(planner.logLinePauseFailed(container: container, now: now, evictions: ev))
        for e in ev { carryOut(e) }
    }

    /// A package could not be installed: it leaves the install cache (the next request that needs it
    /// installs it again).
    public func installFailed(_ package: Int32, now: Int64) {
        note(.installFailed(package: package))
        installsFailed += 1
        planner.installFailed(package)
        log(planner.logLineInstallFailed(package: package, now: now))
    }

    // MARK: Zygotes

    /// Zygote `id` is built, with `memoryBytes`. Returns nil when a replayed outcome says it failed instead
    /// (then it has been handled as such).
    @discardableResult
    public func zygoteReady(_ id: Int64, memoryBytes: Int64, now: Int64) -> ReadyPlan? {
        var bytes = memoryBytes
        let set = setOf.removeValue(forKey: id)
        if let r = replay, let o = set.flatMap({ r.zygote(holding: $0) }) ?? r.next(matching: .zygoteReady(id: id, memoryBytes: 0)) {
            switch o {
            case .zygoteReady(_, let b): bytes = b
            case .zygoteFailed(_, let p): _ = zygoteFailed(id, packages: p, now: now); return nil
            default: break
            }
        }
        note(.zygoteReady(id: id, memoryBytes: bytes))
        zygotesReady += 1
        let ready = planner.zygoteReady(id, now: now, memoryBytes: bytes)
        log(planner.logLine(ready))
        for e in ready.evictions { carryOut(e) }
        return ready
    }

    /// Zygote `id` could not be built; `packages` as in `Outcome.zygoteFailed`. Returns the zygote to build
    /// in its place, if the planner wants one now.
    public func zygoteFailed(_ id: Int64, packages: [Int32]?, now: Int64) -> ZygoteSpec? {
        note(.zygoteFailed(id: id, packages: packages))
        zygotesFailed += 1
        let (ev, rebuild) = planner.zygoteFailed(id, now: now, packages: packages)
        log(planner.logLineFailed(zygote: id, now: now, evictions: ev, rebuild: rebuild))
        for e in ev { carryOut(e) }
        return rebuild
    }

    /// Zygote `id` died after it was built. Returns the zygote to build in its place, if the planner wants
    /// one now.
    public func zygoteLost(_ id: Int64, now: Int64) -> ZygoteSpec? {
        note(.zygoteLost(id: id))
        let (ev, rebuild) = planner.zygoteLost(id, now: now)
        log(planner.logLineLost(zygote: id, now: now, evictions: ev, rebuild: rebuild))
        for e in ev { carryOut(e) }
        return rebuild
    }

    // MARK: Helpers

    @inline(__always) func note(_ o: Outcome) { if keepsOutcomes { outcomes.append(o) } }

    /// Appends a decision-log line; the line is only formatted when someone reads the log.
    @inline(__always) func log(_ line: @autoclosure () -> String) {
        if let d = onDecision { d(line()) }
    }
}

/// A real run's outcomes, handed to a simulation of the same trace (`compare`) by what they are about: a
/// container's end by its handler and the zygote it was forked from (`ContainerKind`: what its memory depends
/// on; a handler's containers forked from one zygote took the same memory to within a few MB, one forked from a
/// zygote that holds its packages a tenth of one forked from the root), a zygote's build by the packages it
/// holds. The two executors' planners number containers and zygotes as they plan them and reuse the numbers of
/// those evicted, so once one request is started another way in each (under concurrency, completion order
/// differs) every later number can mean another container in each, and a container's memory went to another
/// handler's. Each kind's ends go in the real run's order; one the real run ended fewer times than the
/// simulation takes the last of them again. Without the real run's decision log (or for what it does not say:
/// zygotes built at start-up, rebuilds), by number: the n-th end of container c gets the real run's n-th end of
/// container c. Where there is no real outcome for it, the simulator's own is used (the decision logs show where
/// the runs diverge).
public final class OutcomeReplay {
    /// What a container's end is about: its handler and the packages of the zygote it was forked from ("" the
    /// root's; "cold": a fresh interpreter; "zN": a zygote whose packages the log does not say).
    public struct ContainerKind: Hashable, Sendable {
        public var handler: String, zygote: String
        public init(handler: String, zygote: String) { self.handler = handler; self.zygote = zygote }
    }

    /// Follows one executor's plans: what kind each running container is, and each zygote's whole package set
    /// (sorted names, `;`-separated; "" for the root) as it is created.
    public struct Tracker {
        var current: [Int64: ContainerKind] = [:]
        var zygoteSets: [Int64: Set<String>] = [0: []]
        public init() {}

        /// A start of `handler` in `container`, forked from `zygote` (nil: a cold start, or a handler-cache hit,
        /// `reused`, whose container keeps the kind it was started as).
        public mutating func start(handler: String, reused: Bool, container: Int64, zygote: Int64?) -> ContainerKind {
            if reused, let k = current[container], k.handler == handler { return k }
            let z = zygote.map { id in zygoteSets[id].map { $0.sorted().joined(separator: ";") } ?? "z\(id)" } ?? "cold"
            let k = ContainerKind(handler: handler, zygote: z)
            current[container] = k
            return k
        }

        /// Zygote `id` created as a child of `parent` importing `imports` (names): its whole package set.
        public mutating func zygote(_ id: Int64, parent: Int64?, imports: [String]) -> String {
            let set = parent.flatMap { zygoteSets[$0] }.map { $0.union(imports) } ?? Set(imports)
            zygoteSets[id] = set
            return set.sorted().joined(separator: ";")
        }
    }

    var containers: [Int64: ArraySlice<Outcome>] = [:]
    var zygotes: [Int64: ArraySlice<Outcome>] = [:]
    var byKind: [ContainerKind: ArraySlice<Outcome>] = [:]
    var lastOfKind: [ContainerKind: Outcome] = [:]
    var bySet: [String: ArraySlice<Outcome>] = [:]
    /// Whether outcomes go by what they are about (built with the real run's decision log).
    public let byMeaning: Bool

    /// `decisions`: the real run's decision log, as `PlanLifecycle` writes it (`plan … h=H tier=T c=C z=Z … create=…`).
    public init(_ outcomes: [Outcome], decisions: [String]? = nil) {
        var pendingKind: [Int64: ArraySlice<ContainerKind>] = [:], pendingSet: [Int64: ArraySlice<String>] = [:]
        if let log = decisions {
            var t = Tracker()
            for line in log where line.hasPrefix("plan ") {
                var h: String?, tier: String?, c: Int64?, z: Int64?, create: Substring?
                for f in line.split(separator: " ") {
                    if f.hasPrefix("h=") { h = String(f.dropFirst(2)) }
                    else if f.hasPrefix("tier=") { tier = String(f.dropFirst(5)) }
                    else if f.hasPrefix("c=") { c = Int64(f.dropFirst(2)) }
                    else if f.hasPrefix("z=") { z = Int64(f.dropFirst(2)) }
                    else if f.hasPrefix("create=") { create = f }
                }
                guard let h, let tier, let c else { continue }
                pendingKind[c, default: []].append(t.start(handler: h, reused: tier == Tier.handler.rawValue, container: c, zygote: z))
                for s in Planner.zygotesCreated(inPlanLine: create) {
                    pendingSet[s.id, default: []].append(t.zygote(s.id, parent: s.parent, imports: s.imports))
                }
            }
        }
        byMeaning = decisions != nil
        // Only what the simulator can be told at the matching moment: container ends and zygote builds.
        var c: [Int64: [Outcome]] = [:], z: [Int64: [Outcome]] = [:], s: [String: [Outcome]] = [:], k: [ContainerKind: [Outcome]] = [:]
        for o in outcomes {
            switch o {
            case .container(let id, _, _):
                if let kind = pendingKind[id]?.popFirst() { k[kind, default: []].append(o) } else { c[id, default: []].append(o) }
            case .zygoteReady(let id, _), .zygoteFailed(let id, _):
                if let set = pendingSet[id]?.popFirst() { s[set, default: []].append(o) } else { z[id, default: []].append(o) }
            default: break
            }
        }
        containers = c.mapValues { $0[...] }
        zygotes = z.mapValues { $0[...] }
        byKind = k.mapValues { $0[...] }
        bySet = s.mapValues { $0[...] }
    }

    func next(matching want: Outcome) -> Outcome? {
        switch want {
        case .container(let id, _, _): return containers[id]?.popFirst()
        case .zygoteReady(let id, _): return zygotes[id]?.popFirst()
        default: return nil
        }
    }

    /// The real run's next end of a container of `kind`; when the simulation ends more of them than the real run
    /// did, the last one's memory again (not its failure). Nil: the real run ended none of that kind.
    public func container(_ kind: ContainerKind) -> Outcome? {
        if let o = byKind[kind]?.popFirst() { lastOfKind[kind] = o; return o }
        guard case .container(let id, let b, _)? = lastOfKind[kind] else { return nil }
        return .container(id: id, memoryBytes: b, failed: false)
    }

    /// The real run's next build of a zygote holding `packages` (the whole set, as `Tracker.zygote` gives it).
    public func zygote(holding packages: String) -> Outcome? { bySet[packages]?.popFirst() }
}
