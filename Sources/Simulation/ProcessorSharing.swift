import Replay

/// The worker's cores shared among everything runnable (processor sharing): the requests on their cores, the
/// one builder (zygote builds, standby children) and the worker's own per-request work (HTTP, the client:
/// `dispatch`). With no more runnable than cores each runs at full speed; with more, the cores are shared in
/// proportion to weights (a request or the builder 1, the dispatch `dispatchWeight`, each job at most one
/// core), and when one ends or another starts the rest speed up or slow down from then on. Work is conserved:
/// the cores are never idle while more work waits than there are cores, and never run more than `cores` at
/// once. A dispatch weight below 1 says the server's threads take less than an equal share from the
/// handlers running beside them (calibrated: `RuntimeCosts.dispatchWeight`); at 1 all share equally.
///
/// Kept in virtual time, one clock per weight: `virtual` is the work every runnable request or builder job has
/// received since the origin (it grows at `rate` ns per ns), `virtualDispatch` the same for dispatch jobs, so a
/// job with `w` ns of work begun when its clock stood at `v` ends when it reaches `v + w`, whatever comes and
/// goes meanwhile. Only the earliest end is on the event queue, re-timed (a new generation; older ones
/// ignored) whenever a job comes or goes.
struct ProcessorSharing {
    enum Owner: Equatable { case request(Int32), builder, dispatch }
    struct Job {
        var owner: Owner; var finish: Double; var work: Int64; var began: Int64
        /// How many times its work its time from start to `now` was (1: it ran at full speed throughout).
        func stretch(endingAt now: Int64) -> Double { work > 0 ? Double(now - began) / Double(work) : 1 }
    }

    let cores: Int
    /// A dispatch job's weight against a request's or the builder's 1 (0...1).
    let dispatchWeight: Double
    private(set) var jobs: [Job] = []
    private(set) var virtual: Double = 0
    private(set) var virtualDispatch: Double = 0
    /// Runnable dispatch jobs (the rest are requests and the builder).
    private var dispatching = 0
    private var last: Int64 = 0
    /// The generation of the one end event that counts.
    var generation: Int64 = 0

    init(cores: Int, dispatchWeight: Double = 1) {
        self.cores = cores
        self.dispatchWeight = min(1, max(0, dispatchWeight))
    }

    /// ns of work per ns each runnable request or builder job gets (`full`) and each dispatch job gets.
    @inline(__always) var rates: (full: Double, dispatch: Double) {
        let n = jobs.count
        guard n > cores else { return (1, 1) }
        let a = Double(n - dispatching), b = Double(dispatching), c = Double(cores)
        let weight = a + b * dispatchWeight
        // Weighted shares while no job would get more than a core; else the others run at full speed and the
        // dispatch jobs share what is left.
        if weight >= c { let f = c / weight; return (f, f * dispatchWeight) }
        return (1, (c - a) / b)
    }

    @inline(__always) mutating func advance(to now: Int64) {
        if now > last {
            let r = rates, dt = Double(now - last)
            virtual += dt * r.full; virtualDispatch += dt * r.dispatch
            last = now
        }
    }

    /// `owner` becomes runnable at `now` with `work` ns of CPU work.
    mutating func add(_ owner: Owner, work: Int64, now: Int64) {
        advance(to: now)
        let v = owner == .dispatch ? virtualDispatch : virtual
        if owner == .dispatch { dispatching += 1 }
        jobs.append(Job(owner: owner, finish: v + Double(max(0, work)), work: max(0, work), began: now))
    }

    /// When the earliest runnable job ends if nothing comes or goes before, ns (nil: none runnable, or only
    /// dispatch jobs that get no share while the requests fill every core).
    func nextEnd(now: Int64) -> Int64? {
        var full = Double.infinity, dispatch = Double.infinity
        for j in jobs {
            if j.owner == .dispatch { dispatch = min(dispatch, j.finish) } else { full = min(full, j.finish) }
        }
        let r = rates
        var end: Int64? = nil
        if full.isFinite { end = now + max(0, Int64(((full - virtual) / r.full).rounded(.up))) }
        if dispatch.isFinite, r.dispatch > 0 {
            let t = now + max(0, Int64(((dispatch - virtualDispatch) / r.dispatch).rounded(.up)))
            end = min(end ?? t, t)
        }
        return end
    }

    /// Removes and returns the jobs done at `now` (within a ns of work: the end was rounded up to a ns).
    mutating func takeDone(now: Int64) -> [Job] {
        advance(to: now)
        var done: [Job] = []
        var i = 0
        while i < jobs.count {
            let isDispatch = jobs[i].owner == .dispatch
            if jobs[i].finish <= (isDispatch ? virtualDispatch : virtual) + 1 {
                if isDispatch { dispatching -= 1 }
                done.append(jobs.remove(at: i))
            } else { i += 1 }
        }
        return done
    }
}

extension Simulation {
    /// Puts the earliest end among the jobs sharing the cores on the queue (a new generation: the one there
    /// before no longer counts).
    func reschedule(now: Int64, queue: inout EventQueue<Event>) {
        sharing.generation += 1
        if let t = sharing.nextEnd(now: now) { queue.schedule(at: t, .shared(sharing.generation)) }
    }

    /// `job`'s CPU work is done at `now`.
    func ended(_ job: ProcessorSharing.Job, now: Int64, queue: inout EventQueue<Event>) {
        switch job.owner {
        case .dispatch: break
        case .builder: builderDone(job, now: now, queue: &queue)
        case .request(let slot):
            // Its phases took as much longer than their work as the sharing made them; then it waits for the
            // installs started by others it counts on (if any), then it is done.
            let i = Int(slot)
            let f = job.stretch(endingAt: now)
            var r = slots[i].record
            // A start's imports and init on a core: the work drawn, before the sharing stretched it.
            let readyWork = r.createNanos + r.forkNanos + r.importNanos + r.initNanos
            if r.tier != .handler { r.importCPUNanos = r.importNanos; r.initCPUNanos = r.initNanos; r.readyCPUNanos = readyWork }
            if f != 1 {
                r.downloadNanos = stretch(r.downloadNanos, f)
                r.installNanos = stretch(r.installNanos - slots[i].wait, f) + slots[i].wait
                r.createNanos = stretch(r.createNanos, f)
                r.forkNanos = stretch(r.forkNanos, f)
                r.importNanos = stretch(r.importNanos, f)
                r.initNanos = stretch(r.initNanos, f)
            }
            // Until ready, all the wall over the work is a wait for a core (the model has no other).
            if r.tier != .handler { r.readyWaitNanos = r.createNanos + r.forkNanos + r.importNanos + r.initNanos - readyWork }
            r.endNanos = now + slots[i].wait + slots[i].handoff
            // The execution takes what rounding left, so the phases add up to the request's time exactly.
            r.execNanos = max(0, r.endNanos - r.startNanos - (r.downloadNanos + r.installNanos + r.createNanos + r.forkNanos + r.importNanos + r.initNanos))
            slots[i].record = r
            queue.schedule(at: r.endNanos, .done(slot))
        }
    }

    /// The builder, when idle, takes its next task: a zygote build (once the packages it counts on as
    /// installed are, else it waits for them), or the maintenance after a start.
    func builderStartNext(now: Int64, queue: inout EventQueue<Event>) {
        while builderCurrent == nil, builderHead < builderTasks.count {
            let task = builderTasks[builderHead]
            switch task {
            case .build(let z):
                let start = installsDone(for: z, from: now)
                if start > now {
                    if builderWakeAt != start { builderWakeAt = start; queue.schedule(at: start, .builderWake) }
                    return
                }
                let cost = zygoteBuildCost(z, startingAt: now)
                builderCurrent = (task, cost.installs)
                sharing.add(.builder, work: cost.total, now: now)
            case .maintain(let run):
                let work = maintain(after: run, at: now) - now
                if work > 0 {
                    builderCurrent = (task, 0)
                    sharing.add(.builder, work: work, now: now)
                }
            }
            builderHead += 1
            if builderHead > 64, builderHead * 2 > builderTasks.count {
                builderTasks.removeFirst(builderHead); builderHead = 0
            }
        }
    }

    /// The builder's task is done at `now`: a zygote is ready (as the worker times a build: its installs
    /// done, stretched as the sharing stretched the whole); it takes the next.
    func builderDone(_ job: ProcessorSharing.Job, now: Int64, queue: inout EventQueue<Event>) {
        guard let c = builderCurrent else { return }
        builderCurrent = nil
        if case .build(let z) = c.task {
            summary.zygoteBuilds.record(stretch(job.work - c.installs, job.stretch(endingAt: now)))
            zygoteReady(z.id, now: now)
        }
        builderStartNext(now: now, queue: &queue)
    }
}
