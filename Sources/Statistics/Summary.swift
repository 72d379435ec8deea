import CGSL

/// Quantiles and moments of a finite sample, computed exactly (the sample is sorted once).
///
/// For streams too long to keep, use `LatencyHistogram`.
public struct Summary: Equatable, Sendable {
    public let count: Int
    public let mean: Double
    public let standardDeviation: Double
    public let min: Double
    public let max: Double
    /// The values, ascending.
    public let sorted: [Double]

    /// - Complexity: O(n log n).
    public init(_ values: [Double]) {
        sorted = values.sorted()
        count = values.count
        if values.isEmpty {
            mean = .nan; standardDeviation = .nan; min = .nan; max = .nan
            return
        }
        mean = sorted.withUnsafeBufferPointer { gsl_stats_mean($0.baseAddress, 1, $0.count) }
        standardDeviation = count > 1 ? sorted.withUnsafeBufferPointer { gsl_stats_sd($0.baseAddress, 1, $0.count) } : 0
        min = sorted.first!
        max = sorted.last!
    }

    /// The p-quantile (0 ≤ p ≤ 1) by pipsqueak's one definition, the nearest rank: the ⌈p·n⌉-th smallest
    /// value (the smallest value with at least a share p of the sample at or below it; p = 0 gives the
    /// minimum). `LatencyHistogram`, every CSV and the notebooks (`pipsqueak_results.quantile`) use the same.
    /// NaN when the sample is empty.
    public func quantile(_ p: Double) -> Double {
        guard count > 0 else { return .nan }
        return sorted[Summary.nearestRank(p, count) - 1]
    }

    /// ⌈p·n⌉, at least 1 and at most n.
    public static func nearestRank(_ p: Double, _ n: Int) -> Int {
        Swift.min(n, Swift.max(1, Int((Swift.min(Swift.max(p, 0), 1) * Double(n)).rounded(.up))))
    }

    public var p50: Double { quantile(0.5) }
    public var p90: Double { quantile(0.9) }
    public var p99: Double { quantile(0.99) }
}
