import CachePolicy
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Workload

/// Replays requests against a worker over HTTP, open loop: each is sent at its arrival time whatever the
/// replies to earlier ones (a closed loop would slow down with the worker and hide its queueing). Each
/// reply becomes a `RequestRecord` from its `Pipsqueak-Record` header; a request that got no answer, or an
/// answer other than 200, is an error (it has no tier).
public final class OpenLoopClient: @unchecked Sendable {
    let client: HTTP1Client
    /// The client's own event loops, apart from the server's (NIO's shared ones, when the server is in this
    /// process): their threads (`NIO-ELT-…`) tell the load generator's CPU apart from the worker's.
    let group: MultiThreadedEventLoopGroup
    /// Where the replay's tasks run (sending, reading replies, handing outcomes on): threads of its own
    /// (`loadgen-N`), for the same reason.
    let executor: ThreadExecutor
    /// Seconds to wait for one reply.
    public var timeoutSeconds: Double

    /// `baseURL`: `http://host:port` (a worker is plain HTTP); anything else is an error naming it.
    public init(baseURL: String, timeoutSeconds: Double = 120) throws {
        self.timeoutSeconds = timeoutSeconds
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        do {
            // Open loop: as many connections as requests in flight (kept alive and reused).
            client = try HTTP1Client(baseURL: baseURL, group: group)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        executor = ThreadExecutor(name: "loadgen", threads: System.coreCount)
    }

    /// One request's outcome.
    public struct Outcome: Sendable {
        /// Its record: from the worker's header (phases, tier, zygote), or the client's (an error).
        public var record: RequestRecord
        public var status: Int
        /// When the client sent it and got the whole reply, ns since the replay's origin.
        public var sentNanos: Int64, repliedNanos: Int64
    }

    /// Sends every invocation `next` gives (arrival times in ns since the start, divided by `speed`) to
    /// `/run/<names[handler]>` with `{"request": N}`, and hands each outcome to `onOutcome` (from any thread)
    /// as it comes. Returns when every reply is in. `shouldStop` is asked before each send.
    public func replay(names: [String], speed: Double, next: () throws -> Invocation?, shouldStop: @escaping () -> Bool = { false },
                       onOutcome: @escaping @Sendable (Outcome) -> Void) async throws {
        let origin = DispatchTime.now().uptimeNanoseconds
        func now() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds - origin) }
        var n: Int64 = 0
        try await withTaskExecutorPreference(executor) {
            try await withThrowingDiscardingTaskGroup { group in
                while !shouldStop(), let inv = try next() {
                    n += 1
                    let due = Int64(Double(inv.arrivalNanos) / speed)
                    let wait = due - now()
                    if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
                    let request = n, handler = inv.handler, name = names[Int(inv.handler)]
                    group.addTask { [self] in
                        onOutcome(await send(name, request: request, handler: handler, clock: now))
                    }
                }
            }
        }
    }

    /// Sends request `request` to `/run/<name>` and waits for its reply: its outcome, times on `clock`.
    func send(_ name: String, request: Int64, handler: Int32, clock now: () -> Int64) async -> Outcome {
        let sent = now()
        var out = Outcome(record: RequestRecord(request: request, handler: handler, arrivalNanos: sent, startNanos: sent,
                                                endNanos: sent, tier: .cold, zygote: nil),
                          status: 0, sentNanos: sent, repliedNanos: sent)
        do {
            let res = try await client.execute(.POST, "/run/\(name)", body: "{\"request\": \(request)}", timeoutSeconds: timeoutSeconds)
            out.status = res.status
            out.repliedNanos = now()
            if let h = res.headers.first(name: "Pipsqueak-Record"), let r = Self.record(h, request: request, handler: handler) {
                out.record = r
            }
            if out.status != 200 {
                let text = res.text.trimmingCharacters(in: .whitespacesAndNewlines)
                out.record.error = "HTTP \(out.status): \(text.prefix(300))"
            }
        } catch {
            out.repliedNanos = now()
            out.record.error = "no reply: \(error)"
        }
        return out
    }

    /// The worker's `/stats` (nil: no answer, or not JSON).
    public func stats() async -> [String: Any]? {
        guard let res = try? await client.execute(.GET, "/stats", timeoutSeconds: 10, maxBody: 1 << 20) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(res.body.readableBytesView))) as? [String: Any]
    }

    /// Sends one request to `/run/<name>` and waits for the reply; returns its status (0: no reply).
    public func call(_ name: String, body: String = "{}") async -> Int {
        guard let res = try? await client.execute(.POST, "/run/\(name)", body: body, timeoutSeconds: timeoutSeconds) else { return 0 }
        return res.status
    }

    /// Reads a `Pipsqueak-Record` header (JSON, ms) back into a record: a flat object of numbers, words, true,
    /// false and null (what the server writes) is read directly; anything else through `JSONSerialization`.
    static func record(_ header: String, request: Int64, handler: Int32) -> RequestRecord? {
        guard let f = flatFields(header) else { return recordFromJSON(header, request: request, handler: handler) }
        guard let tier = f["tier"].flatMap(Tier.init(rawValue:)) else { return nil }
        func ns(_ k: String) -> Int64 { Int64(((f[k].flatMap(Double.init) ?? 0) * 1e6).rounded()) }
        var r = RequestRecord(request: request, handler: handler, arrivalNanos: ns("arrival_ms"), startNanos: ns("start_ms"),
                              endNanos: ns("end_ms"), tier: tier, zygote: f["zygote"].flatMap { Int64($0) })
        r.downloadNanos = ns("download_ms"); r.installNanos = ns("install_ms"); r.createNanos = ns("create_ms")
        r.forkNanos = ns("fork_ms"); r.importNanos = ns("import_ms"); r.initNanos = ns("init_ms"); r.execNanos = ns("exec_ms")
        r.importCPUNanos = f["import_cpu_ms"] != nil ? ns("import_cpu_ms") : nil
        r.initCPUNanos = f["init_cpu_ms"] != nil ? ns("init_cpu_ms") : nil
        r.readyCPUNanos = f["ready_cpu_ms"] != nil ? ns("ready_cpu_ms") : nil
        r.readyWaitNanos = f["ready_wait_ms"] != nil ? ns("ready_wait_ms") : nil
        r.evictions = f["evictions"].flatMap { Int($0) } ?? 0
        r.estimated = f["estimated"] == "true"
        return r
    }

    /// The fields of a flat JSON object whose values are numbers, `true`, `false`, `null` or strings without
    /// escapes, each value's text (a string's without its quotes); nil for anything else.
    static func flatFields(_ text: String) -> [String: String]? {
        let b = Array(text.utf8)
        var i = 0, out: [String: String] = [:]
        func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 } }
        func string() -> String? { // at a quote: the text up to the next quote, none escaped
            guard i < b.count, b[i] == 0x22 else { return nil }
            let start = i + 1
            i = start
            while i < b.count, b[i] != 0x22 { if b[i] == 0x5C || b[i] < 0x20 { return nil }; i += 1 }
            guard i < b.count else { return nil }
            defer { i += 1 }
            return String(decoding: b[start..<i], as: UTF8.self)
        }
        skipSpace()
        guard i < b.count, b[i] == 0x7B else { return nil }
        i += 1
        skipSpace()
        if i < b.count, b[i] == 0x7D { i += 1; skipSpace(); return i == b.count ? out : nil }
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard i < b.count, b[i] == 0x3A else { return nil }
            i += 1
            skipSpace()
            guard i < b.count else { return nil }
            if b[i] == 0x22 {
                guard let v = string() else { return nil }
                out[key] = v
            } else {
                let start = i // a number or a literal: up to the next delimiter
                while i < b.count, b[i] != 0x2C, b[i] != 0x7D, b[i] != 0x20 { i += 1 }
                let v = String(decoding: b[start..<i], as: UTF8.self)
                guard v == "true" || v == "false" || v == "null" || Double(v) != nil else { return nil }
                out[key] = v
            }
            skipSpace()
            guard i < b.count else { return nil }
            if b[i] == 0x2C { i += 1; continue }
            guard b[i] == 0x7D else { return nil }
            i += 1
            skipSpace()
            return i == b.count ? out : nil
        }
    }

    /// `record` through `JSONSerialization` (a header not flat, or with escapes).
    static func recordFromJSON(_ header: String, request: Int64, handler: Int32) -> RequestRecord? {
        guard let o = try? JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any],
              let tier = (o["tier"] as? String).flatMap(Tier.init(rawValue:)) else { return nil }
        func ns(_ k: String) -> Int64 { Int64((((o[k] as? NSNumber)?.doubleValue ?? 0) * 1e6).rounded()) }
        var r = RequestRecord(request: request, handler: handler, arrivalNanos: ns("arrival_ms"), startNanos: ns("start_ms"),
                              endNanos: ns("end_ms"), tier: tier, zygote: (o["zygote"] as? NSNumber)?.int64Value)
        r.downloadNanos = ns("download_ms"); r.installNanos = ns("install_ms"); r.createNanos = ns("create_ms")
        r.forkNanos = ns("fork_ms"); r.importNanos = ns("import_ms"); r.initNanos = ns("init_ms"); r.execNanos = ns("exec_ms")
        r.importCPUNanos = o["import_cpu_ms"] != nil ? ns("import_cpu_ms") : nil
        r.initCPUNanos = o["init_cpu_ms"] != nil ? ns("init_cpu_ms") : nil
        r.readyCPUNanos = o["ready_cpu_ms"] != nil ? ns("ready_cpu_ms") : nil
        r.readyWaitNanos = o["ready_wait_ms"] != nil ? ns("ready_wait_ms") : nil
        r.evictions = (o["evictions"] as? Int) ?? 0
        r.estimated = (o["estimated"] as? Bool) ?? false
        return r
    }

    public func shutdown() async {
        await client.shutdown()
        try? await group.shutdownGracefully()
        let e = executor
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { e.shutdown(); c.resume() }
        }
    }

    /// Whether a thread of this process is one of a load generator's event loops (by its name).
    public static func isLoadGeneratorThread(_ name: String) -> Bool { name.hasPrefix("NIO-ELT-") || name.hasPrefix("loadgen-") }
}
