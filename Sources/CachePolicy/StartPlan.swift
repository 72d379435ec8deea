/// Which tier served a start.
public enum Tier: String, Sendable, CaseIterable, Codable {
    /// A paused container of the handler was thawed.
    case handler
    /// A zygote was forked and the child moved into a new container.
    case `import`
    /// A fresh interpreter started in a new container.
    case cold
}

/// The lifecycle vocabulary every cache speaks. Order rules: an entry is `created` (or `paused`, for a
/// container entering the handler cache) before any `hit`; `hit` and `miss` are per request; an entry ends
/// exactly once, `evicted` (for space), `expired` (keep-alive ran out) or `rejected` (never fit); nothing
/// happens to it after its end.
public enum CacheEvent: String, Sendable, CaseIterable {
    case created, hit, miss, paused, evicted, expired, rejected
}

/// How many times each lifecycle event happened in one cache (counting is on the hot path).
/// Stored fields rather than an array: an array's copy-on-write check on every increment showed in the
/// simulator's instruction profile.
public struct EventCounts: Sendable, Equatable {
    var created = 0, hit = 0, miss = 0, paused = 0, evicted = 0, expired = 0, rejected = 0
    public subscript(_ e: CacheEvent) -> Int {
        @inline(__always) get {
            switch e {
            case .created: return created
            case .hit: return hit
            case .miss: return miss
            case .paused: return paused
            case .evicted: return evicted
            case .expired: return expired
            case .rejected: return rejected
            }
        }
        @inline(__always) set {
            switch e {
            case .created: created = newValue
            case .hit: hit = newValue
            case .miss: miss = newValue
            case .paused: paused = newValue
            case .evicted: evicted = newValue
            case .expired: expired = newValue
            case .rejected: rejected = newValue
            }
        }
    }
}

/// Something a plan removes: a paused container, a zygote, or an installed package.
public enum Eviction: Equatable, Hashable, Sendable, CustomStringConvertible {
    case container(id: Int64, handler: Int32)
    case zygote(id: Int64)
    case package(id: Int32)

    public var description: String {
        switch self {
        case .container(let id, _): return "c\(id)"
        case .zygote(let id): return "z\(id)"
        case .package(let id): return "p\(id)"
        }
    }
}

/// A zygote the executor should create in the background: fork `parent` and import `imports` in order.
public struct ZygoteSpec: Equatable, Sendable {
    public var id: Int64
    public var parent: Int64?
    /// Packages the new zygote imports itself (its parent's are already there), dependency order.
    public var imports: [Int32]
    /// Of those, the ones to download and install first, and whether into the install cache.
    public var install: [Int32]
    public var installCached: Bool
    /// Modeled memory, bytes (the executor reports the real figure when the zygote is ready).
    public var memoryBytes: Int64
}

/// The planner's decision for one request: everything the executor needs, as a value that can be logged
/// and compared between the simulator and the real runtime.
public struct StartPlan: Equatable, Sendable {
    public var request: Int64
    public var handler: Int32
    public var nowNanos: Int64
    public var tier: Tier
    /// The container that will serve the request (thawed on a handler hit, new otherwise).
    public var container: Int64
    /// The zygote forked on an import-cache hit.
    public var zygote: Int64?
    /// Packages to download and install before the start, dependency order.
    public var install: [Int32]
    /// Of `install`, those that go into the shared install cache (the rest are private to the container).
    public var installCached: [Int32]
    /// Packages to import in the handler's process after the fork or cold start, dependency order.
    public var imports: [Int32]
    public var evictions: [Eviction]
    public var createZygotes: [ZygoteSpec]

    public init(request: Int64, handler: Int32, nowNanos: Int64, tier: Tier, container: Int64, zygote: Int64?, install: [Int32],
                installCached: [Int32], imports: [Int32], evictions: [Eviction], createZygotes: [ZygoteSpec]) {
        self.request = request; self.handler = handler; self.nowNanos = nowNanos; self.tier = tier; self.container = container
        self.zygote = zygote; self.install = install; self.installCached = installCached; self.imports = imports
        self.evictions = evictions; self.createZygotes = createZygotes
    }
}

/// What happens to a container when its request is done.
public struct IdlePlan: Equatable, Sendable {
    public var container: Int64
    public var nowNanos: Int64
    /// True: frozen into the handler cache. False: destroyed.
    public var paused: Bool
    public var evictions: [Eviction]
}

/// The planner's answer when a zygote is ready (with its measured memory).
public struct ReadyPlan: Equatable, Sendable {
    public var zygote: Int64
    public var nowNanos: Int64
    /// False when the zygote no longer fits and is itself evicted.
    public var kept: Bool
    public var evictions: [Eviction]
}
