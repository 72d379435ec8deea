import Statistics

/// Reads the Azure Functions 2019 trace schema (`invocations.csv` with one column of counts per minute,
/// `durations.csv`, `memory.csv`; columns found by header name) and turns a window of minutes into a
/// pipsqueak trace: each minute's count becomes that many arrivals spread uniformly within the minute, each
/// function becomes a handler with the packages of one real row of the handler sets. Each invocation's
/// execution time is drawn (seeded) from its function's duration percentiles (0, 1, 25, 50, 75, 99, 100,
/// linear between them) and written to the trace's `exec_ms` column; each function's memory is drawn once
/// from its memory percentiles (1, 5, 25, 50, 75, 95, 99, 100) the same way. The handler table keeps the
/// average duration as the nominal execution time. Functions without percentile columns get the averages.
public struct AzureTrace {
    public struct Function {
        public var owner: String, app: String, function: String
        /// (minute, count) for the minutes in the window with count > 0.
        public var counts: [(minute: Int, count: Int)]
    }

    public let directory: String
    public let firstMinute: Int
    public let lastMinute: Int
    public private(set) var functions: [Function] = []
    public private(set) var durationMillis: [String: Double] = [:]
    public private(set) var memoryMB: [String: Double] = [:]
    /// Per function: (cumulative share, value) points of its duration (ms) and memory (MB) distributions.
    public private(set) var durationPercentiles: [String: [(p: Double, v: Double)]] = [:]
    public private(set) var memoryPercentiles: [String: [(p: Double, v: Double)]] = [:]
    /// Notes for the person running the conversion (functions with no duration or memory row, …).
    public private(set) var warnings: [String] = []

    /// Reads the three files under `directory`, keeping minutes in `fromMinute..<fromMinute+minutes`
    /// (default: every minute column). - Throws: `InputError` for malformed files or a window with no minutes.
    public init(directory: String, fromMinute: Int? = nil, minutes: Int? = nil) throws {
        self.directory = directory
        let inv = try CSVReader(path: directory + "/invocations.csv")
        let owner = try inv.column("HashOwner"), app = try inv.column("HashApp"), fn = try inv.column("HashFunction")
        let minuteCols = inv.header.enumerated().compactMap { (i, h) in Int(h).map { (col: i, minute: $0) } }
        guard !minuteCols.isEmpty else {
            throw InputError(file: inv.path, line: 1, "expected per-minute count columns named by minute number (1, 2, … or 480, …)")
        }
        let lo = fromMinute ?? minuteCols.map(\.minute).min()!
        let hi = minutes.map { lo + $0 - 1 } ?? minuteCols.map(\.minute).max()!
        let window = minuteCols.filter { $0.minute >= lo && $0.minute <= hi }
        guard !window.isEmpty, hi >= lo else {
            throw InputError(file: inv.path, line: 1, "no minute columns in the window \(lo)...\(hi) (the file has \(minuteCols.first!.minute)...\(minuteCols.last!.minute))")
        }
        firstMinute = lo; lastMinute = hi
        while let f = try inv.next() {
            var counts: [(Int, Int)] = []
            for (col, minute) in window {
                let c = try inv.int(f, col, name: String(minute))
                guard c <= 10_000_000 else { throw inv.error("column '\(minute)': expected at most 10,000,000 invocations in a minute, found \(c)") }
                if c > 0 { counts.append((minute, c)) }
            }
            if !counts.isEmpty { functions.append(Function(owner: f[owner], app: f[app], function: f[fn], counts: counts)) }
        }
        if functions.isEmpty { warnings.append("no function is invoked in minutes \(lo)...\(hi)") }

        let dPath = directory + "/durations.csv"
        let dur = try CSVReader(path: dPath)
        let dFn = try dur.column("HashFunction"), avg = try dur.column("Average")
        var dPct: [(p: Double, col: Int)] = []
        for p in [0, 1, 25, 50, 75, 99, 100] where dur.hasColumn("percentile_Average_\(p)") {
            dPct.append((Double(p) / 100, try dur.column("percentile_Average_\(p)")))
        }
        while let f = try dur.next() {
            durationMillis[f[dFn]] = try dur.double(f, avg, name: "Average", max: 1e9)
            if dPct.count >= 2 {
                durationPercentiles[f[dFn]] = try dPct.map { ($0.p, try dur.double(f, $0.col, name: dur.header[$0.col], max: 1e9)) }
            }
        }

        let mem = try CSVReader(path: directory + "/memory.csv")
        let mAvg = try mem.column("AverageAllocatedMb")
        // Per function when the file has HashFunction; per app in the original schema.
        let keyCol = mem.hasColumn("HashFunction") ? try mem.column("HashFunction") : try mem.column("HashApp")
        let perFunction = mem.hasColumn("HashFunction")
        var mPct: [(p: Double, col: Int)] = []
        for p in [1, 5, 25, 50, 75, 95, 99, 100] where mem.hasColumn("AverageAllocatedMb_pct\(p)") {
            mPct.append((Double(p) / 100, try mem.column("AverageAllocatedMb_pct\(p)")))
        }
        var byKey: [String: Double] = [:]
        var pctByKey: [String: [(p: Double, v: Double)]] = [:]
        while let f = try mem.next() {
            byKey[f[keyCol]] = try mem.double(f, mAvg, name: "AverageAllocatedMb", max: 1e9)
            if mPct.count >= 2 { pctByKey[f[keyCol]] = try mPct.map { ($0.p, try mem.double(f, $0.col, name: mem.header[$0.col], max: 1e9)) } }
        }
        var noDuration = 0, noMemory = 0
        for fn in functions {
            if durationMillis[fn.function] == nil { noDuration += 1 }
            let m = byKey[perFunction ? fn.function : fn.app]
            if let m { memoryMB[fn.function] = m } else { noMemory += 1 }
            if let p = pctByKey[perFunction ? fn.function : fn.app] { memoryPercentiles[fn.function] = p }
        }
        if noDuration > 0 { warnings.append("\(noDuration) functions have no row in durations.csv: execution time 100 ms assumed") }
        if noMemory > 0 { warnings.append("\(noMemory) functions have no row in memory.csv: 128 MB assumed") }
    }

    /// A draw from a distribution given by (cumulative share, value) points, linear between them (the
    /// percentiles' inverse CDF); below the first point's share, its value.
    public static func sample(_ points: [(p: Double, v: Double)], _ u: Double) -> Double {
        guard let first = points.first else { return .nan }
        if u <= first.p { return first.v }
        for i in 1..<points.count where u <= points[i].p {
            let a = points[i - 1], b = points[i]
            return b.p > a.p ? a.v + (b.v - a.v) * (u - a.p) / (b.p - a.p) : b.v
        }
        return points.last!.v
    }

    /// What the trace's header says was drawn, and from what (imputed fields are never mistaken for measured ones).
    public var samplingNotes: [String] {
        let without = functions.filter { durationPercentiles[$0.function] == nil }.count
        return ["exec_ms: each invocation's execution time is drawn from its function's duration percentiles (durations.csv percentile_Average_0,1,25,50,75,99,100, linear between; seeded substream durations); \(without) of \(functions.count) functions had none and get their average",
                "memory_mb (handler table): drawn once per function from memory.csv AverageAllocatedMb_pct1..100 (seeded substream memory), else the average; not in the Azure trace at all: init_ms (5) and the packages (a random row of the handler sets)"]
    }

    /// Builds the handler table and a writer of the invocations (each with its own execution time).
    /// Substreams: `package-sets`, `arrivals`, `durations`, `memory`.
    public func trace(sets: HandlerSets, seed: UInt64, initMillis: Double = 5) throws -> (HandlerTable, (TraceWriter) throws -> Void) {
        guard !sets.rows.isEmpty else { throw GeneratorError("no handler sets to draw packages from") }
        let root = RandomSource(seed: seed)
        let setPick = root.substream("package-sets"), arrivals = root.substream("arrivals")
        let durations = root.substream("durations"), memoryDraws = root.substream("memory")
        var table = HandlerTable()
        for fn in functions {
            let id = table.unusedID("fn-" + String(fn.function.prefix(10)))
            let row = sets.rows[setPick.uniformInt(sets.rows.count)]
            let memory = memoryPercentiles[fn.function].map { AzureTrace.sample($0, memoryDraws.uniform()) } ?? memoryMB[fn.function] ?? 128
            try table.add(Handler(id: id, customer: "o-" + String(fn.owner.prefix(8)), packages: row.packages,
                                  initMillis: initMillis, execMillis: durationMillis[fn.function] ?? 100,
                                  memoryBytes: Bytes.fromMB(memory)))
        }
        // Gather per-minute counts so each minute is expanded, sorted and written on its own.
        var byMinute: [Int: [(Int32, Int)]] = [:]
        for (i, fn) in functions.enumerated() { for (m, c) in fn.counts { byMinute[m, default: []].append((Int32(i), c)) } }
        let first = firstMinute
        return (table, { w in
            for minute in byMinute.keys.sorted() {
                let base = Int64(minute - first) * 60 * Nanos.perSecond
                var batch: [Invocation] = []
                for (h, c) in byMinute[minute]! {
                    let fn = functions[Int(h)].function
                    let pct = durationPercentiles[fn], avg = durationMillis[fn] ?? 100
                    for _ in 0..<c {
                        let offset = Int64(arrivals.uniform() * 60e9)
                        let ms = pct.map { AzureTrace.sample($0, durations.uniform()) } ?? avg
                        batch.append(Invocation(arrivalNanos: base + offset, handler: h, execNanos: Nanos.fromMillis(Swift.max(ms, 0))))
                    }
                }
                batch.sort { $0.arrivalNanos != $1.arrivalNanos ? $0.arrivalNanos < $1.arrivalNanos : $0.handler < $1.handler }
                for inv in batch { w.append(inv) }
            }
        })
    }
}
