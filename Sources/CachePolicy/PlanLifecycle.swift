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
    /// Outcomes to report instead of the executor's own, in order (a real run's, for `compare`).
    public var replay: OutcomeReplay?
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
        if let r = replay, case .container(let id, let b, let f)? = r.next(matching: .container(id: container, memoryBytes: 0, failed: false)), id == container {
            bytes = b; broken = f
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
        if let r = replay, let o = r.next(matching: .zygoteReady(id: id, memoryBytes: 0)) {
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

/// A real run's outcomes, handed to a simulation of the same trace (`compare`) by what they are about: the
/// n-th end of container c in the simulation gets the real run's n-th end of container c, a zygote's build
/// the real build of the same zygote. Ids are the planner's (both executors' planners number containers and
/// zygotes as they plan them), so where the runs plan alike the outcomes meet their own container whatever
/// order requests completed in; under concurrency that order differs, and a replay in order stopped at the
/// first difference (the simulator then used modeled memory for every later container). Where there is no
/// real outcome for it, the simulator's own is used (the decision logs show where the runs diverge).
public final class OutcomeReplay {
    var containers: [Int64: ArraySlice<Outcome>] = [:]
    var zygotes: [Int64: ArraySlice<Outcome>] = [:]
    public init(_ outcomes: [Outcome]) {
        // Only what the simulator can be told at the matching moment: container ends and zygote builds.
        var c: [Int64: [Outcome]] = [:], z: [Int64: [Outcome]] = [:]
        for o in outcomes {
            switch o {
            case .container(let id, _, _): c[id, default: []].append(o)
            case .zygoteReady(let id, _), .zygoteFailed(let id, _): z[id, default: []].append(o)
            default: break
            }
        }
        containers = c.mapValues { $0[...] }
        zygotes = z.mapValues { $0[...] }
    }

    func next(matching want: Outcome) -> Outcome? {
        switch want {
        case .container(let id, _, _): return containers[id]?.popFirst()
        case .zygoteReady(let id, _): return zygotes[id]?.popFirst()
        default: return nil
        }
    }
}
