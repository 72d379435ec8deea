import POSIX
import Runtime
import Server

/// This process's CPU over a real run by the kind of thread that spent it (from each thread's name): the
/// worker's cores' threads (serving requests: starts, thaws, hand-offs to the containers), its maintenance thread
/// (zygote builds, standby children, pooled cgroups), the load generator's event loops and task executor, the
/// server's event loops (HTTP), and the rest (Swift's tasks, the main thread). For each kind: ns on a core, and
/// ns runnable but waiting for a core (the scheduler's own account, `/proc/self/task/*/schedstat`).
public struct ThreadCPU: Codable, Sendable, Equatable {
    public struct Kind: Codable, Sendable, Equatable {
        public var kind: String
        public var cpuNanos: Int64, waitNanos: Int64
        /// Threads of this kind alive at the run's end.
        public var threads: Int
    }
    public var kinds: [Kind]

    /// The kinds, in the order they are reported.
    public static let order = ["cores", "maintenance", "load generator", "server", "other"]

    /// A thread's kind from its name.
    public static func kind(of name: String) -> String {
        if name.hasPrefix("pipsqueak-core") { return "cores" }
        if name.hasPrefix(RuntimeWorker.maintenanceThreadName) { return "maintenance" }
        if OpenLoopClient.isLoadGeneratorThread(name) { return "load generator" }
        if name.hasPrefix("NIO-SGLTN") { return "server" }
        return "other"
    }

    /// What each kind spent between two readings of `Sys.threadTimes()` (a thread not in `before` began
    /// after it; one gone by `after` is not counted: its time is in the process's only). nil: /proc had none.
    public static func between(_ before: [Sys.ThreadTimes], _ after: [Sys.ThreadTimes]) -> ThreadCPU? {
        guard !after.isEmpty else { return nil }
        var was: [Int32: Sys.ThreadTimes] = [:]
        for t in before { was[t.tid] = t }
        var by: [String: Kind] = [:]
        for t in after {
            let k = kind(of: t.name)
            let b = was[t.tid].flatMap { $0.name == t.name ? $0 : nil }
            var e = by[k] ?? Kind(kind: k, cpuNanos: 0, waitNanos: 0, threads: 0)
            e.cpuNanos += t.cpuNanos - (b?.cpuNanos ?? 0)
            e.waitNanos += t.waitNanos - (b?.waitNanos ?? 0)
            e.threads += 1
            by[k] = e
        }
        return ThreadCPU(kinds: order.compactMap { by[$0] })
    }

    /// The kinds' CPU in all, ns.
    public var cpuNanos: Int64 { kinds.reduce(0) { $0 + $1.cpuNanos } }

    /// One line: each kind's CPU in s (and its wait for a core), per request served where `served` > 0; and
    /// what threads gone by the end spent (of `processNanos`, the process's whole CPU over the same time).
    public func describe(served: Int, processNanos: Int64) -> String {
        var parts = kinds.map { k in
            String(format: "%@ %.2f s (%.2f ms a request; waited for a core %.2f s)", k.kind, Double(k.cpuNanos) / 1e9,
                   served > 0 ? Double(k.cpuNanos) / 1e6 / Double(served) : Double.nan, Double(k.waitNanos) / 1e9)
        }
        let gone = processNanos - cpuNanos
        if gone > 0 { parts.append(String(format: "threads gone by the end %.2f s", Double(gone) / 1e9)) }
        return parts.joined(separator: ", ")
    }
}

/// The process's CPU, the clock and its threads' times, read once when the last reply is in (`RunJob.onReplayed`,
/// on whichever thread ends the replay; read before anything else looks).
final class SelfCPUReading: @unchecked Sendable {
    private(set) var cpu: Int64 = 0, wall: Int64 = 0
    private(set) var threads: [Sys.ThreadTimes] = []
    func read() { cpu = Sys.processCPUNanos(); wall = Sys.monotonicNanos(); threads = Sys.threadTimes() }
}
