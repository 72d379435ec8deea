/// The handlers of a trace, indexed densely so a trace row can name one by number.
///
/// File format (CSV, `#` comments allowed): `handler,customer,packages,init_ms,exec_ms,memory_mb`, with
/// `packages` a `;`-separated list of distribution names (may be empty).
public struct HandlerTable: Sendable {
    public private(set) var handlers: [Handler] = []
    private var index: [String: Int32] = [:]

    public init(_ handlers: [Handler] = []) {
        for h in handlers { _ = try? add(h) }
    }

    public var count: Int { handlers.count }
    public subscript(i: Int32) -> Handler { handlers[Int(i)] }
    public func index(of id: String) -> Int32? { index[id] }

    /// Adds a handler. - Throws: `HandlerTable.Duplicate` when the id is already present.
    @discardableResult
    public mutating func add(_ h: Handler) throws -> Int32 {
        if index[h.id] != nil { throw Duplicate(id: h.id) }
        let i = Int32(handlers.count)
        handlers.append(h)
        index[h.id] = i
        return i
    }

    public struct Duplicate: Error { public let id: String }

    /// `stem` if no handler has that id yet, else the first free `stem-2`, `stem-3`, … (converted traces
    /// name handlers after hash prefixes, which can collide).
    public func unusedID(_ stem: String) -> String {
        var id = stem, k = 2
        while index[id] != nil { id = stem + "-\(k)"; k += 1 }
        return id
    }

    public static let columns = ["handler", "customer", "packages", "init_ms", "exec_ms", "memory_mb"]

    /// Reads a handler table. - Throws: `InputError` (missing column, bad number, duplicate handler, empty).
    public static func read(path: String) throws -> HandlerTable {
        let csv = try CSVReader(path: path)
        let cols = try columns.map { try csv.column($0) }
        var table = HandlerTable()
        while let f = try csv.next() {
            let id = f[cols[0]].trimmingSpaces
            guard !id.isEmpty else { throw csv.error("column 'handler': expected a handler name, found nothing") }
            let pkgs = f[cols[2]].split(separator: ";").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
            let h = Handler(id: id, customer: f[cols[1]].trimmingSpaces, packages: pkgs,
                            initMillis: try csv.double(f, cols[3], name: "init_ms", max: 1e9),
                            execMillis: try csv.double(f, cols[4], name: "exec_ms", max: 1e9),
                            memoryBytes: Bytes.fromMB(try csv.double(f, cols[5], name: "memory_mb", max: 1e9)))
            do { try table.add(h) } catch { throw csv.error("handler '\(id)' appears twice") }
        }
        guard table.count > 0 else { throw InputError(file: path, line: 0, "no handlers: expected at least one row after the header") }
        return table
    }

    /// Writes the table atomically, with `comments` as `#` lines first.
    public func write(path: String, comments: [String] = []) throws {
        let out = try OutputFile(path: path)
        for c in comments { out.write("# \(c)\n") }
        out.write(HandlerTable.columns.joined(separator: ",") + "\n")
        for h in handlers {
            out.write("\(CSVReader.escape(h.id)),\(CSVReader.escape(h.customer)),\(h.packages.joined(separator: ";")),")
            out.write("\(fmt(h.initMillis)),\(fmt(h.execMillis)),\(fmt(Bytes.mb(h.memoryBytes)))\n")
        }
        try out.commit()
    }
}

/// Formats a number compactly with at most three decimals.
func fmt(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    let r = (v * 1000).rounded() / 1000
    return String(r)
}
