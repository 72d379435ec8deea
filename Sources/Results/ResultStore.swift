import Foundation

/// The results store: a SQLite database of runs (full config, trace, seed, machine, code version, start and
/// end), their per-tier summaries and, on request, their per-request records. Schema changes are versioned
/// migrations applied in order at open. Each finished run is written in one transaction, so an interrupted
/// run or sweep loses nothing already finished and leaves nothing half-written.
public final class ResultStore {
    public let db: Database

    /// Migrations, in order; index + 1 is the schema version each brings.
    static let migrations: [String] = [
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,            -- simulate, run, sweep-point, reproduce
            key TEXT NOT NULL,             -- identifies a point of a sweep or reproduction (for resuming)
            config TEXT NOT NULL,          -- JSON
            trace TEXT NOT NULL,
            seed INTEGER NOT NULL,
            machine TEXT NOT NULL,
            code_version TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT NOT NULL
        );
        CREATE UNIQUE INDEX runs_key ON runs(kind, key);
        CREATE TABLE summaries (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            tier TEXT NOT NULL,            -- handler, import, cold, all
            requests INTEGER NOT NULL,
            share REAL NOT NULL,
            mean_ms REAL, p50_ms REAL, p90_ms REAL, p99_ms REAL,
            PRIMARY KEY (run_id, tier)
        );
        CREATE TABLE metrics (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (run_id, name)
        );
        """,
        """
        CREATE TABLE requests (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            request INTEGER NOT NULL,
            handler TEXT NOT NULL,
            tier TEXT NOT NULL,
            arrival_ms REAL NOT NULL,
            latency_ms REAL NOT NULL,
            PRIMARY KEY (run_id, request)
        );
        """,
        """
        CREATE TABLE sweeps (
            name TEXT PRIMARY KEY,         -- the sweep's --name
            trace TEXT NOT NULL,           -- the trace path its point keys name
            costs TEXT NOT NULL,           -- fingerprint of the cost files its point keys name
            grid TEXT NOT NULL,            -- JSON: handler_mb, import_mb, policies, trees, seeds (the whole grid, not a shard)
            command TEXT NOT NULL          -- the sweep's command line
        );
        """,
        // Per-request records go to CSV files; the table migration 2 made for them was never written.
        "DROP TABLE requests;",
    ]

    /// Opens (creating it and its folder if missing) the store at `path`, relative to the current directory
    /// or absolute, and brings its schema up to date.
    public init(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        db = try Database(path: path)
        try migrate()
    }

    /// The schema version now.
    public var version: Int { (try? db.query("PRAGMA user_version").first?.first?.int).flatMap { $0 }.map(Int.init) ?? 0 }

    /// Brings the schema up to date. The version is read inside the write transaction, so two processes
    /// opening a new store at once migrate it once (the second waits, then finds nothing to do).
    func migrate() throws {
        if version == ResultStore.migrations.count { return }
        try db.transaction {
            let have = version
            guard have <= ResultStore.migrations.count else {
                throw DatabaseError(code: 0, message: "the store is at schema version \(have), newer than this pipsqueak knows (\(ResultStore.migrations.count))", sql: "")
            }
            for (i, m) in ResultStore.migrations.enumerated() where i + 1 > have {
                try db.execute(m)
                try db.execute("PRAGMA user_version = \(i + 1)")
            }
        }
    }

    public struct Run: Sendable {
        public var kind: String
        public var key: String
        public var config: String
        public var trace: String
        public var seed: UInt64
        public var machine: String
        public var codeVersion: String
        public var started: String
        public var finished: String
        public init(kind: String, key: String, config: String, trace: String, seed: UInt64, machine: String, codeVersion: String,
                    started: String, finished: String) {
            self.kind = kind; self.key = key; self.config = config; self.trace = trace; self.seed = seed
            self.machine = machine; self.codeVersion = codeVersion; self.started = started; self.finished = finished
        }
    }

    public struct TierSummary: Sendable {
        public var tier: String, requests: Int, share: Double, mean: Double, p50: Double, p90: Double, p99: Double
        public init(tier: String, requests: Int, share: Double, mean: Double, p50: Double, p90: Double, p99: Double) {
            self.tier = tier; self.requests = requests; self.share = share; self.mean = mean; self.p50 = p50; self.p90 = p90; self.p99 = p99
        }
    }

    /// Whether a run of `kind` with `key` is already stored (a sweep skips it).
    public func has(kind: String, key: String) throws -> Bool {
        !(try db.query("SELECT 1 FROM runs WHERE kind = ? AND key = ?", [.text(kind), .text(key)])).isEmpty
    }

    /// Stores a finished run with its summaries and metrics, all or nothing. Returns its id.
    @discardableResult
    public func save(_ run: Run, summaries: [TierSummary], metrics: [String: Double]) throws -> Int64 {
        try db.transaction { try insert(run, summaries: summaries, metrics: metrics) }
    }

    /// Inserts a run with its rows; the caller holds the transaction.
    @discardableResult
    func insert(_ run: Run, summaries: [TierSummary], metrics: [String: Double]) throws -> Int64 {
        try db.query("""
                INSERT INTO runs (kind, key, config, trace, seed, machine, code_version, started, finished) VALUES (?,?,?,?,?,?,?,?,?)
                """, [.text(run.kind), .text(run.key), .text(run.config), .text(run.trace), .int(Int64(bitPattern: run.seed)),
                      .text(run.machine), .text(run.codeVersion), .text(run.started), .text(run.finished)])
            let id = db.lastInsertID
            for s in summaries {
                func v(_ x: Double) -> Database.Value { x.isNaN ? .null : .double(x) }
                try db.query("INSERT INTO summaries VALUES (?,?,?,?,?,?,?,?)",
                             [.int(id), .text(s.tier), .int(Int64(s.requests)), .double(s.share), v(s.mean), v(s.p50), v(s.p90), v(s.p99)])
            }
            for (k, v) in metrics.sorted(by: { $0.key < $1.key }) where v.isFinite {
                try db.query("INSERT INTO metrics VALUES (?,?,?)", [.int(id), .text(k), .double(v)])
            }
            return id
    }

    /// Stores a finished run unless a run of the same kind and key is already there (another writer of the
    /// same store finished the same point first), all or nothing. Returns the run's id and whether it was
    /// inserted now. Points are keyed by their inputs, so the run already stored has the same results.
    @discardableResult
    public func saveIfAbsent(_ run: Run, summaries: [TierSummary], metrics: [String: Double]) throws -> (id: Int64, inserted: Bool) {
        try db.transaction {
            if let id = try db.query("SELECT id FROM runs WHERE kind = ? AND key = ?", [.text(run.kind), .text(run.key)]).first?.first?.int {
                return (id, false)
            }
            return (try insert(run, summaries: summaries, metrics: metrics), true)
        }
    }

    /// Runs of `kind` (optionally whose key starts with `prefix`), by id.
    public func runs(kind: String, keyPrefix: String = "") throws -> [(id: Int64, key: String, config: String)] {
        try db.query("SELECT id, key, config FROM runs WHERE kind = ? AND key LIKE ? ORDER BY id", [.text(kind), .text(keyPrefix + "%")])
            .map { ($0[0].int ?? 0, $0[1].text ?? "", $0[2].text ?? "") }
    }

    public func summaries(run: Int64) throws -> [TierSummary] {
        try db.query("SELECT tier, requests, share, mean_ms, p50_ms, p90_ms, p99_ms FROM summaries WHERE run_id = ? ORDER BY tier", [.int(run)]).map {
            TierSummary(tier: $0[0].text ?? "", requests: Int($0[1].int ?? 0), share: $0[2].double ?? 0, mean: $0[3].double ?? .nan,
                        p50: $0[4].double ?? .nan, p90: $0[5].double ?? .nan, p99: $0[6].double ?? .nan)
        }
    }

    public func metrics(run: Int64) throws -> [String: Double] {
        var out: [String: Double] = [:]
        for r in try db.query("SELECT name, value FROM metrics WHERE run_id = ?", [.int(run)]) { out[r[0].text ?? ""] = r[1].double }
        return out
    }

    // MARK: Sweeps

    /// What a sweep is: its name, the trace and cost fingerprint its point keys name, its whole grid (JSON)
    /// and its command line. Every shard of a sweep stores the same definition, so a merged store can be
    /// exported without the trace or the cost files.
    public struct SweepDefinition: Equatable, Sendable {
        public var name: String, trace: String, costs: String, grid: String, command: String
        public init(name: String, trace: String, costs: String, grid: String, command: String) {
            self.name = name; self.trace = trace; self.costs = costs; self.grid = grid; self.command = command
        }
    }

    /// Stores (or replaces) the definition of the sweep `d.name`.
    public func saveSweep(_ d: SweepDefinition) throws {
        _ = try db.transaction {
            try db.query("INSERT OR REPLACE INTO sweeps (name, trace, costs, grid, command) VALUES (?,?,?,?,?)",
                         [.text(d.name), .text(d.trace), .text(d.costs), .text(d.grid), .text(d.command)])
        }
    }

    /// The sweeps this store holds, by name.
    public func sweeps() throws -> [SweepDefinition] {
        try db.query("SELECT name, trace, costs, grid, command FROM sweeps ORDER BY name").map {
            SweepDefinition(name: $0[0].text ?? "", trace: $0[1].text ?? "", costs: $0[2].text ?? "", grid: $0[3].text ?? "", command: $0[4].text ?? "")
        }
    }

    // MARK: Merging stores

    /// What a merge did: runs copied in, runs already present with the same results, and the keys (and
    /// sweep names) present in both with different results or definitions, which were left as they were.
    public struct MergeReport: Sendable {
        public var copied = 0, identical = 0
        public var conflicts: [String] = []
        public var sweepsCopied = 0
    }

    /// The results of a run: its summaries and metrics, in a canonical order (what two runs of one key must share).
    func results(run id: Int64) throws -> (summaries: [TierSummary], metrics: [(String, Double)]) {
        (try summaries(run: id), try metrics(run: id).sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Copies into this store every run of `other` whose (kind, key) it does not hold, with its summaries
    /// and metrics, and every sweep definition it does not hold; all in one transaction. Merging the same
    /// store twice changes nothing. A key held by both with different summaries or metrics (or a sweep name
    /// with a different definition) is not overwritten: it is listed in the report's `conflicts`.
    public func merge(from other: ResultStore) throws -> MergeReport {
        var report = MergeReport()
        let theirs = try other.db.query("SELECT id, kind, key, config, trace, seed, machine, code_version, started, finished FROM runs ORDER BY id")
        try db.transaction {
            for r in theirs {
                let run = Run(kind: r[1].text ?? "", key: r[2].text ?? "", config: r[3].text ?? "", trace: r[4].text ?? "",
                              seed: UInt64(bitPattern: r[5].int ?? 0), machine: r[6].text ?? "", codeVersion: r[7].text ?? "",
                              started: r[8].text ?? "", finished: r[9].text ?? "")
                let res = try other.results(run: r[0].int ?? 0)
                if let mine = try db.query("SELECT id FROM runs WHERE kind = ? AND key = ?", [.text(run.kind), .text(run.key)]).first?.first?.int {
                    let have = try results(run: mine)
                    if ResultStore.same(have, res) { report.identical += 1 } else { report.conflicts.append("\(run.kind) \(run.key)") }
                    continue
                }
                try insert(run, summaries: res.summaries, metrics: Dictionary(uniqueKeysWithValues: res.metrics))
                report.copied += 1
            }
            for d in try other.sweeps() {
                if let mine = try sweeps().first(where: { $0.name == d.name }) {
                    if mine.trace != d.trace || mine.costs != d.costs || mine.grid != d.grid { report.conflicts.append("sweep definition \(d.name)") }
                    continue
                }
                try db.query("INSERT INTO sweeps (name, trace, costs, grid, command) VALUES (?,?,?,?,?)",
                             [.text(d.name), .text(d.trace), .text(d.costs), .text(d.grid), .text(d.command)])
                report.sweepsCopied += 1
            }
        }
        return report
    }

    static func same(_ a: (summaries: [TierSummary], metrics: [(String, Double)]), _ b: (summaries: [TierSummary], metrics: [(String, Double)])) -> Bool {
        func eq(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        guard a.summaries.count == b.summaries.count, a.metrics.count == b.metrics.count else { return false }
        for (x, y) in zip(a.summaries, b.summaries) {
            guard x.tier == y.tier, x.requests == y.requests, eq(x.share, y.share), eq(x.mean, y.mean), eq(x.p50, y.p50),
                  eq(x.p90, y.p90), eq(x.p99, y.p99) else { return false }
        }
        return zip(a.metrics, b.metrics).allSatisfy { $0.0 == $1.0 && eq($0.1, $1.1) }
    }
}
