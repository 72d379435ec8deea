import Foundation
/// A request trace: a handler table and a stream of invocations, ordered by arrival.
///
/// On disk a trace is two CSV files side by side: `NAME.csv` with header `time_s,handler` (arrival in
/// decimal seconds from the start of the trace, and the handler's id) and `NAME.handlers.csv` (see
/// `HandlerTable`). Lines starting with `#` are comments; pipsqueak writes the command and seed there.
public struct Trace: Sendable {
    public let path: String
    public let handlers: HandlerTable

    /// Opens the trace at `path` with its handler table (by default `NAME.handlers.csv` beside it).
    /// Only the handler table is read now; invocations are streamed by `makeReader()`.
    public init(path: String, handlersPath: String? = nil) throws {
        self.path = path
        // The trace itself first: a missing trace is not a missing handler table.
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw InputError(file: path, line: 0, "no such trace file") }
        guard !isDir.boolValue else { throw InputError(file: path, line: 0, "is a directory, expected a trace CSV (time_s,handler)") }
        let hp = handlersPath ?? Trace.handlersPath(for: path)
        self.handlers = try HandlerTable.read(path: hp)
    }

    public init(path: String, handlers: HandlerTable) {
        self.path = path
        self.handlers = handlers
    }

    /// `NAME.csv` → `NAME.handlers.csv`.
    public static func handlersPath(for tracePath: String) -> String {
        let base = tracePath.hasSuffix(".csv") ? String(tracePath.dropLast(4)) : tracePath
        return base + ".handlers.csv"
    }

    /// A fresh streaming reader over the invocations.
    public func makeReader() throws -> TraceReader { try TraceReader(path: path, handlers: handlers) }

    public static let header = "time_s,handler"
    /// The header of a trace whose invocations carry their own execution time (ms).
    public static let headerWithExec = "time_s,handler,exec_ms"
}

/// Streams a trace's invocations in constant memory, validating each row: a non-negative decimal time,
/// times in non-decreasing order, a handler that is in the table. Errors are `InputError`s at the row.
public final class TraceReader: Sequence, IteratorProtocol {
    public let path: String
    let lines: LineReader
    let handlers: HandlerTable
    private var lastArrival: Int64 = 0
    private var sawHeader = false
    /// The trace has the `exec_ms` column.
    public private(set) var hasExec = false
    /// Rows returned so far.
    public private(set) var count = 0
    /// Set when iteration stopped on an error (iteration via `next()` cannot throw; use `nextInvocation()`).
    public private(set) var error: InputError?

    public init(path: String, handlers: HandlerTable) throws {
        self.path = path
        self.handlers = handlers
        lines = try LineReader(path: path)
        try readHeader()
    }

    private func readHeader() throws {
        while let r = lines.nextLine({ line -> Row<String> in
            CSVReader.isSkippable(line) ? .skip : .value(String(decoding: line, as: UTF8.self))
        }) {
            guard case .value(var h) = r else { continue }
            if h.hasPrefix("\u{FEFF}") { h.removeFirst() } // a UTF-8 byte-order mark is not part of the header
            let cols = h.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            guard (cols.count == 2 || cols.count == 3 && cols[2] == "exec_ms"), cols[0] == "time_s", cols[1] == "handler" else {
                throw InputError(file: path, line: lines.lineNumber, "expected the header '\(Trace.header)' or '\(Trace.headerWithExec)', found \(InputError.excerpt(h))")
            }
            hasExec = cols.count == 3
            sawHeader = true
            return
        }
        throw InputError(file: path, line: 0, "empty file, expected the header '\(Trace.header)'")
    }

    /// The next invocation, nil at the end. - Throws: `InputError` for a malformed row.
    @inline(__always)
    public func nextInvocation() throws -> Invocation? {
        while true {
            let outcome = lines.nextLine { line -> Row<Result<Invocation, InputError>> in
                CSVReader.isSkippable(line) ? .skip : .value(parse(line))
            }
            guard let o = outcome else { return nil }
            guard case .value(let r) = o else { continue }
            switch r {
            case .success(let inv): count += 1; return inv
            case .failure(let e): throw e
            }
        }
    }

    @inline(__always)
    private func parse(_ line: UnsafeBufferPointer<UInt8>) -> Result<Invocation, InputError> {
        guard let comma = line.firstIndex(of: 44) else {
            return .failure(err("expected 2 fields 'time_s,handler', found 1"))
        }
        let timeBytes = UnsafeBufferPointer(rebasing: line[0..<comma])
        var hStart = comma + 1, hEnd = line.count
        var exec: Int64 = -1
        if hasExec {
            guard let second = line[hStart..<hEnd].firstIndex(of: 44) else { return .failure(err("expected 3 fields 'time_s,handler,exec_ms', found 2")) }
            let execBytes = UnsafeBufferPointer(rebasing: line[(second + 1)..<hEnd])
            if execBytes.contains(44) { return .failure(err("expected 3 fields 'time_s,handler,exec_ms', found more")) }
            // ms as a decimal: parsed as if seconds, the same digits, then scaled (µs precision kept).
            guard let e = Nanos.parseSeconds(execBytes) else {
                return .failure(err("column 'exec_ms': expected a non-negative number of milliseconds, found \(InputError.excerpt(String(decoding: execBytes, as: UTF8.self)))"))
            }
            exec = e / 1000
            hEnd = second
        } else if line[hStart..<hEnd].contains(44) { return .failure(err("expected 2 fields 'time_s,handler', found more")) }
        while hStart < hEnd, line[hStart] == 32 { hStart += 1 }
        while hEnd > hStart, line[hEnd - 1] == 32 { hEnd -= 1 }
        guard let t = Nanos.parseSeconds(timeBytes) else {
            let text = String(decoding: timeBytes, as: UTF8.self).trimmingSpaces
            if let v = Double(text), v.isFinite {
                if v >= Nanos.maxSeconds { return .failure(err("column 'time_s': \(InputError.excerpt(text)) s is too large: at most \(Int(Nanos.maxSeconds)) s (about 28 years)")) }
                if v >= 0 { return .failure(err("column 'time_s': write seconds as a decimal number without an exponent, found \(InputError.excerpt(text))")) }
            }
            return .failure(err("column 'time_s': expected a non-negative number of seconds, found \(InputError.excerpt(text))"))
        }
        guard t >= lastArrival else {
            return .failure(err("times out of order: \(Nanos.formatSeconds(t)) s comes after \(Nanos.formatSeconds(lastArrival)) s"))
        }
        let name = String(decoding: UnsafeBufferPointer(rebasing: line[hStart..<hEnd]), as: UTF8.self)
        guard let h = handlers.index(of: name) else {
            return .failure(err("unknown handler '\(name)': not in the handler table"))
        }
        lastArrival = t
        return .success(Invocation(arrivalNanos: t, handler: h, execNanos: exec))
    }

    private func err(_ m: String) -> InputError { InputError(file: path, line: lines.lineNumber, m) }

    /// Iterator conformance: stops at the end or at the first error (kept in `error`).
    public func next() -> Invocation? {
        guard error == nil else { return nil }
        do { return try nextInvocation() } catch let e as InputError { error = e; return nil } catch { return nil }
    }
}

/// Writes a trace's invocations in order, atomically (nothing appears until `commit()`).
public final class TraceWriter {
    let out: OutputFile
    let handlers: HandlerTable
    private var last: Int64 = 0
    public private(set) var count = 0

    /// Writes the `exec_ms` column (each invocation's own execution time).
    public let withExec: Bool

    public init(path: String, handlers: HandlerTable, comments: [String] = [], withExec: Bool = false) throws {
        out = try OutputFile(path: path)
        self.handlers = handlers
        self.withExec = withExec
        for c in comments { out.write("# \(c)\n") }
        out.write((withExec ? Trace.headerWithExec : Trace.header) + "\n")
    }

    public func append(_ inv: Invocation) {
        precondition(inv.arrivalNanos >= last, "TraceWriter: invocations must be appended in arrival order")
        last = inv.arrivalNanos
        out.write(Nanos.formatSeconds(inv.arrivalNanos))
        out.write(",")
        out.write(handlers[inv.handler].id)
        if withExec {
            out.write(",")
            out.write(Nanos.formatMillis(Swift.max(inv.execNanos, 0)))
        }
        out.write("\n")
        count += 1
    }

    public func commit() throws { try out.commit() }
}

/// A line's outcome: a comment or blank line to skip, or a value.
enum Row<T> {
    case skip
    case value(T)
}
