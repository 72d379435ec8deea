import CGSL

/// A seeded stream of random numbers backed by GSL's Mersenne Twister (`gsl_rng_mt19937`).
///
/// Every random number in pipsqueak comes from a `RandomSource`. A run has one root seed; each consumer
/// asks for a named substream (`arrivals`, `costs`, `package-sets`, `tie-breaks`, …) whose seed is derived
/// deterministically from the root seed and the name, so adding draws to one stream never shifts another,
/// and the same seed gives the same numbers on every run and every machine.
///
/// Ownership: the class owns its `gsl_rng*` and frees it in `deinit`. Not thread-safe; give each thread
/// its own substream.
public final class RandomSource {
    let rng: UnsafeMutablePointer<gsl_rng>
    /// The seed this stream was started from (after derivation, for a substream).
    public let seed: UInt64

    /// A stream seeded directly with `seed`.
    public init(seed: UInt64) {
        RandomSource.configureGSLOnce
        guard let r = gsl_rng_alloc(gsl_rng_mt19937) else { fatalError("gsl_rng_alloc failed: out of memory") }
        rng = r
        self.seed = seed
        // mt19937 takes a 32-bit seed: fold the 64 bits so both halves matter.
        gsl_rng_set(rng, UInt(truncatingIfNeeded: (seed ^ (seed >> 32)) & 0xffff_ffff))
    }

    deinit { gsl_rng_free(rng) }

    /// An independent stream derived from this stream's seed and `name`. Deriving does not consume draws
    /// from this stream, so the order in which substreams are made does not matter.
    public func substream(_ name: String) -> RandomSource {
        RandomSource(seed: RandomSource.derive(seed: seed, name: name))
    }

    /// The seed of substream `name` under `seed`: SplitMix64 over the seed mixed with FNV-1a of the name.
    /// (Swift's `Hasher` is randomised per process and must never be used for this.)
    public static func derive(seed: UInt64, name: String) -> UInt64 {
        splitMix64(seed ^ splitMix64(FNV1a.hash(name)))
    }

    static func splitMix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// GSL aborts the process on a domain error by default; pipsqueak validates arguments itself.
    static let configureGSLOnce: Void = { _ = gsl_set_error_handler_off() }()

    // MARK: Draws

    /// Uniform on [0, 1).
    @inline(__always) public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// Uniform integer in 0..<n. - Precondition: n > 0.
    public func uniformInt(_ n: Int) -> Int {
        precondition(n > 0, "uniformInt needs n > 0")
        if n <= Int(UInt32.max) { return Int(gsl_rng_uniform_int(rng, UInt(n))) }
        return Int(uniform() * Double(n)) % n
    }

    /// Exponential with the given mean (not rate). - Precondition: mean > 0.
    @inline(__always) public func exponential(mean: Double) -> Double {
        gsl_ran_exponential(rng, mean)
    }

    /// Lognormal whose underlying normal has location `mu` and scale `sigma` (mean = exp(mu + sigma²/2)).
    public func lognormal(mu: Double, sigma: Double) -> Double { gsl_ran_lognormal(rng, mu, sigma) }

    /// Lognormal multiplicative noise with mean exactly 1 and the given sigma: exp(N(-sigma²/2, sigma)).
    public func lognormalFactor(sigma: Double) -> Double {
        sigma <= 0 ? 1 : gsl_ran_lognormal(rng, -sigma * sigma / 2, sigma)
    }

    /// Poisson with mean `mu`.
    public func poisson(mean mu: Double) -> Int { Int(gsl_ran_poisson(rng, mu)) }

    /// Gaussian with mean 0 and standard deviation `sigma`.
    public func gaussian(sigma: Double) -> Double { gsl_ran_gaussian(rng, sigma) }

    /// Shuffles `array` in place (Fisher–Yates with this stream).
    public func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = uniformInt(i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }
}
