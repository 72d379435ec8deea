import Statistics

/// Reads the Azure Functions 2021 per-invocation trace (one row per invocation: `app`, `func`,
/// `end_timestamp` and `duration`, both in seconds from the trace's start; columns found by header name)
/// and turns a window of it into a pipsqueak trace. Each invocation arrives at `end_timestamp − duration`
/// and runs for its own measured duration (the trace's `exec_ms` column). Each (app, func) pair becomes a
/// handler with the packages of one real row of the handler sets. The 2021 trace has no memory: every
/// handler gets `memoryMB` (128 by default), and the header says so.
public struct AzureTrace2021 {
    public let path: String
    /// The window, in seconds of arrival (start) time from the trace's start: `[fromSecond, toSecond)`.
    public let fromSecond: Double
    public let toSecond: Double
    /// (app, func) of each function, in order of first arrival in the window.
    public private(set) var functions: [(app: String, function: String)] = []
    /// One entry per invocation in the window, sorted by arrival (then function index).
    public private(set) var invocations: [Invocation] = []
    public private(set) var warnings: [String] = []

    /// Reads `path`, keeping invocations that arrive in `[fromSecond, fromSecond + seconds)` (default: all).
    /// - Throws: `InputError` naming the file and line for a missing column, a malformed or negative number,
    ///   (rows are never guessed at).
    public init(path: String, fromSecond: Double = 0, seconds: Double? = nil) throws {
        self.path = path
        self.fromSecond = fromSecond
        self.toSecond = seconds.map { fromSecond + $0 } ?? .infinity
        let r = try CSVReader(path: path)
        let appCol = try r.column("app"), fnCol = try r.column("func")
        let endCol = try r.column("end_timestamp"), durCol = try r.column("duration")
        var index: [String: Int32] = [:]
        var names: [(app: String, function: String)] = []
        var rows: [(start: Double, fn: Int32, dur: Double)] = []
        var beforeZero = 0, outside = 0
        while let f = try r.next() {
            let end = try r.double(f, endCol, name: "end_timestamp", max: 1e9)
            let dur = try r.double(f, durCol, name: "duration", max: 1e7)
            var start = end - dur
            if start < 0 { start = 0; beforeZero += 1 } // running when the trace began: clipped to time 0
            guard start >= fromSecond && start < toSecond else { outside += 1; continue }
            let key = f[appCol] + "\u{1F}" + f[fnCol]
            let fn: Int32
            if let i = index[key] { fn = i } else {
                fn = Int32(names.count); index[key] = fn
                names.append((f[appCol], f[fnCol]))
            }
            rows.append((start, fn, dur))
        }
        if rows.isEmpty {
            warnings.append("no invocation arrives in the window \(fromSecond)...\(toSecond) s (\(outside) rows outside it)")
        }
        if beforeZero > 0 { warnings.append("\(beforeZero) invocations started before the trace's time 0: their arrivals are clipped to 0") }
        rows.sort { $0.start != $1.start ? $0.start < $1.start : $0.fn < $1.fn }
        // Number the functions in order of first arrival (the file is in order of end).
        var renumber = [Int32](repeating: -1, count: names.count)
        invocations.reserveCapacity(rows.count)
        for row in rows {
            if renumber[Int(row.fn)] < 0 { renumber[Int(row.fn)] = Int32(functions.count); functions.append(names[Int(row.fn)]) }
            invocations.append(Invocation(arrivalNanos: Int64((row.start - fromSecond) * 1e9), handler: renumber[Int(row.fn)],
                                          execNanos: Int64(row.dur * 1e9)))
        }
    }

    /// What the trace's header says was measured and what was assumed.
    public func samplingNotes(memoryMB: Double, initMillis: Double) -> [String] {
        ["exec_ms: measured, each invocation's own duration from the 2021 trace; arrival = end_timestamp - duration, relative to second \(fromSecond)",
         "exec_ms (handler table): each function's mean duration in the window; not in the 2021 trace at all: memory_mb (\(memoryMB) for every handler), init_ms (\(initMillis)) and the packages (a random row of the handler sets)"]
    }

    /// Builds the handler table and a writer of the invocations. Substream: `package-sets`.
    public func trace(sets: HandlerSets, seed: UInt64, memoryMB: Double = 128, initMillis: Double = 5) throws -> (HandlerTable, (TraceWriter) throws -> Void) {
        guard !sets.rows.isEmpty else { throw GeneratorError("no handler sets to draw packages from") }
        let setPick = RandomSource(seed: seed).substream("package-sets")
        var total = [Double](repeating: 0, count: functions.count), count = [Int](repeating: 0, count: functions.count)
        for inv in invocations { total[Int(inv.handler)] += Double(inv.execNanos) / 1e6; count[Int(inv.handler)] += 1 }
        var table = HandlerTable()
        for (i, fn) in functions.enumerated() {
            let id = table.unusedID("fn-" + String(fn.app.prefix(6)) + "-" + String(fn.function.prefix(6)))
            let row = sets.rows[setPick.uniformInt(sets.rows.count)]
            try table.add(Handler(id: id, customer: "a-" + String(fn.app.prefix(8)), packages: row.packages,
                                  initMillis: initMillis, execMillis: total[i] / Double(max(1, count[i])),
                                  memoryBytes: Bytes.fromMB(memoryMB)))
        }
        let invocations = self.invocations
        return (table, { w in for inv in invocations { w.append(inv) } })
    }
}
