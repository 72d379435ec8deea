/// A sleeping interpreter with packages imported, forked to start handlers.
public struct Zygote: Sendable {
    public var id: Int64
    public var parent: Int64?
    /// Every package imported in it (its parent's and its own), dependencies included.
    public var packages: PackageSet
    /// The packages it imported itself, dependency order.
    public var ownImports: [Int32]
    /// Memory it adds beyond its parent (copy-on-write sharing), bytes.
    public var memoryBytes: Int64
    /// Import time a handler saves by forking it: the sum over `packages`, ns.
    public var savedNanos: Int64
    public var ready: Bool
    public var lastUsedNanos: Int64
    public var uses: Int
    public var children: Int
}

/// The import cache: a tree of zygotes under a memory budget. The root (id 0) has no packages and is never
/// evicted; every other zygote's packages are a superset of its parent's; a zygote with children is not
/// evicted before them.
///
/// - Complexity: choosing a zygote is O(z · w) for z zygotes and w words of a package set.
public struct ImportCache: Sendable {
    public let budgetBytes: Int64
    public private(set) var usedBytes: Int64 = 0
    public let eviction: ZygoteEviction
    /// Live zygotes in id order (ids only grow, so appending keeps the order).
    public private(set) var zygotes: [Zygote] = []
    public private(set) var counts = EventCounts()

    public init(budgetBytes: Int64, eviction: ZygoteEviction) {
        self.budgetBytes = budgetBytes
        self.eviction = eviction
    }

    public func index(of id: Int64) -> Int? {
        var lo = 0, hi = zygotes.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if zygotes[mid].id == id { return mid }
            if zygotes[mid].id < id { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }

    public subscript(id: Int64) -> Zygote? { index(of: id).map { zygotes[$0] } }

    /// The ready zygote that saves `closure` the most import time among those whose packages are all in
    /// `closure` (the subset rule); ties go to the lower id.
    public func best(for closure: PackageSet) -> Zygote? {
        // By index, not `for z in zygotes`: each copy of a zygote retains its arrays (seen in the profile).
        var best = -1
        for i in zygotes.indices where zygotes[i].ready && zygotes[i].packages.isSubset(of: closure) {
            if best < 0 || zygotes[i].savedNanos > zygotes[best].savedNanos { best = i }
        }
        return best < 0 ? nil : zygotes[best]
    }

    /// Like `best`, but counting not-yet-ready zygotes too (a parent for a new zygote may still be building).
    func bestParent(for set: PackageSet) -> Zygote? {
        var best = -1
        for i in zygotes.indices where zygotes[i].packages.isSubset(of: set) {
            if best < 0 || zygotes[i].savedNanos > zygotes[best].savedNanos { best = i }
        }
        return best < 0 ? nil : zygotes[best]
    }

    public func contains(packages: PackageSet) -> Bool { zygotes.contains { $0.packages == packages } }

    public mutating func recordUse(_ id: Int64, now: Int64) {
        guard let i = index(of: id) else { return }
        zygotes[i].lastUsedNanos = now
        zygotes[i].uses += 1
        counts[.hit] += 1
    }

    public mutating func recordMiss() { counts[.miss] += 1 }

    /// Makes room for `bytes`, evicting evictable leaves (not in `protected`) by policy. Returns the evicted
    /// zygotes, or nil (evicting nothing) when room cannot be made.
    mutating func makeRoom(_ bytes: Int64, protecting protected: [Int64]) -> [Zygote]? {
        guard bytes <= budgetBytes else { return nil }
        if usedBytes + bytes <= budgetBytes { return [] }
        // Feasibility first: a zygote can go eventually (leaves first) unless it is the root, protected,
        // still building, or an ancestor of one of those.
        var keep: [Int64] = []  // few: the root, the protected, those building, and their ancestors
        for i in zygotes.indices where zygotes[i].id == 0 || protected.contains(zygotes[i].id) || !zygotes[i].ready {
            var cur: Int64? = zygotes[i].id
            while let c = cur, !keep.contains(c) { keep.append(c); cur = index(of: c).flatMap { zygotes[$0].parent } }
        }
        var freeable: Int64 = 0
        for i in zygotes.indices where !keep.contains(zygotes[i].id) { freeable += zygotes[i].memoryBytes }
        guard usedBytes - freeable + bytes <= budgetBytes else { return nil }
        var out: [Zygote] = []
        while usedBytes + bytes > budgetBytes, let v = victim(protecting: keep) {
            out.append(remove(v))
        }
        counts[.evicted] += out.count
        return out
    }

    func victim(protecting protected: [Int64]) -> Int64? {
        var best: Int64? = nil
        var bestScore = 0.0
        for i in zygotes.indices where zygotes[i].id != 0 && zygotes[i].children == 0 && zygotes[i].ready && !protected.contains(zygotes[i].id) {
            let score: Double
            switch eviction {
            case .lru: score = Double(zygotes[i].lastUsedNanos)
            case .savedPerByte: score = Double(zygotes[i].savedNanos) * Double(zygotes[i].uses + 1) / Double(max(zygotes[i].memoryBytes, 1))
            }
            if best == nil || score < bestScore { best = zygotes[i].id; bestScore = score }
        }
        return best
    }

    @discardableResult
    mutating func remove(_ id: Int64) -> Zygote {
        let i = index(of: id)!
        let z = zygotes.remove(at: i)
        usedBytes -= z.memoryBytes
        if let p = z.parent, let pi = index(of: p) { zygotes[pi].children -= 1 }
        return z
    }

    /// Adds a zygote (room must have been made). Not ready until `markReady`.
    mutating func add(_ z: Zygote) {
        precondition(zygotes.last.map { $0.id < z.id } ?? true, "zygote ids must grow (a new root only into an empty tree)")
        zygotes.append(z)
        usedBytes += z.memoryBytes
        if let p = z.parent, let pi = index(of: p) { zygotes[pi].children += 1 }
        counts[.created] += 1
    }

    mutating func setMemory(_ id: Int64, bytes: Int64) {
        guard let i = index(of: id) else { return }
        usedBytes += bytes - zygotes[i].memoryBytes
        zygotes[i].memoryBytes = bytes
    }

    mutating func markReady(_ id: Int64, now: Int64) {
        guard let i = index(of: id) else { return }
        zygotes[i].ready = true
        zygotes[i].lastUsedNanos = now
    }

    /// Budget respected, bytes add up, every parent alive with the right child count, packages nested.
    public func checkInvariants() throws {
        let sum = zygotes.reduce(0) { $0 + $1.memoryBytes }
        try check(sum == usedBytes, "import cache: used \(usedBytes) B but zygotes sum to \(sum) B")
        try check(usedBytes <= budgetBytes, "import cache: used \(usedBytes) B exceeds budget \(budgetBytes) B")
        for (i, z) in zygotes.enumerated() {
            if i > 0 { try check(zygotes[i - 1].id < z.id, "import cache: zygotes out of id order") }
            let kids = zygotes.filter { $0.parent == z.id }.count
            try check(kids == z.children, "import cache: z\(z.id) counts \(z.children) children, has \(kids)")
            if let p = z.parent {
                guard let parent = self[p] else { throw InvariantViolation(description: "import cache: z\(z.id)'s parent z\(p) is gone") }
                try check(parent.packages.isSubset(of: z.packages), "import cache: z\(z.id) lacks packages of its parent z\(p)")
            } else {
                try check(z.id == 0 && z.packages.isEmpty, "import cache: only the root may lack a parent")
            }
        }
    }
}
