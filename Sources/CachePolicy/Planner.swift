import Workload

/// The policy module's single entry point: given a request, `now` and the outcomes reported so far, it
/// decides how the request starts (`StartPlan`), what happens to a container when it goes idle (`IdlePlan`)
/// and whether a finished zygote is kept (`ReadyPlan`).
///
/// The planner is pure: no I/O, no clock, no randomness. The same requests, times and reported outcomes
/// give the same decisions, whichever executor (simulator or real runtime) drives it.
///
/// Lifecycle the executor must follow: `plan` → (run the request) → `finished`; every `ZygoteSpec` in
/// `initialZygotes` or a plan's `createZygotes` → (build it after its parent is ready) → `zygoteReady`.
/// Evictions in any returned plan must be carried out by the executor.
public final class Planner {
    public let config: PolicyConfig
    public private(set) var catalog: Catalog
    public private(set) var handlerCache: HandlerCache?
    public private(set) var importCache: ImportCache?
    public private(set) var installCache: InstallCache?
    let treeShape: TreeShape
    /// `config.handlerCache.countRunning`, read once (the config holds strings: reading a nested field on
    /// every plan copies and releases them).
    let countRunning: Bool
    /// `config.importCache.threshold`, read once for the same reason.
    let zygoteThreshold: Int

    struct ContainerState {
        var handler: Int32
        /// Install-cache entries it holds.
        var retained: [Int32]
        var memoryBytes: Int64
        var paused: Bool
        /// Bytes counted against the handler-cache budget while it runs (`countRunning`).
        var reservedBytes: Int64 = 0
    }
    var containers = SlotMap<ContainerState>()
    var zygoteRetained: [Int64: [Int32]] = [:]
    /// Misses per distinct handler closure (dynamic tree), and whether a zygote for it exists.
    var classCounts: [Int]
    var classZygote: [Int64?]
    var zygoteClass: [Int64: Int32] = [:]
    /// Container ids are reused once a container is destroyed, so per-container state stays small.
    var containerIDs = IDAllocator(first: 1)
    var nextZygote: Int64 = 1
    var requests: Int64 = 0
    var coldCosts: [Int64?]
    /// The root zygote failed to build: the next plan asks for it again.
    var rootMissing = false
    /// Packages whose import failed or hung in a zygote (reported by the executor): no zygote imports them
    /// again, so a broken package costs one failed build, not one per request.
    public private(set) var unimportable: PackageSet

    /// Zygotes to build before the first request (the root and a static tree), ready at time 0.
    public private(set) var initialZygotes: [ZygoteSpec] = []
    /// Packages pre-installed into the install cache before the first request.
    public private(set) var initialInstalls: [Int32] = []

    /// - Parameter popularPackages: distribution names, most popular first (for the static tree and
    ///   pre-installs); names not in the catalog are skipped.
    public init(config: PolicyConfig, catalog: Catalog, popularPackages: [String] = []) throws {
        try config.validate()
        self.config = config
        self.catalog = catalog
        treeShape = TreeShape(rawValue: config.importCache.tree)!
        countRunning = config.handlerCache.enabled && config.handlerCache.countRunning
        zygoteThreshold = config.importCache.threshold
        coldCosts = [Int64?](repeating: nil, count: catalog.profiles.count)
        unimportable = catalog.emptySet()
        classCounts = [Int](repeating: 0, count: catalog.closureClasses)
        classZygote = [Int64?](repeating: nil, count: catalog.closureClasses)
        if config.handlerCache.enabled {
            handlerCache = HandlerCache(budgetBytes: Bytes.fromMB(config.handlerCache.memoryMB),
                                        policy: try HandlerEvictionRegistry.make(config.handlerCache.policy,
                                                                                 ttlNanos: Nanos.fromSeconds(config.handlerCache.ttlSeconds)))
        }
        if config.installCache.enabled {
            var c = InstallCache(budgetBytes: Bytes.fromMB(config.installCache.diskMB), packages: catalog.count)
            let ids = popularPackages.compactMap { catalog.id(of: PackageName.canonical($0)) }.prefix(config.installCache.preinstallTop)
            for id in catalog.dependencyOrder(Array(ids)) where c.preinstall(id, bytes: catalog.installedBytes[Int(id)]) {
                initialInstalls.append(id)
            }
            installCache = c
        }
        if config.importCache.enabled {
            importCache = ImportCache(budgetBytes: Bytes.fromMB(config.importCache.memoryMB), eviction: ZygoteEviction(rawValue: config.importCache.eviction)!)
            if catalog.interpreterMemoryBytes <= importCache!.budgetBytes {
                importCache!.add(Zygote(id: 0, parent: nil, packages: catalog.emptySet(), ownImports: [],
                                        memoryBytes: catalog.interpreterMemoryBytes, savedNanos: 0, ready: true,
                                        lastUsedNanos: 0, uses: 0, children: 0))
                initialZygotes.append(ZygoteSpec(id: 0, parent: nil, imports: [], install: [], installCached: false,
                                                 memoryBytes: catalog.interpreterMemoryBytes))
                if treeShape == .static {
                    var ev: [Eviction] = []
                    for name in popularPackages.prefix(config.importCache.topK) {
                        guard let id = catalog.id(of: PackageName.canonical(name)) else { continue }
                        let set = catalog.set(catalog.dependencyOrder([id]))
                        guard !importCache!.contains(packages: set),
                              let spec = createZygote(for: set, order: catalog.dependencyOrder([id]), now: 0, evictions: &ev, allowEviction: false)
                        else { continue }
                        importCache!.markReady(spec.id, now: 0)
                        initialZygotes.append(spec)
                    }
                }
            }
        }
    }

    /// Registers a handler the catalog did not have (a worker's registry gained a folder); returns its id.
    /// - Throws: when it needs a package the catalog does not know (package sets are sized at start).
    public func addHandler(_ h: Handler) throws -> Int32 {
        let unknown = catalog.unknownPackages(of: h)
        guard unknown.isEmpty else { throw UnknownPackages(handler: h.id, names: unknown) }
        let id = catalog.addHandler(h)
        coldCosts.append(nil)
        while classCounts.count < catalog.closureClasses { classCounts.append(0); classZygote.append(nil) }
        return id
    }

    public struct UnknownPackages: Error, CustomStringConvertible {
        public let handler: String
        public let names: [String]
        public var description: String {
            "handler \(handler) needs \(names.joined(separator: ", ")), not in this worker's package catalog (packages are fixed when the worker starts: restart it to add them)"
        }
    }

    // MARK: Decisions

    /// Decides how request `handler` starts at `now`.
    public func plan(handler: Int32, now: Int64) -> StartPlan {
        requests += 1
        var ev: [Eviction] = []
        expire(now: now, into: &ev)
        let prof = catalog.profile(handler)
        if handlerCache != nil, let e = handlerCache!.take(handler: handler) {
            containers[e.container]!.paused = false
            if countRunning { reserveRunning(e.container, bytes: e.memoryBytes, evictions: &ev) }
            return StartPlan(request: requests, handler: handler, nowNanos: now, tier: .handler, container: e.container,
                             zygote: nil, install: [], installCached: [], imports: [], evictions: ev, createZygotes: [])
        }
        let cid = containerIDs.allocate()
        var zygote: Zygote? = nil
        if importCache != nil {
            zygote = importCache!.best(for: prof.closure)
            if let z = zygote { importCache!.recordUse(z.id, now: now) } else { importCache!.recordMiss() }
        }
        let missing = zygote.map { z in prof.importOrder.kept { !z.packages.contains($0) } } ?? prof.importOrder
        let (install, cached, retained) = installs(for: missing, now: now, evictions: &ev)
        let memory = catalog.containerMemoryBytes + (zygote == nil ? catalog.interpreterMemoryBytes : catalog.forkMemoryBytes)
            + missing.reduce(0) { $0 + catalog.memoryBytes[Int($1)] } + prof.memoryBytes
        containers[cid] = ContainerState(handler: handler, retained: retained, memoryBytes: memory, paused: false)
        if countRunning { reserveRunning(cid, bytes: memory, evictions: &ev) }

        var creates: [ZygoteSpec] = []
        if rootMissing, catalog.interpreterMemoryBytes <= importCache!.budgetBytes - importCache!.usedBytes {
            creates.append(restoreRoot(now: now))
        }
        if importCache != nil, treeShape == .dynamic, !prof.closure.isEmpty {
            let k = Int(prof.closureClass)
            classCounts[k] += 1
            if classCounts[k] >= zygoteThreshold, classZygote[k] == nil, !importCache!.contains(packages: prof.closure),
               let spec = createZygote(for: prof.closure, order: prof.importOrder, now: now, evictions: &ev, allowEviction: true,
                                       protecting: zygote?.id) {
                creates.append(spec)
                classZygote[k] = spec.id
                zygoteClass[spec.id] = prof.closureClass
            }
        }
        return StartPlan(request: requests, handler: handler, nowNanos: now, tier: zygote == nil ? .cold : .import,
                         container: cid, zygote: zygote?.id, install: install, installCached: cached, imports: missing,
                         evictions: ev, createZygotes: creates)
    }

    /// The request on `container` is done; the executor measured the container's memory. Pause it into the
    /// handler cache (evicting others) or destroy it. `failed`: the container broke (its start or its request
    /// failed) and is destroyed whatever the cache would say.
    public func finished(container: Int64, now: Int64, memoryBytes: Int64, failed: Bool = false) -> IdlePlan {
        guard let c = containers[container] else { preconditionFailure("finished: unknown container c\(container)") }
        var ev: [Eviction] = []
        expire(now: now, into: &ev)
        if c.reservedBytes > 0 {
            handlerCache!.releaseRunning(c.reservedBytes)
            containers[container]!.reservedBytes = 0
        }
        if handlerCache != nil && !failed {
            let (kept, evicted) = handlerCache!.insert(container: container, handler: c.handler, memoryBytes: memoryBytes,
                                                       coldCostNanos: coldCost(c.handler), now: now)
            for e in evicted { destroy(e.container); ev.append(.container(id: e.container, handler: e.handler)) }
            if kept {
                containers[container]!.paused = true
                containers[container]!.memoryBytes = memoryBytes
                return IdlePlan(container: container, nowNanos: now, paused: true, evictions: ev)
            }
        }
        // Not paused (failed, or too big): its use count ends with it (evicted ones' end in the cache).
        if handlerCache != nil { handlerCache!.forget(container: container) }
        destroy(container)
        return IdlePlan(container: container, nowNanos: now, paused: false, evictions: ev)
    }

    /// The executor could not pause `container`, which this planner had kept in the handler cache: it leaves
    /// the cache and is destroyed (the returned eviction). Nothing happens for a container not kept.
    public func pauseFailed(container: Int64) -> [Eviction] {
        guard let c = containers[container], c.paused, handlerCache != nil, handlerCache!.drop(container: container) != nil else { return [] }
        destroy(container)
        return [.container(id: container, handler: c.handler)]
    }

    /// A zygote finished building with the measured memory. It is kept if it still fits (evicting others).
    public func zygoteReady(_ id: Int64, now: Int64, memoryBytes: Int64) -> ReadyPlan {
        guard importCache != nil, let z = importCache![id] else { return ReadyPlan(zygote: id, nowNanos: now, kept: false, evictions: []) }
        var ev: [Eviction] = []
        importCache!.markReady(id, now: now)
        let extra = memoryBytes - z.memoryBytes
        if extra > 0 {
            guard let evicted = importCache!.makeRoom(extra, protecting: [id]) else {
                if z.children == 0 {
                    importCache!.remove(id)
                    releaseZygote(id)
                    return ReadyPlan(zygote: id, nowNanos: now, kept: false, evictions: [.zygote(id: id)])
                }
                return ReadyPlan(zygote: id, nowNanos: now, kept: true, evictions: [])
            }
            for v in evicted { releaseZygote(v.id); ev.append(.zygote(id: v.id)) }
        }
        importCache!.setMemory(id, bytes: memoryBytes)
        return ReadyPlan(zygote: id, nowNanos: now, kept: true, evictions: ev)
    }

    /// The executor found zygote `id` dead (killed, crashed). It and everything forked from it leave the
    /// tree; the root, a bare interpreter, is put back at once and must be rebuilt by the executor (its
    /// spec is the returned `rebuild`). Later requests get zygotes again as the tree shape asks.
    public func zygoteLost(_ id: Int64, now: Int64) -> (evictions: [Eviction], rebuild: ZygoteSpec?) {
        guard importCache != nil, importCache![id] != nil else { return ([], nil) }
        var removed: [Eviction] = []
        func removeSubtree(_ z: Int64) {
            for child in importCache!.zygotes.filter({ $0.parent == z }).map(\.id) { removeSubtree(child) }
            importCache!.remove(z)
            releaseZygote(z)
            removed.append(.zygote(id: z))
        }
        removeSubtree(id)
        guard id == 0 else { return (removed, nil) }
        return (removed, restoreRoot(now: now))
    }

    /// Puts the root (a bare interpreter) back into the tree; returns its spec for the executor to build.
    func restoreRoot(now: Int64) -> ZygoteSpec {
        rootMissing = false
        importCache!.add(Zygote(id: 0, parent: nil, packages: catalog.emptySet(), ownImports: [], memoryBytes: catalog.interpreterMemoryBytes,
                                savedNanos: 0, ready: true, lastUsedNanos: now, uses: 0, children: 0))
        return ZygoteSpec(id: 0, parent: nil, imports: [], install: [], installCached: false, memoryBytes: catalog.interpreterMemoryBytes)
    }

    /// The executor could not build zygote `id` (an import raised, exited or hung, or its install failed).
    /// It and any subtree leave the tree, and `packages` (nil: the zygote's own imports; empty: none, the
    /// failure was not an import) are never put in a zygote again. A root that fails to build is not put
    /// back at once (it would fail again): the next request's plan asks for it again (`createZygotes`).
    public func zygoteFailed(_ id: Int64, now: Int64, packages: [Int32]? = nil) -> (evictions: [Eviction], rebuild: ZygoteSpec?) {
        guard importCache != nil, let z = importCache![id] else { return ([], nil) }
        for p in packages ?? z.ownImports { unimportable.insert(p) }
        let (ev, _) = zygoteLost(id, now: now)
        if id == 0 {
            importCache!.remove(0)
            rootMissing = true
        }
        return (ev, nil)
    }

    /// The executor could not install package `id` (pip failed, the disk is full). It leaves the install
    /// cache and every holder's list, so the next request that needs it installs it again.
    public func installFailed(_ id: Int32) {
        guard installCache != nil, installCache!.isInstalled(id) else { return }
        installCache!.uninstall(id)
        for k in containers.keys { containers[k]!.retained.removeAll { $0 == id } }
        for k in Array(zygoteRetained.keys) { zygoteRetained[k]!.removeAll { $0 == id } }
    }

    // MARK: Helpers

    /// Counts a running container against the handler-cache budget, evicting paused ones to make room.
    func reserveRunning(_ container: Int64, bytes: Int64, evictions ev: inout [Eviction]) {
        for e in handlerCache!.reserveRunning(bytes) { destroy(e.container); ev.append(.container(id: e.container, handler: e.handler)) }
        containers[container]!.reservedBytes = bytes
    }

    func expire(now: Int64, into ev: inout [Eviction]) {
        guard handlerCache != nil else { return }
        for e in handlerCache!.expire(now: now) { destroy(e.container); ev.append(.container(id: e.container, handler: e.handler)) }
    }

    /// Installs for packages a process needs files for: (all to install, those cached, those retained).
    func installs(for needed: [Int32], now: Int64, evictions ev: inout [Eviction]) -> ([Int32], [Int32], [Int32]) {
        guard installCache != nil else { return (needed, [], []) }
        let r = installCache!.ensure(needed, sizes: { catalog.installedBytes[Int($0)] }, now: now)
        if !r.evicted.isEmpty { ev.append(contentsOf: r.evicted.map { .package(id: $0) }) }
        let retained = r.privateInstalls.isEmpty ? needed : needed.kept { installCache!.isInstalled($0) }
        installCache!.retain(retained)
        return (r.toInstall, r.cached, retained)
    }

    /// - Parameter protecting: a zygote the same plan forks from, which making room must not evict.
    func createZygote(for set: PackageSet, order: [Int32], now: Int64, evictions ev: inout [Eviction],
                      allowEviction: Bool, protecting forked: Int64? = nil) -> ZygoteSpec? {
        guard !set.intersects(unimportable), let parent = importCache!.bestParent(for: set) else { return nil }
        let own = order.kept { !parent.packages.contains($0) }
        guard !own.isEmpty else { return nil }
        let memory = own.reduce(0) { $0 + catalog.memoryBytes[Int($1)] }
        if !allowEviction && importCache!.usedBytes + memory > importCache!.budgetBytes { return nil }
        guard let evicted = importCache!.makeRoom(memory, protecting: forked.map { [parent.id, $0] } ?? [parent.id]) else { return nil }
        for v in evicted { releaseZygote(v.id); ev.append(.zygote(id: v.id)) }
        let (install, cached, retained) = installs(for: own, now: now, evictions: &ev)
        let id = nextZygote
        nextZygote += 1
        zygoteRetained[id] = retained
        importCache!.add(Zygote(id: id, parent: parent.id, packages: set, ownImports: own, memoryBytes: memory,
                                savedNanos: catalog.importNanos(order, on: nil), ready: false, lastUsedNanos: now,
                                uses: 0, children: 0))
        return ZygoteSpec(id: id, parent: parent.id, imports: own, install: install, installCached: !cached.isEmpty, memoryBytes: memory)
    }

    func destroy(_ container: Int64) {
        guard let c = containers.removeValue(forKey: container) else { return }
        containerIDs.release(container)
        if installCache != nil { installCache!.release(c.retained) }
    }

    func releaseZygote(_ id: Int64) {
        if let k = zygoteClass.removeValue(forKey: id) { classZygote[Int(k)] = nil }
        if let r = zygoteRetained.removeValue(forKey: id), installCache != nil { installCache!.release(r) }
    }

    /// Modeled cold-start cost of a handler (for GDSF): interpreter, downloads, installs, imports, init.
    func coldCost(_ h: Int32) -> Int64 {
        if let c = coldCosts[Int(h)] { return c }
        let p = catalog.profile(h)
        let c = catalog.interpreterStartNanos + p.initNanos + catalog.importNanos(p.importOrder, on: nil)
            + p.importOrder.reduce(0) { $0 + catalog.downloadNanos[Int($1)] + catalog.installNanos[Int($1)] }
        coldCosts[Int(h)] = c
        return c
    }

    // MARK: Inspection

    /// The memory the planner models for a live container, bytes (measured, once it has been paused).
    /// The simulator reports this back as its "measurement": one model, kept here.
    public func modeledMemoryBytes(container: Int64) -> Int64? { containers[container]?.memoryBytes }

    /// Memory held by paused containers and zygotes, bytes.
    public var cachedMemoryBytes: Int64 { (handlerCache?.usedBytes ?? 0) + (importCache?.usedBytes ?? 0) }

    /// Every cache's invariants, plus install-cache reference counts equal to their holders.
    public func checkInvariants() throws {
        try handlerCache?.checkInvariants()
        try importCache?.checkInvariants()
        if let ic = installCache {
            try ic.checkInvariants()
            var refs: [Int32: Int] = [:]
            for c in containers.values { for p in c.retained { refs[p, default: 0] += 1 } }
            for r in zygoteRetained.values { for p in r { refs[p, default: 0] += 1 } }
            for (id, e) in ic.entries {
                try check(e.references == refs[id] ?? 0, "install cache: p\(id) counts \(e.references) references, has \(refs[id] ?? 0)")
            }
        }
        if let hc = handlerCache {
            let reserved = containers.values.reduce(Int64(0)) { $0 + $1.reservedBytes }
            try check(reserved == hc.runningBytes, "planner: running containers reserve \(reserved) B but the handler cache counts \(hc.runningBytes) B")
            let paused = containers.values.filter { $0.paused }
            try check(paused.count == hc.count, "planner: \(paused.count) paused containers but the handler cache holds \(hc.count)")
        }
    }
}
