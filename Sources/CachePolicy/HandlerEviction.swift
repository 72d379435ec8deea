/// What an eviction policy knows about a paused container.
public struct EntryStats: Sendable {
    public var lastUsedNanos: Int64
    /// Requests its handler has served while it has had a container cached.
    public var frequency: Int
    public var sizeBytes: Int64
    /// Modeled cost of a cold start of its handler, ns (what a miss would cost).
    public var coldCostNanos: Int64
    /// Requests this container has served (its own count, which leaves the cache with it).
    public var containerUses: Int = 1
    /// The sum of those counts over its handler's containers in the cache, this one included.
    public var poolUses: Int = 1
}

/// A handler-cache eviction policy: it gives each paused container a priority, and the lowest priority is
/// evicted first. Implementations are values chosen by name from `HandlerEvictionRegistry`.
public protocol HandlerEvictionPolicy: Sendable {
    var name: String { get }
    /// Priority of an entry now (computed when the entry is paused or used). Lower is evicted first.
    mutating func priority(_ e: EntryStats) -> Double
    /// Called with the priority of each evicted entry (GDSF ages its clock with it).
    mutating func evicted(priority: Double)
    /// Entries idle longer than this are evicted regardless of space (nil: no keep-alive limit).
    var keepAliveNanos: Int64? { get }
    /// Whether it reads `containerUses`/`poolUses` (the cache keeps those counts only for such a policy).
    var readsUseCounts: Bool { get }
}

extension HandlerEvictionPolicy {
    public mutating func evicted(priority: Double) {}
    public var keepAliveNanos: Int64? { nil }
    public var readsUseCounts: Bool { false }
}

/// Least recently used (the paper's policy).
public struct LRUEviction: HandlerEvictionPolicy {
    public let name = "lru"
    public mutating func priority(_ e: EntryStats) -> Double { Double(e.lastUsedNanos) }
}

/// Least frequently used; ties go to the least recently used.
public struct LFUEviction: HandlerEvictionPolicy {
    public let name = "lfu"
    public mutating func priority(_ e: EntryStats) -> Double { Double(e.frequency) * 1e19 + Double(e.lastUsedNanos) }
}

/// Greedy-Dual-Size-Frequency with *lifetime* frequency: priority = clock + (requests the handler ever had)
/// × cold cost / size, the clock rising to the priority of each evicted entry. Not FaasCache's: its
/// frequency never forgets (a handler popular long ago keeps a high priority). `faascache` is the paper's.
/// (Named `gdsf` before; that name is kept as an alias.)
public struct GDSFEviction: HandlerEvictionPolicy {
    public let name = "gdsf-lifetime"
    var clock = 0.0
    public mutating func priority(_ e: EntryStats) -> Double {
        clock + Double(e.frequency) * Double(e.coldCostNanos) / Double(max(e.sizeBytes, 1))
    }
    public mutating func evicted(priority: Double) { clock = max(clock, priority) }
}

/// GreedyDual as FaasCache defines it (Fuerst and Sharma, ASPLOS'21): priority = clock + frequency ×
/// (cold time − warm time) / memory, where frequency counts the uses of the function's containers still
/// in the pool (a container's count leaves with it), and the clock rises to the priority of each evicted
/// container. Cold minus warm is the modeled start cost (execution is in both and cancels; a thaw is not
/// modeled by the planner). A priority is computed when its container is paused.
public struct FaasCacheEviction: HandlerEvictionPolicy {
    public let name = "faascache"
    public var readsUseCounts: Bool { true }
    var clock = 0.0
    public mutating func priority(_ e: EntryStats) -> Double {
        clock + Double(e.poolUses) * Double(e.coldCostNanos) / Double(max(e.sizeBytes, 1))
    }
    public mutating func evicted(priority: Double) { clock = max(clock, priority) }
}

/// Fixed keep-alive: an idle container lives `keepAliveNanos`, then is evicted; LRU when space runs out.
public struct TTLEviction: HandlerEvictionPolicy {
    public let name = "ttl"
    public let keepAliveNanos: Int64?
    public init(keepAliveNanos: Int64) { self.keepAliveNanos = keepAliveNanos }
    public mutating func priority(_ e: EntryStats) -> Double { Double(e.lastUsedNanos) }
}

/// The one registry of handler-cache eviction policies, shared by the command line and config files.
public enum HandlerEvictionRegistry {
    public static let names = ["lru", "lfu", "gdsf-lifetime", "faascache", "ttl"]

    /// `gdsf` is the old name of `gdsf-lifetime` (configs and stored sweeps name it).
    public static func make(_ name: String, ttlNanos: Int64) throws -> any HandlerEvictionPolicy {
        switch name {
        case "lru": return LRUEviction()
        case "lfu": return LFUEviction()
        case "gdsf", "gdsf-lifetime": return GDSFEviction()
        case "faascache": return FaasCacheEviction()
        case "ttl": return TTLEviction(keepAliveNanos: ttlNanos)
        default: throw PolicyError.unknownName(kind: "handler-cache eviction policy", name: name, known: names)
        }
    }
}
