#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CGSL

/// An arbitrary discrete distribution over 0..<weights.count, sampled in O(1) with GSL's Walker alias
/// tables (`gsl_ran_discrete`). Zipf is one such distribution: see `zipf(count:exponent:)`.
///
/// Ownership: owns its `gsl_ran_discrete_t*`, freed in `deinit`.
public final class DiscreteDistribution {
    let table: UnsafeMutablePointer<gsl_ran_discrete_t>
    /// The normalised probabilities, index by index.
    public let probabilities: [Double]

    /// - Throws: `StatisticsError.invalidWeights` when the weights are empty, negative, not finite or all zero.
    public init(weights: [Double]) throws {
        guard !weights.isEmpty else { throw StatisticsError.invalidWeights("no weights") }
        guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw StatisticsError.invalidWeights("weights must be finite and non-negative")
        }
        let total = weights.reduce(0, +)
        guard total > 0 else { throw StatisticsError.invalidWeights("weights sum to zero") }
        RandomSource.configureGSLOnce
        guard let t = weights.withUnsafeBufferPointer({ gsl_ran_discrete_preproc($0.count, $0.baseAddress) }) else {
            throw StatisticsError.invalidWeights("gsl_ran_discrete_preproc failed")
        }
        table = t
        probabilities = weights.map { $0 / total }
    }

    deinit { gsl_ran_discrete_free(table) }

    public var count: Int { probabilities.count }

    /// One draw, an index in 0..<count.
    @inline(__always) public func sample(_ source: RandomSource) -> Int {
        Int(gsl_ran_discrete(source.rng, table))
    }

    /// Zipf over ranks 1...count with P(k) ∝ 1/k^exponent; index 0 is rank 1 (the most popular).
    public static func zipf(count: Int, exponent: Double) throws -> DiscreteDistribution {
        guard count > 0 else { throw StatisticsError.invalidWeights("Zipf needs at least one rank") }
        guard exponent >= 0, exponent.isFinite else { throw StatisticsError.invalidWeights("Zipf exponent must be >= 0") }
        return try DiscreteDistribution(weights: (1...count).map { 1 / pow(Double($0), exponent) })
    }
}

public enum StatisticsError: Error, CustomStringConvertible, Equatable {
    case invalidWeights(String)
    case empty

    public var description: String {
        switch self {
        case .invalidWeights(let why): return "invalid weights for a discrete distribution: \(why)"
        case .empty: return "no values to summarise"
        }
    }
}
