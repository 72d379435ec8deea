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
    func installPackage(_ id: Int32, privateTo owner: String? = nil) throws -> (Int64, Int64) {
        let p = packages[Int(id)]
        // A shared install of a package another request is installing now: wait for that one.
        var mine: InstallWait? = nil
        if owner == nil {
            let (wait, own): (InstallWait?, InstallWait?) = locked {
                if let w = installing[id] { return (w, nil) }
                let w = InstallWait()
                installing[id] = w
                return (nil, w)
            }
            if let w = wait {
                let t0 = Sys.monotonicNanos()
                try w.wait()
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

    /// Blocks until the install ends; throws its error if it failed.
    func wait() throws {
        cond.lock()
        while !done { cond.wait() }
        let e = error
        cond.unlock()
        if let e { throw e }
    }

    func finish(_ e: Error?) {
        cond.lock()
        done = true; error = e
        cond.broadcast()
        cond.unlock()
    }
}
