import XCTest
@testable import Statistics

final class SummaryTests: XCTestCase {
    func testQuantilesAndMomentsOfAKnownSample() {
        let s = Summary([5, 1, 4, 2, 3])
        XCTAssertEqual(s.count, 5)
        XCTAssertEqual(s.mean, 3)
        XCTAssertEqual(s.min, 1); XCTAssertEqual(s.max, 5)
        XCTAssertEqual(s.p50, 3)
        XCTAssertEqual(s.quantile(0.25), 2)
        XCTAssertEqual(s.quantile(0.9), 5) // nearest rank: the 5th of 5, not an interpolated 4.6
        XCTAssertEqual(s.quantile(0.8), 4); XCTAssertEqual(s.quantile(0), 1); XCTAssertEqual(s.quantile(1), 5)
        XCTAssertEqual(s.standardDeviation, (2.5).squareRoot(), accuracy: 1e-12)
        XCTAssert(Summary([]).p50.isNaN)
    }

    func testHistogramQuantilesStayWithinTheirRelativeError() {
        let r = RandomSource(seed: 5)
        var h = LatencyHistogram()
        var values: [Double] = []
        for _ in 0..<50_000 {
            let v = Int64(r.lognormal(mu: log(3e6), sigma: 1.2))
            h.record(v); values.append(Double(v))
        }
        let exact = Summary(values)
        for p in [0.01, 0.5, 0.9, 0.99, 0.999] {
            let rel = (h.quantile(p) - exact.quantile(p)) / exact.quantile(p)
            XCTAssertGreaterThanOrEqual(rel, 0, "p=\(p): never below the exact nearest-rank value")
            XCTAssertLessThan(rel, 0.01, "p=\(p)")
        }
        XCTAssertEqual(h.mean, exact.mean, accuracy: exact.mean * 1e-9)
        XCTAssertEqual(h.count, 50_000)
    }

    func testHistogramIsExactForSmallValuesAndMerges() {
        var a = LatencyHistogram(), b = LatencyHistogram()
        for v in [0, 1, 2, 3] as [Int64] { a.record(v) }
        for v in [10, 100] as [Int64] { b.record(v) }
        a.merge(b)
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(a.quantile(0.5), 2)
        XCTAssertEqual(a.quantile(1), 100)
        XCTAssertEqual(a.min, 0); XCTAssertEqual(a.max, 100)
        XCTAssert(LatencyHistogram().quantile(0.5).isNaN)
    }
}
