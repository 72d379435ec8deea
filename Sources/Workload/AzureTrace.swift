import Statistics

/// Reads the Azure Functions 2019 trace schema (`invocations.csv` with one column of counts per minute,
/// `durations.csv`, `memory.csv`; columns found by header name) and turns a window of minutes into a
/// pipsqueak trace: each minute's count becomes that many arrivals spread uniformly within the minute, each
/// function becomes a handler with the average duration as its execution time, its average allocated memory,
/// and the packages of one real row of the handler sets.
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
        while let f = try dur.next() { durationMillis[f[dFn]] = try dur.double(f, avg, name: "Average", max: 1e9) }

        let mem = try CSVReader(path: directory + "/memory.csv")
        let mAvg = try mem.column("AverageAllocatedMb")
        // Per function when the file has HashFunction; per app in the original schema.
        let keyCol = mem.hasColumn("HashFunction") ? try mem.column("HashFunction") : try mem.column("HashApp")
        let perFunction = mem.hasColumn("HashFunction")
        var byKey: [String: Double] = [:]
        while let f = try mem.next() { byKey[f[keyCol]] = try mem.double(f, mAvg, name: "AverageAllocatedMb", max: 1e9) }
        var noDuration = 0, noMemory = 0
        for fn in functions {
            if durationMillis[fn.function] == nil { noDuration += 1 }
            let m = byKey[perFunction ? fn.function : fn.app]
            if let m { memoryMB[fn.function] = m } else { noMemory += 1 }
        }
        if noDuration > 0 { warnings.append("\(noDuration) functions have no row in durations.csv: execution time 100 ms assumed") }
        if noMemory > 0 { warnings.append("\(noMemory) functions have no row in memory.csv: 128 MB assumed") }
    }

    /// Builds the handler table and a writer of the invocations. Substreams: `package-sets`, `arrivals`.
    public func trace(sets: HandlerSets, seed: UInt64, initMillis: Double = 5) throws -> (HandlerTable, (TraceWriter) throws -> Void) {
        guard !sets.rows.isEmpty else { throw GeneratorError("no handler sets to draw packages from") }
        let root = RandomSource(seed: seed)
        let setPick = root.substream("package-sets"), arrivals = root.substream("arrivals")
        var table = HandlerTable()
        var used = Set<String>()
        for fn in functions {
            var id = "fn-" + String(fn.function.prefix(10))
            var k = 2
            while used.contains(id) { id = "fn-" + String(fn.function.prefix(10)) + "-\(k)"; k += 1 }
            used.insert(id)
            let row = sets.rows[setPick.uniformInt(sets.rows.count)]
            try table.add(Handler(id: id, customer: "o-" + String(fn.owner.prefix(8)), packages: row.packages,
                                  initMillis: initMillis, execMillis: durationMillis[fn.function] ?? 100,
                                  memoryBytes: Bytes.fromMB(memoryMB[fn.function] ?? 128)))
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
                    for _ in 0..<c {
                        let offset = Int64(arrivals.uniform() * 60e9)
                        batch.append(Invocation(arrivalNanos: base + offset, handler: h))
                    }
                }
                batch.sort { $0.arrivalNanos != $1.arrivalNanos ? $0.arrivalNanos < $1.arrivalNanos : $0.handler < $1.handler }
                for inv in batch { w.append(inv) }
            }
        })
    }
}
