import CachePolicy
import Foundation
import Workload

/// Packages and evictions: where a process finds each package (as its plan says), installing exactly what
/// a plan lists, and carrying out the planner's evictions.
extension RuntimeWorker {
    /// Where package `id` is for a container started by `plan`: its own copy when the plan installed it
    /// privately, else the shared install cache. Decided by the plan, not by looking at the disk.
    func packagePath(_ id: Int32, plan: StartPlan) -> String {
        plan.install.contains(id) && !plan.installCached.contains(id)
            ? store.privateDirectory(packages[Int(id)], owner: "c\(plan.container)") : store.directory(packages[Int(id)])
    }

    /// Where package `id` is for zygote `z`: the copy of the zygote (or ancestor) whose spec installed it
    /// privately, else the shared install cache. Decided by the specs, not by looking at the disk.
    func packagePath(_ id: Int32, zygote z: ZygoteSpec) -> String {
        var spec: ZygoteSpec? = z
        while let s = spec {
            if s.install.contains(id) {
                return s.installCached ? store.directory(packages[Int(id)]) : store.privateDirectory(packages[Int(id)], owner: "z\(s.id)")
            }
            spec = s.parent.flatMap { p in locked { zygotes[p]?.spec } }
        }
        return store.directory(packages[Int(id)])
    }

    /// Fetches a package from the mirror and installs it, into the shared install cache or privately for
    /// `owner` ("c3", "z2"). Returns (download ns, install ns).
    /// A failed fetch or install is reported to the planner (the package leaves the install cache) and thrown.
    func installPackage(_ id: Int32, privateTo owner: String? = nil, plannedBy plan: String? = nil) throws -> (Int64, Int64) {
        let p = packages[Int(id)]
        // A shared install of a package another request is installing now (or will: reserved when it was
        // planned): wait for that one. One this plan reserved is its own to carry out.
        var mine: InstallWait? = nil
        if owner == nil {
            let (wait, own): (InstallWait?, InstallWait?) = locked {
                if let w = installing[id] { return plan != nil && w.owner == plan ? (nil, w) : (w, nil) }
                let w = InstallWait()
                installing[id] = w
                return (nil, w)
            }
            if let w = wait {
                let t0 = Sys.monotonicNanos()
                try w.wait(timeoutSeconds: options.installWaitSeconds)
                return (0, Sys.monotonicNanos() - t0)
            }
            mine = own
        }
        do {
            let (staged, dl) = try store.download(p)
            let inst = try store.install(p, wheel: staged, python: python, into: owner.map { store.privateDirectory(p, owner: $0) })
            if let m = mine { locked { installing[id] = nil }; m.finish(nil) }
            return (dl, inst)
        } catch {
            locked { lifecycle.installFailed(id, now: now()) }
            if let owner { store.removePrivate(owner: owner) } else { store.remove(p) }
            if let m = mine { locked { installing[id] = nil }; m.finish(error) }
            throw error
        }
    }

    /// Reserves, at planning time (under the lock), each shared install the plan (`owner`: "c3") and the
    /// zygotes it asks for ("z2") will carry out: a request or build planned after it that counts on the
    /// package waits for that install, instead of finding the package missing because its installer had not
    /// begun yet (a plan installs its packages one after another).
    func reserveInstalls(_ plan: StartPlan) {
        let shared = Set(plan.installCached)
        reserve(plan.install.filter(shared.contains), owner: "c\(plan.container)")
        for z in plan.createZygotes where z.installCached { reserve(z.install, owner: "z\(z.id)") }
    }

    func reserve(_ ids: [Int32], owner: String) {
        for id in ids where installing[id] == nil { installing[id] = InstallWait(owner: owner) }
    }

    /// Ends the reservations `owner` did not carry out (a step before failed, or the worker is closing):
    /// whoever waits on them hears that the install did not happen. Under the lock.
    func releaseReservations(owner: String?, because why: String) {
        for (id, w) in installing where owner == nil || w.owner == owner {
            guard w.owner != nil else { continue }
            installing[id] = nil
            w.finish(RuntimeError.unavailable("\(packages[Int(id)].name) was not installed: \(why)"))
        }
    }

    /// Carries out one eviction the planner decided (the lifecycle calls this).
    func carryOut(_ e: Eviction) {
        switch e {
        case .container(let id, _): destroyContainer(id)
        case .zygote(let id): destroyZygote(id)
        case .package(let id): store.remove(packages[Int(id)])
        }
    }
}

/// A shared install in flight: requests that need the package wait for it to end.
final class InstallWait: @unchecked Sendable {
    private let cond = NSCondition()
    private var done = false
    private var error: Error?
    /// The plan that will carry the install out ("c3", "z2"), when it was reserved at planning time.
    let owner: String?

    init(owner: String? = nil) { self.owner = owner }

    /// Blocks until the install ends, at most `timeoutSeconds`; throws its error if it failed.
    func wait(timeoutSeconds: Double) throws {
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        cond.lock()
        while !done { if !cond.wait(until: deadline) { break } }
        let (finished, e) = (done, error)
        cond.unlock()
        if !finished { throw RuntimeError.timeout("waited \(Int(timeoutSeconds)) s for another request's install of a package") }
        if let e { throw e }
    }

    func finish(_ e: Error?) {
        cond.lock()
        done = true; error = e
        cond.broadcast()
        cond.unlock()
    }
}
