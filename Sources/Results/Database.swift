import CSQLite
import Foundation
import POSIX

/// An error from SQLite, with its code, message and the statement that failed.
public struct DatabaseError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public let sql: String
    public var description: String { "sqlite error \(code): \(message) (in: \(sql.prefix(200)))" }
}

/// A SQLite connection. Owns its `sqlite3*` handle and closes it in `deinit`.
public final class Database {
    let db: OpaquePointer
    public let path: String

    public init(path: String) throws {
        self.path = path
        var h: OpaquePointer?
        let rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard rc == SQLITE_OK, let handle = h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let h { sqlite3_close(h) }
            throw DatabaseError(code: rc, message: msg, sql: "open \(path)")
        }
        db = handle
        sqlite3_busy_timeout(db, 60_000) // other writers of the store (sweeps, shards, merges) hold it for one point at a time
        try enableWriteAheadLog()
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit { sqlite3_close(db) }

    /// Puts the database in WAL mode (readers and one writer at a time, across processes). Switching needs
    /// an exclusive lock and SQLite does not always call the busy handler for it, so a store that another
    /// process is creating at this moment is retried (up to a minute) rather than failed.
    func enableWriteAheadLog() throws {
        let deadline = Date().addingTimeInterval(60)
        while true {
            do {
                if try query("PRAGMA journal_mode").first?.first?.text?.lowercased() == "wal" { return }
                try execute("PRAGMA journal_mode=WAL")
                return
            } catch let e as DatabaseError where (e.code == SQLITE_BUSY || e.code == SQLITE_LOCKED) && Date() < deadline {
                Sys.sleep(micros: 20_000)
            }
        }
    }

    func fail(_ rc: Int32, _ sql: String) -> DatabaseError {
        DatabaseError(code: rc, message: String(cString: sqlite3_errmsg(db)), sql: sql)
    }

    /// Runs statements with no results.
    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error"
            sqlite3_free(err)
            throw DatabaseError(code: rc, message: msg, sql: sql)
        }
    }

    /// A value bound to a statement parameter or read from a row.
    public enum Value: Equatable, Sendable {
        case int(Int64), double(Double), text(String), null

        public var int: Int64? { if case .int(let v) = self { return v }; if case .double(let d) = self { return Int64(d) }; return nil }
        public var double: Double? { if case .double(let v) = self { return v }; if case .int(let i) = self { return Double(i) }; return nil }
        public var text: String? { if case .text(let v) = self { return v }; return nil }
    }

    /// Runs one statement with `parameters` and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [Value] = []) throws -> [[Value]] {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let s = stmt else { throw fail(rc, sql) }
        defer { sqlite3_finalize(s) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, p) in parameters.enumerated() {
            let idx = Int32(i + 1)
            switch p {
            case .int(let v): sqlite3_bind_int64(s, idx, v)
            case .double(let v): sqlite3_bind_double(s, idx, v)
            case .text(let v): sqlite3_bind_text(s, idx, v, -1, transient)
            case .null: sqlite3_bind_null(s, idx)
            }
        }
        var rows: [[Value]] = []
        while true {
            let step = sqlite3_step(s)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw fail(step, sql) }
            var row: [Value] = []
            for c in 0..<sqlite3_column_count(s) {
                switch sqlite3_column_type(s, c) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(s, c)))
                case SQLITE_FLOAT: row.append(.double(sqlite3_column_double(s, c)))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(s, c))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    public var lastInsertID: Int64 { sqlite3_last_insert_rowid(db) }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try execute("COMMIT")
            return r
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}
