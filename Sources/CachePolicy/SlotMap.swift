/// A map from small non-negative integer ids to values, stored in an array indexed by id: no hashing on
/// the hot path. Ids should be dense (the planner reuses freed container ids for this reason).
public struct SlotMap<Value>: Sendable where Value: Sendable {
    var slots: [Value?] = []
    public private(set) var count = 0

    public init() {}

    @inline(__always) public subscript(id: Int64) -> Value? {
        get { id >= 0 && id < slots.count ? slots[Int(id)] : nil }
        set {
            let i = Int(id)
            if i >= slots.count {
                guard newValue != nil else { return }
                slots.append(contentsOf: repeatElement(nil, count: i - slots.count + 1))
            }
            if slots[i] == nil, newValue != nil { count += 1 } else if slots[i] != nil, newValue == nil { count -= 1 }
            slots[i] = newValue
        }
    }

    @discardableResult
    public mutating func removeValue(forKey id: Int64) -> Value? {
        let v = self[id]
        if v != nil { self[id] = nil }
        return v
    }

    public var keys: [Int64] { slots.indices.filter { slots[$0] != nil }.map { Int64($0) } }
    public var values: [Value] { slots.compactMap { $0 } }
}

/// Hands out ids, reusing freed ones (smallest first) so id-indexed storage stays as small as the live set.
public struct IDAllocator: Sendable {
    var next: Int64
    var free: [Int64] = []   // kept sorted descending: popLast gives the smallest

    public init(first: Int64) { next = first }

    public mutating func allocate() -> Int64 {
        if let id = free.popLast() { return id }
        defer { next += 1 }
        return next
    }

    public mutating func release(_ id: Int64) {
        let i = free.firstIndex { $0 < id } ?? free.count
        free.insert(id, at: i)
    }
}
