/// A fixed-memory histogram of non-negative integer values (nanoseconds) with bounded relative error,
/// for quantiles over streams of any length (HDR-histogram style: 2^subBits linear sub-buckets per power of
/// two, so a reported quantile is within 1/2^subBits of the true value).
///
/// Memory: about 64 × 2^subBits counters, whatever the number of values recorded.
public struct LatencyHistogram: Sendable, Equatable {
    public let subBits: Int
    var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var sum: Double = 0
    public private(set) var min: Int64 = .max
    public private(set) var max: Int64 = .min

    public init(subBits: Int = 7) {
        precondition((1...12).contains(subBits))
        self.subBits = subBits
        counts = [UInt64](repeating: 0, count: (64 - subBits + 1) << subBits)
    }

    @inline(__always) func bucket(_ v: UInt64) -> Int {
        let sub = UInt64(1) << UInt64(subBits)
        if v < sub { return Int(v) }
        let msb = 63 - v.leadingZeroBitCount              // ≥ subBits
        let shift = msb - subBits
        let mantissa = Int((v >> UInt64(shift)) - sub)    // 0..<sub
        return ((shift + 1) << subBits) + mantissa
    }

    /// The smallest value that lands in bucket `b`, and the bucket's width.
    func bounds(_ b: Int) -> (low: UInt64, width: UInt64) {
        let sub = 1 << subBits
        if b < sub { return (UInt64(b), 1) }
        let shift = (b >> subBits) - 1
        let mantissa = b & (sub - 1)
        return (UInt64(sub + mantissa) << UInt64(shift), UInt64(1) << UInt64(shift))
    }

    /// Records one value; negative values count as 0.
    @inline(__always) public mutating func record(_ value: Int64) {
        let v = UInt64(Swift.max(value, 0))
        counts[bucket(v)] &+= 1
        count &+= 1
        sum += Double(v)
        if value < min { min = value }
        if value > max { max = value }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        precondition(other.subBits == subBits)
        for i in counts.indices { counts[i] &+= other.counts[i] }
        count += other.count; sum += other.sum
        min = Swift.min(min, other.min); max = Swift.max(max, other.max)
    }

    public var mean: Double { count == 0 ? .nan : sum / Double(count) }

    /// The p-quantile by pipsqueak's one definition (the nearest rank, as `Summary.quantile`), to the
    /// histogram's resolution: the largest value of the bucket holding the ⌈p·n⌉-th smallest value, clamped
    /// to [min, max]. So it is never below the exact nearest-rank value and at most one bucket (1/2^subBits
    /// relative) above it, and a tier's quantile and the whole run's are computed alike. NaN when empty.
    public func quantile(_ p: Double) -> Double {
        guard count > 0 else { return .nan }
        let rank = Swift.max(UInt64(1), UInt64((Swift.min(Swift.max(p, 0), 1) * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= rank {
                let (low, width) = bounds(i)
                let top = Double(low + width - 1)
                return Swift.min(Swift.max(top, Double(min)), Double(max))
            }
        }
        return Double(max)
    }
}
