import CachePolicy
import Workload

/// Writes request records as CSV through a byte buffer, formatting numbers by hand (the simulator writes
/// millions of rows a second). Atomic: nothing appears at `path` until `commit()`.
public final class RecordWriter {
    let out: OutputFile
    let handlers: HandlerTable
    var buffer: [UInt8] = []

    public init(path: String, handlers: HandlerTable, comments: [String]) throws {
        out = try OutputFile(path: path)
        self.handlers = handlers
        buffer.reserveCapacity(1 << 16)
        for c in comments { out.write("# \(c)\n") }
        out.write(RequestRecord.header + "\n")
    }

    @inline(__always) func int(_ v: Int64) {
        var v = v
        if v < 0 { buffer.append(45); v = -v }
        if v < 10 { buffer.append(48 + UInt8(v)); return }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { p in
            while v > 0 { p[n] = 48 + UInt8(v % 10); v /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { buffer.append(p[i]) }
        }
    }

    /// ns as milliseconds with three decimals (µs resolution).
    @inline(__always) func ms(_ ns: Int64) {
        var us = (ns >= 0 ? ns + 500 : ns - 500) / 1000
        if us < 0 { buffer.append(45); us = -us }
        int(us / 1000)
        buffer.append(46)
        let f = us % 1000
        buffer.append(48 + UInt8(f / 100)); buffer.append(48 + UInt8(f / 10 % 10)); buffer.append(48 + UInt8(f % 10))
    }

    @inline(__always) func text(_ s: String) { buffer.append(contentsOf: s.utf8) }
    @inline(__always) func comma() { buffer.append(44) }

    public func append(_ r: RequestRecord) {
        int(r.request); comma()
        text(handlers[r.handler].id); comma()
        ms(r.arrivalNanos); comma(); ms(r.startNanos); comma(); ms(r.endNanos); comma(); ms(r.latencyNanos); comma()
        text(r.error.isEmpty ? r.tier.rawValue : "error"); comma() // a failed request is not a tier (the plan's is in the decision log)
        if let z = r.zygote { int(z) }
        comma()
        ms(r.queueNanos); comma(); ms(r.downloadNanos); comma(); ms(r.installNanos); comma(); ms(r.createNanos); comma()
        ms(r.forkNanos); comma(); ms(r.importNanos); comma(); ms(r.initNanos); comma(); ms(r.execNanos); comma()
        int(Int64(r.evictions)); comma()
        buffer.append(r.estimated ? 49 : 48); comma()
        if !r.error.isEmpty { text(CSVReader.escape(r.error)) }
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        buffer.withUnsafeBufferPointer { out.write(bytes: $0) }
        buffer.removeAll(keepingCapacity: true)
    }

    public func commit() throws {
        flush()
        try out.commit()
    }
}

/// Writes decision-log lines atomically.
public final class DecisionLog {
    let out: OutputFile
    public init(path: String, comments: [String]) throws {
        out = try OutputFile(path: path)
        for c in comments { out.write("# \(c)\n") }
    }
    public func append(_ line: String) { out.write(line); out.write("\n") }
    public func commit() throws { try out.commit() }
}
