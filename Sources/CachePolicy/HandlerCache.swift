import HeapModule

/// Paused containers, per handler, under a memory budget, evicted by a `HandlerEvictionPolicy`.
///
/// - Complexity: `take` O(1) amortised; `insert` O(log n) per eviction (a heap with lazy deletion).
public struct HandlerCache: Sendable {
    public struct Entry: Sendable {
        public var container: Int64
        public var handler: Int32
        public var memoryBytes: Int64
        public var pausedAtNanos: Int64
        var priority: Double
        var sequence: Int64
    }

    struct Key: Comparable {
        var priority: Double
        var sequence: Int64
        var container: Int64
        static func < (a: Key, b: Key) -> Bool { a.priority != b.priority ? a.priority < b.priority : a.sequence < b.sequence }
    }

    public let budgetBytes: Int64
    public private(set) var usedBytes: Int64 = 0
    /// Memory of running containers counted against the budget (only with `countRunning`).
    public private(set) var runningBytes: Int64 = 0
    var policy: any HandlerEvictionPolicy
    public private(set) var entries = SlotMap<Entry>()
    var byHandler: [[Int64]] = []
    var heap = Heap<Key>()
    var sequence: Int64 = 0
    /// Requests per handler, ever (for LFU and lifetime GDSF).
    var frequency: [Int] = []
    /// Uses of each container (by id: ids are dense), kept while it lives, and their sum over each
    /// handler's paused containers (for FaasCache's GreedyDual: a container's count leaves with it).
    var containerUses: [Int32] = []
    var poolUses: [Int] = []
    /// Whether the policy reads those counts (only FaasCache's does; the others skip the bookkeeping).
    let tracksUses: Bool
    public private(set) var counts = EventCounts()

    public init(budgetBytes: Int64, policy: any HandlerEvictionPolicy) {
        self.budgetBytes = budgetBytes
        self.policy = policy
        tracksUses = policy.readsUseCounts
    }

    public var count: Int { entries.count }

    /// Counts a request of `handler` and takes its most recently paused container, if any (a hit).
    public mutating func take(handler: Int32) -> Entry? {
        grow(handler)
        frequency[Int(handler)] += 1
        guard let id = byHandler[Int(handler)].popLast() else {
            counts[.miss] += 1
            return nil
        }
        let e = entries.removeValue(forKey: id)!
        usedBytes -= e.memoryBytes
        if tracksUses { poolUses[Int(handler)] -= Int(containerUses[Int(id)]) }
        counts[.hit] += 1
        compactIfNeeded()
        return e
    }

    /// Pauses `container` into the cache, evicting by priority until it fits. Returns the evicted entries,
    /// and false when the container cannot fit even in an empty cache (it is then not kept).
    public mutating func insert(container: Int64, handler: Int32, memoryBytes: Int64, coldCostNanos: Int64,
                                now: Int64) -> (kept: Bool, evicted: [Entry]) {
        guard memoryBytes <= budgetBytes else {
            counts[.rejected] += 1
            return (false, [])
        }
        var evicted: [Entry] = []
        while usedBytes + runningBytes + memoryBytes > budgetBytes, let victim = popVictim() {
            counts[.evicted] += 1
            evicted.append(victim)
        }
        grow(handler)
        var uses = 1
        if tracksUses {
            if Int(container) >= containerUses.count { containerUses.append(contentsOf: repeatElement(0, count: Int(container) + 1 - containerUses.count)) }
            containerUses[Int(container)] += 1 // the request it just served
            uses = Int(containerUses[Int(container)])
        }
        let stats = EntryStats(lastUsedNanos: now, frequency: frequency[Int(handler)], sizeBytes: memoryBytes, coldCostNanos: coldCostNanos,
                               containerUses: uses, poolUses: tracksUses ? poolUses[Int(handler)] + uses : uses)
        let p = policy.priority(stats)
        sequence += 1
        entries[container] = Entry(container: container, handler: handler, memoryBytes: memoryBytes, pausedAtNanos: now,
                                   priority: p, sequence: sequence)
        byHandler[Int(handler)].append(container)
        usedBytes += memoryBytes
        if tracksUses { poolUses[Int(handler)] += uses }
        heap.insert(Key(priority: p, sequence: sequence, container: container))
        counts[.paused] += 1
        return (true, evicted)
    }

    /// A container that was never paused, or was taken and not paused again, is gone: its use count ends.
    public mutating func forget(container: Int64) {
        if tracksUses && Int(container) < containerUses.count { containerUses[Int(container)] = 0 }
    }

    /// Removes `container` (its executor could not keep it paused). Returns its entry, nil if it is not here.
    public mutating func drop(container: Int64) -> Entry? {
        guard let e = entries[container] else { return nil }
        remove(e)
        counts[.evicted] += 1
        compactIfNeeded()
        return e
    }

    /// Counts a running container's `bytes` against the budget, evicting paused containers by priority to
    /// make room (a running container is never refused: when it alone is too big, the cache just empties).
    public mutating func reserveRunning(_ bytes: Int64) -> [Entry] {
        var evicted: [Entry] = []
        while usedBytes + runningBytes + bytes > budgetBytes, let victim = popVictim() {
            counts[.evicted] += 1
            evicted.append(victim)
        }
        runningBytes += bytes
        return evicted
    }

    /// A running container counted by `reserveRunning` is done (about to be paused or destroyed).
    public mutating func releaseRunning(_ bytes: Int64) { runningBytes -= bytes }

    /// Evicts entries idle past the policy's keep-alive.
    public mutating func expire(now: Int64) -> [Entry] {
        guard let ttl = policy.keepAliveNanos else { return [] }
        var out: [Entry] = []
        while let top = heap.min {
            guard let e = entries[top.container], e.sequence == top.sequence else { _ = heap.removeMin(); continue }
            guard e.pausedAtNanos + ttl <= now else { break }
            _ = heap.removeMin()
            remove(e)
            counts[.expired] += 1
            out.append(e)
        }
        return out
    }

    mutating func popVictim() -> Entry? {
        while let top = heap.popMin() {
            guard let e = entries[top.container], e.sequence == top.sequence else { continue }
            remove(e)
            policy.evicted(priority: e.priority)
            return e
        }
        return nil
    }

    mutating func remove(_ e: Entry) {
        entries[e.container] = nil
        usedBytes -= e.memoryBytes
        if tracksUses {
            poolUses[Int(e.handler)] -= Int(containerUses[Int(e.container)])
            containerUses[Int(e.container)] = 0 // it ends here: its id may be reused
        }
        if let i = byHandler[Int(e.handler)].firstIndex(of: e.container) { byHandler[Int(e.handler)].remove(at: i) }
    }

    @inline(__always) mutating func grow(_ handler: Int32) {
        if Int(handler) >= byHandler.count {
            let n = Int(handler) + 1 - byHandler.count
            byHandler.append(contentsOf: repeatElement([], count: n))
            frequency.append(contentsOf: repeatElement(0, count: n))
            poolUses.append(contentsOf: repeatElement(0, count: n))
        }
    }

    mutating func compactIfNeeded() {
        guard heap.count > 2 * entries.count + 1024 else { return }
        heap = Heap(heap.unordered.filter { k in entries[k.container].map { $0.sequence == k.sequence } ?? false })
    }

    /// Budget respected, byte count equal to the sum of entries, per-handler index consistent.
    public func checkInvariants() throws {
        let sum = entries.values.reduce(Int64(0)) { $0 + $1.memoryBytes }
        try check(sum == usedBytes, "handler cache: used \(usedBytes) B but entries sum to \(sum) B")
        try check(usedBytes <= budgetBytes, "handler cache: used \(usedBytes) B exceeds budget \(budgetBytes) B")
        let indexed = byHandler.reduce(0) { $0 + $1.count }
        try check(indexed == entries.count, "handler cache: \(indexed) indexed containers but \(entries.count) entries")
        for (h, ids) in byHandler.enumerated() { for id in ids { try check(entries[id]?.handler == Int32(h), "handler cache: c\(id) indexed under the wrong handler") } }
        let live = Set(heap.unordered.filter { k in entries[k.container]?.sequence == k.sequence }.map(\.container))
        try check(live == Set(entries.keys), "handler cache: heap and entries disagree")
        for (h, ids) in byHandler.enumerated() where tracksUses {
            let sum = ids.reduce(0) { $0 + Int(containerUses[Int($1)]) }
            try check(sum == poolUses[h], "handler cache: handler \(h)'s pool uses \(poolUses[h]) but its containers sum to \(sum)")
        }
    }
}

public struct InvariantViolation: Error, CustomStringConvertible {
    public let description: String
}

@inline(__always) func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
    if !ok { throw InvariantViolation(description: message()) }
}
