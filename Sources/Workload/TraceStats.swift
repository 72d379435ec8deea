/// Summary of a trace, computed in one streaming pass: requests, span, rate, handler and package popularity.
public struct TraceStats: Sendable {
    public var requests = 0
    public var firstArrivalNanos: Int64 = 0
    public var lastArrivalNanos: Int64 = 0
    /// Requests per handler index.
    public var perHandler: [Int]
    public let handlers: HandlerTable
    /// Invocations that carry their own execution time (the trace's `exec_ms` column).
    public var withOwnExec = 0
    /// Execution time of every invocation summed (its own, else its handler's), in nanoseconds.
    public var execNanosTotal: Double = 0

    /// Reads the whole trace once. - Throws: `InputError` for a malformed row.
    public init(trace: Trace) throws {
        handlers = trace.handlers
        perHandler = [Int](repeating: 0, count: trace.handlers.count)
        let nominal = trace.handlers.handlers.map { $0.execMillis * 1e6 }
        let r = try trace.makeReader()
        while let inv = try r.nextInvocation() {
            if requests == 0 { firstArrivalNanos = inv.arrivalNanos }
            lastArrivalNanos = inv.arrivalNanos
            perHandler[Int(inv.handler)] += 1
            requests += 1
            if inv.execNanos >= 0 { withOwnExec += 1; execNanosTotal += Double(inv.execNanos) }
            else { execNanosTotal += nominal[Int(inv.handler)] }
        }
    }

    public var durationSeconds: Double { Nanos.seconds(lastArrivalNanos) }
    public var rate: Double { durationSeconds > 0 ? Double(requests) / durationSeconds : 0 }
    /// Cores kept busy on average by execution alone (package downloads, installs and imports add to it):
    /// a replay with fewer cores than this queues without bound.
    public var offeredCores: Double { durationSeconds > 0 ? execNanosTotal / 1e9 / durationSeconds : 0 }
    public var handlersInvoked: Int { perHandler.filter { $0 > 0 }.count }

    /// Handlers by requests, most first (ties by id).
    public var topHandlers: [(id: String, requests: Int)] {
        perHandler.enumerated().filter { $0.element > 0 }
            .map { (handlers[Int32($0.offset)].id, $0.element) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }

    /// Packages by the number of requests whose handler imports them, most first, and how many handlers
    /// import each.
    public var topPackages: [(name: String, requests: Int, handlers: Int)] {
        var req: [String: Int] = [:], hs: [String: Int] = [:]
        for (i, n) in perHandler.enumerated() {
            for p in handlers[Int32(i)].packages { req[p, default: 0] += n; hs[p, default: 0] += 1 }
        }
        return req.map { ($0.key, $0.value, hs[$0.key]!) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }

    /// The share of requests going to the most popular `fraction` of handlers.
    public func shareOfTop(_ fraction: Double) -> Double {
        guard requests > 0 else { return 0 }
        let sorted = perHandler.sorted(by: >)
        let k = max(1, Int((Double(sorted.count) * fraction).rounded(.up)))
        return Double(sorted.prefix(k).reduce(0, +)) / Double(requests)
    }
}
