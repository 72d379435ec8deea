/// What an eviction policy knows about a paused container.
public struct EntryStats: Sendable {
    public var lastUsedNanos: Int64
    /// Requests its handler has served while it has had a container cached.
    public var frequency: Int
    public var sizeBytes: Int64
    /// Modeled cost of a cold start of its handler, ns (what a miss would cost).
    public var coldCostNanos: Int64
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
}

extension HandlerEvictionPolicy {
    public mutating func evicted(priority: Double) {}
    public var keepAliveNanos: Int64? { nil }
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

/// Greedy-Dual-Size-Frequency as in FaasCache: priority = clock + frequency × cold cost / size, where
/// the clock rises to the priority of each evicted entry.
public struct GDSFEviction: HandlerEvictionPolicy {
    public let name = "gdsf"
    var clock = 0.0
    public mutating func priority(_ e: EntryStats) -> Double {
        clock + Double(e.frequency) * Double(e.coldCostNanos) / Double(max(e.sizeBytes, 1))
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
    public static let names = ["lru", "lfu", "gdsf", "ttl"]

    public static func make(_ name: String, ttlNanos: Int64) throws -> any HandlerEvictionPolicy {
        switch name {
        case "lru": return LRUEviction()
        case "lfu": return LFUEviction()
        case "gdsf": return GDSFEviction()
        case "ttl": return TTLEviction(keepAliveNanos: ttlNanos)
        default: throw PolicyError.unknownName(kind: "handler-cache eviction policy", name: name, known: names)
        }
    }
}
