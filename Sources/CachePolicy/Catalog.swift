import Workload

/// What the policy knows about packages and handlers: costs (from the cost model the executor uses) with
/// packages interned to dense ids, and each handler's requirements precomputed as a `PackageSet`.
///
/// Packages are fixed once built; handlers can be added (`addHandler`, through `Planner.addHandler`).
public struct Catalog: Sendable {
    public struct PackageInfo: Sendable {
        public var name: String
        public var importNanos: Int64
        public var memoryBytes: Int64
        public var installedBytes: Int64
        public var downloadNanos: Int64
        public var installNanos: Int64
        /// Direct dependencies (ids).
        public var dependencies: [Int32]
        public var estimated: Bool
    }

    /// A handler's needs, precomputed.
    public struct Profile: Sendable {
        /// Its packages and all their dependencies: what it imports and what must be installed.
        public var closure: PackageSet
        /// `closure` in dependency order (dependencies before dependents), for importing.
        public var importOrder: [Int32]
        public var initNanos: Int64
        public var execNanos: Int64
        public var memoryBytes: Int64
        public var touchesEstimated: Bool
        /// Handlers with the same closure share a class (dense ids from 0).
        public var closureClass: Int32
    }

    public private(set) var packages: [PackageInfo] = []
    /// Hot fields by package id, flat (the planner and simulator read these per request).
    public private(set) var importNanos: [Int64] = []
    public private(set) var memoryBytes: [Int64] = []
    public private(set) var installedBytes: [Int64] = []
    public private(set) var downloadNanos: [Int64] = []
    public private(set) var installNanos: [Int64] = []
    /// Number of distinct handler closures.
    public private(set) var closureClasses = 0
    public private(set) var profiles: [Profile] = []
    private var ids: [String: Int32] = [:]
    /// Resident memory of a bare interpreter (a root zygote or a cold start before imports), bytes.
    public var interpreterMemoryBytes: Int64
    /// Fixed memory of a container beyond its processes (cgroup, namespaces, mounts), bytes.
    public var containerMemoryBytes: Int64
    /// What a container forked from a zygote holds of its own beyond `containerMemoryBytes` before it imports
    /// anything (pages it writes of what it shares with the zygote), bytes; a cold container holds an
    /// interpreter (`interpreterMemoryBytes`) instead.
    public var forkMemoryBytes: Int64
    /// Modeled cost of starting an interpreter, for the cold-cost estimate of GDSF.
    public var interpreterStartNanos: Int64
    /// The import overlap (`ImportOverlap`): standard-library modules by dense id (0 when there is none), each
    /// package's modules and what each costs of its `importNanos`, and what the worker has loaded before a
    /// handler's packages. A package's import is charged only for the modules not yet loaded.
    public private(set) var moduleCount = 0
    public private(set) var sharedModules: [[Int32]] = []
    public private(set) var sharedNanos: [[Int64]] = []
    public private(set) var preloadedModules = PackageSet(capacity: 0)

    /// - Parameter packages: every package any handler needs, with costs; dependencies by name.
    /// - Parameter overlap: which standard-library modules each package's import loads (packages of another
    ///   version, or estimated ones, are charged in full).
    public init(packages: [Package], handlers: HandlerTable, interpreterMemoryBytes: Int64 = 10 * Bytes.perMB,
                containerMemoryBytes: Int64 = Bytes.perMB, forkMemoryBytes: Int64 = 0, interpreterStartNanos: Int64 = 10_000_000,
                overlap: ImportOverlap? = nil) {
        self.interpreterMemoryBytes = interpreterMemoryBytes
        self.containerMemoryBytes = containerMemoryBytes
        self.forkMemoryBytes = forkMemoryBytes
        self.interpreterStartNanos = interpreterStartNanos
        for p in packages.sorted(by: { $0.name < $1.name }) where ids[p.name] == nil {
            ids[p.name] = Int32(self.packages.count)
            self.packages.append(PackageInfo(name: p.name, importNanos: Nanos.fromMillis(p.importMillis),
                                             memoryBytes: p.importMemoryBytes, installedBytes: p.installedBytes,
                                             downloadNanos: Nanos.fromMillis(p.downloadMillis),
                                             installNanos: Nanos.fromMillis(p.installMillis), dependencies: [],
                                             estimated: p.estimated))
        }
        for p in packages { if let i = ids[p.name] { self.packages[Int(i)].dependencies = p.dependencies.compactMap { ids[$0] } } }
        importNanos = self.packages.map(\.importNanos)
        memoryBytes = self.packages.map(\.memoryBytes)
        installedBytes = self.packages.map(\.installedBytes)
        downloadNanos = self.packages.map(\.downloadNanos)
        installNanos = self.packages.map(\.installNanos)
        if let overlap { useOverlap(overlap) }
        for h in handlers.handlers { _ = addHandler(h) }
    }

    private mutating func useOverlap(_ overlap: ImportOverlap) {
        var moduleIDs: [String: Int32] = [:]
        func id(_ m: String) -> Int32 {
            if let i = moduleIDs[m] { return i }
            let i = Int32(moduleIDs.count); moduleIDs[m] = i; return i
        }
        let preloaded = overlap.preloaded.map(id)
        sharedModules = Array(repeating: [], count: packages.count)
        sharedNanos = Array(repeating: [], count: packages.count)
        for (i, p) in packages.enumerated() where !p.estimated {
            guard let e = overlap.packages[p.name], !e.modules.isEmpty else { continue }
            var left = p.importNanos
            for (k, m) in e.modules.enumerated() {
                let n = min(left, Int64((Double(p.importNanos) * e.share(k)).rounded()))
                left -= n
                sharedModules[i].append(id(m.name)); sharedNanos[i].append(n)
            }
        }
        moduleCount = moduleIDs.count
        preloadedModules = PackageSet(capacity: moduleCount, ids: preloaded)
    }

    /// The standard-library modules an interpreter holding `packages` has loaded: the worker's own, then
    /// each package's.
    public func loadedModules(holding packages: PackageSet?) -> PackageSet {
        var loaded = preloadedModules
        guard moduleCount > 0, let packages else { return loaded }
        for p in packages.ids { for m in sharedModules[Int(p)] { loaded.insert(m) } }
        return loaded
    }

    /// What importing package `p` costs in an interpreter that has loaded the modules `loaded`: its
    /// `importNanos` less what its standard-library modules already loaded cost it; they are loaded after.
    @inline(__always) public func importNanos(_ p: Int32, loaded: inout PackageSet) -> Int64 {
        guard moduleCount > 0 else { return importNanos[Int(p)] }
        var c = importNanos[Int(p)]
        let mods = sharedModules[Int(p)], costs = sharedNanos[Int(p)]
        for k in 0..<mods.count {
            if loaded.contains(mods[k]) { c -= costs[k] } else { loaded.insert(mods[k]) }
        }
        return c
    }

    /// What importing `order` (in that order) costs on top of an interpreter holding `base`.
    public func importNanos(_ order: [Int32], on base: PackageSet?) -> Int64 {
        guard moduleCount > 0 else { return order.reduce(0) { $0 + importNanos[Int($1)] } }
        var loaded = loadedModules(holding: base)
        return order.reduce(0) { $0 + importNanos($1, loaded: &loaded) }
    }

    /// Handler closure classes so far, by closure.
    private var classes: [PackageSet: Int32] = [:]

    /// Adds a handler (a worker registers one while it serves); returns its id (the next index). Packages
    /// not in the catalog are left out of its profile: check `unknownPackages(of:)` first.
    @discardableResult
    public mutating func addHandler(_ h: Handler) -> Int32 {
        let direct = h.packages.compactMap { ids[$0] }
        let order = dependencyOrder(direct)
        let closure = PackageSet(capacity: packages.count, ids: order)
        let k: Int32
        if let c = classes[closure] { k = c } else { k = Int32(classes.count); classes[closure] = k }
        profiles.append(Profile(closure: closure, importOrder: order,
                                initNanos: Nanos.fromMillis(h.initMillis), execNanos: Nanos.fromMillis(h.execMillis),
                                memoryBytes: h.memoryBytes,
                                touchesEstimated: order.contains { packages[Int($0)].estimated }, closureClass: k))
        closureClasses = classes.count
        return Int32(profiles.count - 1)
    }

    /// The packages of `h` this catalog does not know (canonical names).
    public func unknownPackages(of h: Handler) -> [String] { h.packages.filter { ids[$0] == nil } }

    public func id(of name: String) -> Int32? { ids[name] }
    public var count: Int { packages.count }
    public subscript(id: Int32) -> PackageInfo { packages[Int(id)] }
    public func profile(_ handler: Int32) -> Profile { profiles[Int(handler)] }

    /// `roots` and all their dependencies, dependencies first (depth-first post-order, ids ascending at each level).
    public func dependencyOrder(_ roots: [Int32]) -> [Int32] {
        var out: [Int32] = [], seen = Set<Int32>()
        func visit(_ i: Int32) {
            guard seen.insert(i).inserted else { return }
            for d in packages[Int(i)].dependencies.sorted() { visit(d) }
            out.append(i)
        }
        for r in roots.sorted() { visit(r) }
        return out
    }

    public func set(_ ids: some Sequence<Int32>) -> PackageSet { PackageSet(capacity: packages.count, ids: ids) }
    public func emptySet() -> PackageSet { PackageSet(capacity: packages.count) }

    public func memoryBytes(_ s: PackageSet) -> Int64 { s.ids.reduce(0) { $0 + memoryBytes[Int($1)] } }
    public func names(_ ids: [Int32]) -> [String] { ids.map { packages[Int($0)].name } }
}
