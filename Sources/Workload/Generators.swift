import Statistics

/// Seeded synthetic trace generators. Each writes a handler table and streams its invocations into a
/// `TraceWriter`, so a trace of any length is generated in constant memory. The same parameters and seed
/// give byte-identical files.
///
/// Substreams used: `handlers` (handler shapes), `package-sets` (which real import set a handler gets),
/// `arrivals` (inter-arrival times), `popularity` (which handler a request goes to).
public enum TraceGenerator {
    /// The paper's microbenchmark: `handlers` distinct handlers that all import `package`, Poisson arrivals
    /// at `rate` requests/s for `seconds`, each request to a handler chosen uniformly.
    public static func microbenchmark(package: String, handlers n: Int = 100, rate: Double = 2, seconds: Double = 600,
                                      seed: UInt64, initMillis: Double = 1, execMillis: Double = 1,
                                      memoryMB: Double = 4) throws -> (HandlerTable, (TraceWriter) throws -> Void) {
        try check(handlers: n, rate: rate, seconds: seconds)
        let width = String(n - 1).count
        var table = HandlerTable()
        for i in 0..<n {
            let id = "h" + String(repeating: "0", count: width - String(i).count) + String(i)
            try table.add(Handler(id: id, customer: "c\(i)", packages: [package], initMillis: initMillis,
                                  execMillis: execMillis, memoryBytes: Bytes.fromMB(memoryMB)))
        }
        let root = RandomSource(seed: seed)
        let arrivals = root.substream("arrivals"), pick = root.substream("popularity")
        return (table, { w in
            try poisson(rate: rate, seconds: seconds, arrivals: arrivals, writer: w) { Int32(pick.uniformInt(n)) }
        })
    }

    /// A mixed workload: `handlers` handlers, each with the packages of one real row of `sets` (drawn
    /// uniformly with replacement), requests spread over handlers by Zipf(`zipfExponent`) popularity, Poisson
    /// arrivals at `rate` requests/s for `seconds`. Handler init and execution times are lognormal around
    /// 5 ms and 20 ms; handler memory is uniform in 4–32 MB. `customers` customers own the handlers round-robin.
    public static func mixed(sets: HandlerSets, handlers n: Int = 100, zipfExponent: Double = 1.0, rate: Double = 1,
                             seconds: Double = 600, customers: Int = 50,
                             seed: UInt64) throws -> (HandlerTable, (TraceWriter) throws -> Void) {
        try check(handlers: n, rate: rate, seconds: seconds)
        guard !sets.rows.isEmpty else { throw GeneratorError("no handler sets to draw packages from") }
        guard customers > 0 else { throw GeneratorError("customers must be at least 1") }
        let root = RandomSource(seed: seed)
        let shapes = root.substream("handlers"), setPick = root.substream("package-sets")
        let width = String(n - 1).count
        var table = HandlerTable()
        for i in 0..<n {
            let row = sets.rows[setPick.uniformInt(sets.rows.count)]
            let id = "h" + String(repeating: "0", count: width - String(i).count) + String(i)
            try table.add(Handler(id: id, customer: "c\(i % customers)", packages: row.packages,
                                  initMillis: round3(shapes.lognormal(mu: log(5), sigma: 0.5)),
                                  execMillis: round3(shapes.lognormal(mu: log(20), sigma: 0.8)),
                                  memoryBytes: Int64(4 + shapes.uniformInt(29)) * Bytes.perMB))
        }
        let zipf = try DiscreteDistribution.zipf(count: n, exponent: zipfExponent)
        let arrivals = root.substream("arrivals"), pick = root.substream("popularity")
        return (table, { w in
            try poisson(rate: rate, seconds: seconds, arrivals: arrivals, writer: w) { Int32(zipf.sample(pick)) }
        })
    }

    static func poisson(rate: Double, seconds: Double, arrivals: RandomSource, writer: TraceWriter,
                        handler: () -> Int32) throws {
        let end = Nanos.fromSeconds(seconds)
        let meanGapNanos = 1e9 / rate
        var t: Double = 0
        while true {
            t += arrivals.exponential(mean: meanGapNanos)
            let ns = Int64(t.rounded())
            if ns >= end { break }
            writer.append(Invocation(arrivalNanos: ns, handler: handler()))
        }
    }

    static func check(handlers: Int, rate: Double, seconds: Double) throws {
        guard handlers > 0 else { throw GeneratorError("handlers must be at least 1, got \(handlers)") }
        guard rate > 0, rate.isFinite else { throw GeneratorError("rate must be a positive number of requests/s, got \(rate)") }
        guard seconds > 0, seconds.isFinite else { throw GeneratorError("duration must be a positive number of seconds, got \(seconds)") }
    }

    static func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}

public struct GeneratorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
