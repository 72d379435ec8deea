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
    /// Modeled cost of starting an interpreter, for the cold-cost estimate of GDSF.
    public var interpreterStartNanos: Int64

    /// - Parameter packages: every package any handler needs, with costs; dependencies by name.
    public init(packages: [Package], handlers: HandlerTable, interpreterMemoryBytes: Int64 = 10 * Bytes.perMB,
                containerMemoryBytes: Int64 = Bytes.perMB, interpreterStartNanos: Int64 = 10_000_000) {
        self.interpreterMemoryBytes = interpreterMemoryBytes
        self.containerMemoryBytes = containerMemoryBytes
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
        for h in handlers.handlers { _ = addHandler(h) }
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

    public func importNanos(_ s: PackageSet) -> Int64 { s.ids.reduce(0) { $0 + importNanos[Int($1)] } }
    public func memoryBytes(_ s: PackageSet) -> Int64 { s.ids.reduce(0) { $0 + memoryBytes[Int($1)] } }
    public func names(_ ids: [Int32]) -> [String] { ids.map { packages[Int($0)].name } }
}
