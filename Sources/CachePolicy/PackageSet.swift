/// A set of packages as a bitset over the catalog's package ids, so the subset rule is a few word ANDs.
public struct PackageSet: Hashable, Sendable {
    public private(set) var words: [UInt64]

    public init(capacity: Int) { words = [UInt64](repeating: 0, count: max(1, (capacity + 63) / 64)) }

    public init(capacity: Int, ids: some Sequence<Int32>) {
        self.init(capacity: capacity)
        for i in ids { insert(i) }
    }

    @inline(__always) public mutating func insert(_ id: Int32) { words[Int(id) >> 6] |= 1 << UInt64(id & 63) }
    @inline(__always) public func contains(_ id: Int32) -> Bool { words[Int(id) >> 6] & (1 << UInt64(id & 63)) != 0 }

    /// True when every member of `self` is in `other`.
    @inline(__always) public func isSubset(of other: PackageSet) -> Bool {
        for i in words.indices where words[i] & ~other.words[i] != 0 { return false }
        return true
    }

    /// True when `self` and `other` share a member.
    @inline(__always) public func intersects(_ other: PackageSet) -> Bool {
        for i in words.indices where words[i] & other.words[i] != 0 { return true }
        return false
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Members in ascending id order.
    public var ids: [Int32] {
        var out: [Int32] = []
        for (w, word) in words.enumerated() where word != 0 {
            var x = word
            while x != 0 {
                let b = x.trailingZeroBitCount
                out.append(Int32(w * 64 + b))
                x &= x - 1
            }
        }
        return out
    }

    public func subtracting(_ other: PackageSet) -> PackageSet {
        var s = self
        for i in s.words.indices { s.words[i] &= ~other.words[i] }
        return s
    }

    public func union(_ other: PackageSet) -> PackageSet {
        var s = self
        for i in s.words.indices { s.words[i] |= other.words[i] }
        return s
    }
}

extension Array where Element == Int32 {
    /// The elements `keep` accepts, in order, allocated once at their exact count: no allocation when none
    /// or all are kept (the latter shares this array's storage). On the planner's per-request path, where
    /// `filter`'s growth by appending showed in the instruction profile. `keep` runs twice per element.
    @inline(__always) func kept(_ keep: (Int32) -> Bool) -> [Int32] {
        var n = 0
        for x in self where keep(x) { n += 1 }
        if n == 0 { return [] }
        if n == count { return self }
        var r: [Int32] = []
        r.reserveCapacity(n)
        for x in self where keep(x) { r.append(x) }
        return r
    }
}
