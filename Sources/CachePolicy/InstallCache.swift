/// Installed packages on local disk under a byte budget, evicted least recently used among those no
/// container or zygote holds (a reference count per package).
public struct InstallCache: Sendable {
    public struct Entry: Sendable {
        public var bytes: Int64
        public var lastUsedNanos: Int64
        public var references: Int
    }

    public let budgetBytes: Int64
    public private(set) var usedBytes: Int64 = 0
    public private(set) var entries: [Int32: Entry] = [:]
    public private(set) var counts: [CacheEvent: Int] = [:]

    public init(budgetBytes: Int64) { self.budgetBytes = budgetBytes }

    public func isInstalled(_ id: Int32) -> Bool { entries[id] != nil }

    /// Decides, for `needed` packages (dependency order), which are already installed (touched), which to
    /// install into the cache, and which must be installed privately because they cannot fit. Evictions
    /// are returned; the new entries count as installed from now on.
    mutating func ensure(_ needed: [Int32], sizes: (Int32) -> Int64, now: Int64)
        -> (cached: [Int32], privateInstalls: [Int32], evicted: [Int32]) {
        var cached: [Int32] = [], priv: [Int32] = [], evicted: [Int32] = []
        let neededSet = Set(needed)
        for id in needed {
            if entries[id] != nil {
                entries[id]!.lastUsedNanos = now
                counts[.hit, default: 0] += 1
                continue
            }
            counts[.miss, default: 0] += 1
            let bytes = sizes(id)
            if makeRoom(bytes, keeping: neededSet, evicted: &evicted) {
                entries[id] = Entry(bytes: bytes, lastUsedNanos: now, references: 0)
                usedBytes += bytes
                counts[.created, default: 0] += 1
                cached.append(id)
            } else {
                counts[.rejected, default: 0] += 1
                priv.append(id)
            }
        }
        return (cached, priv, evicted)
    }

    /// Evicts unreferenced LRU entries (never those in `keeping`) until `bytes` fit; false if they cannot.
    mutating func makeRoom(_ bytes: Int64, keeping: Set<Int32>, evicted: inout [Int32]) -> Bool {
        guard bytes <= budgetBytes else { return false }
        if usedBytes + bytes <= budgetBytes { return true }
        let candidates = entries.filter { $0.value.references == 0 && !keeping.contains($0.key) }
            .sorted { $0.value.lastUsedNanos != $1.value.lastUsedNanos ? $0.value.lastUsedNanos < $1.value.lastUsedNanos : $0.key < $1.key }
        let freeable = candidates.reduce(0) { $0 + $1.value.bytes }
        guard usedBytes - freeable + bytes <= budgetBytes else { return false }
        for (id, e) in candidates {
            if usedBytes + bytes <= budgetBytes { break }
            entries[id] = nil
            usedBytes -= e.bytes
            evicted.append(id)
            counts[.evicted, default: 0] += 1
        }
        return true
    }

    /// Installs without a request (pre-install); false when it does not fit.
    mutating func preinstall(_ id: Int32, bytes: Int64) -> Bool {
        guard entries[id] == nil else { return true }
        guard usedBytes + bytes <= budgetBytes else { return false }
        entries[id] = Entry(bytes: bytes, lastUsedNanos: 0, references: 0)
        usedBytes += bytes
        counts[.created, default: 0] += 1
        return true
    }

    mutating func retain(_ ids: [Int32]) { for id in ids where entries[id] != nil { entries[id]!.references += 1 } }
    mutating func release(_ ids: [Int32]) { for id in ids where entries[id] != nil { entries[id]!.references -= 1 } }

    public func checkInvariants() throws {
        let sum = entries.values.reduce(0) { $0 + $1.bytes }
        try check(sum == usedBytes, "install cache: used \(usedBytes) B but entries sum to \(sum) B")
        try check(usedBytes <= budgetBytes, "install cache: used \(usedBytes) B exceeds budget \(budgetBytes) B")
        for (id, e) in entries { try check(e.references >= 0, "install cache: p\(id) has \(e.references) references") }
    }
}
