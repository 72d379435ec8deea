/// Installed packages on local disk under a byte budget, evicted least recently used among those no
/// container or zygote holds (a reference count per package).
///
/// State is kept in arrays indexed by package id (the catalog's dense ids): lookups are on the hot path.
public struct InstallCache: Sendable {
    public struct Entry: Sendable {
        public var bytes: Int64
        public var lastUsedNanos: Int64
        public var references: Int
    }

    public let budgetBytes: Int64
    public private(set) var usedBytes: Int64 = 0
    var installed: [Bool]
    var bytes: [Int64]
    var lastUsed: [Int64]
    var references: [Int32]
    /// Marks for "needed by the current request", by generation (no per-call set allocation).
    var mark: [UInt32]
    var generation: UInt32 = 0
    public private(set) var counts = EventCounts()

    public init(budgetBytes: Int64, packages: Int) {
        self.budgetBytes = budgetBytes
        installed = [Bool](repeating: false, count: packages)
        bytes = [Int64](repeating: 0, count: packages)
        lastUsed = [Int64](repeating: 0, count: packages)
        references = [Int32](repeating: 0, count: packages)
        mark = [UInt32](repeating: 0, count: packages)
    }

    @inline(__always) public func isInstalled(_ id: Int32) -> Bool { installed[Int(id)] }

    /// Installed packages by id (for inspection and invariants).
    public var entries: [Int32: Entry] {
        var out: [Int32: Entry] = [:]
        for i in installed.indices where installed[i] {
            out[Int32(i)] = Entry(bytes: bytes[i], lastUsedNanos: lastUsed[i], references: Int(references[i]))
        }
        return out
    }

    /// Decides, for `needed` packages (dependency order), which are already installed (touched), which to
    /// install into the cache, and which must be installed privately because they cannot fit. Evictions
    /// are returned; the new entries count as installed from now on.
    mutating func ensure(_ needed: [Int32], sizes: (Int32) -> Int64, now: Int64)
        -> (toInstall: [Int32], cached: [Int32], privateInstalls: [Int32], evicted: [Int32]) {
        var toInstall: [Int32] = [], cached: [Int32] = [], priv: [Int32] = [], evicted: [Int32] = []
        generation &+= 1
        for id in needed { mark[Int(id)] = generation }
        for id in needed {
            let i = Int(id)
            if installed[i] {
                lastUsed[i] = now
                counts[.hit] += 1
                continue
            }
            counts[.miss] += 1
            if toInstall.isEmpty { toInstall.reserveCapacity(needed.count) } // one allocation, not growth by appends
            let b = sizes(id)
            if makeRoom(b, evicted: &evicted) {
                installed[i] = true; bytes[i] = b; lastUsed[i] = now; references[i] = 0
                usedBytes += b
                counts[.created] += 1
                if cached.isEmpty { cached.reserveCapacity(needed.count) }
                cached.append(id)
            } else {
                counts[.rejected] += 1
                priv.append(id)
            }
            toInstall.append(id)
        }
        return (toInstall, cached, priv, evicted)
    }

    /// Evicts unreferenced LRU entries (never those marked needed now) until `b` fit; false if they cannot.
    mutating func makeRoom(_ b: Int64, evicted: inout [Int32]) -> Bool {
        guard b <= budgetBytes else { return false }
        if usedBytes + b <= budgetBytes { return true }
        var candidates: [Int] = []
        var freeable: Int64 = 0
        for i in installed.indices where installed[i] && references[i] == 0 && mark[i] != generation {
            candidates.append(i); freeable += bytes[i]
        }
        guard usedBytes - freeable + b <= budgetBytes else { return false }
        candidates.sort { lastUsed[$0] != lastUsed[$1] ? lastUsed[$0] < lastUsed[$1] : $0 < $1 }
        for i in candidates {
            if usedBytes + b <= budgetBytes { break }
            installed[i] = false
            usedBytes -= bytes[i]
            evicted.append(Int32(i))
            counts[.evicted] += 1
        }
        return true
    }

    /// Installs without a request (pre-install); false when it does not fit.
    mutating func preinstall(_ id: Int32, bytes b: Int64) -> Bool {
        let i = Int(id)
        guard !installed[i] else { return true }
        guard usedBytes + b <= budgetBytes else { return false }
        installed[i] = true; bytes[i] = b; lastUsed[i] = 0; references[i] = 0
        usedBytes += b
        counts[.created] += 1
        return true
    }

    /// Drops an entry whose install failed (whoever held it no longer does).
    mutating func uninstall(_ id: Int32) {
        let i = Int(id)
        guard installed[i] else { return }
        installed[i] = false
        usedBytes -= bytes[i]
        references[i] = 0
        counts[.evicted] += 1
    }

    mutating func retain(_ ids: [Int32]) { for id in ids where installed[Int(id)] { references[Int(id)] += 1 } }
    mutating func release(_ ids: [Int32]) { for id in ids where installed[Int(id)] { references[Int(id)] -= 1 } }

    public func checkInvariants() throws {
        var sum: Int64 = 0
        for i in installed.indices where installed[i] {
            sum += bytes[i]
            try check(references[i] >= 0, "install cache: p\(i) has \(references[i]) references")
        }
        try check(sum == usedBytes, "install cache: used \(usedBytes) B but entries sum to \(sum) B")
        try check(usedBytes <= budgetBytes, "install cache: used \(usedBytes) B exceeds budget \(budgetBytes) B")
    }
}
