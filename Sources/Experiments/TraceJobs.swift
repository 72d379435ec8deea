import Foundation
import Statistics
import Workload

/// The trace jobs behind `pipsqueak trace …`: generate, convert and summarise traces.
public enum TraceJobs {
    /// Loads the shipped popularity data and handler sets, optionally restricted to packages with measured
    /// costs (`packagesPath`).
    public static func loadHandlerSets(importFrequency: String = ProjectPaths.importFrequency,
                                       handlerSets: String = ProjectPaths.handlerSets,
                                       restrictTo packagesPath: String? = nil) throws -> HandlerSets {
        let freq = try ImportFrequency.read(path: importFrequency)
        var sets = try HandlerSets.read(path: handlerSets, frequency: freq)
        if let p = packagesPath {
            let table = try PackageTable.read(path: p)
            sets = sets.restricted(to: Set(table.names))
            guard !sets.rows.isEmpty else { throw GeneratorError("no handler set keeps a package measured in \(p)") }
        }
        return sets
    }

    /// Writes a generated trace (`out`) and its handler table (`NAME.handlers.csv`) atomically: the handler
    /// table is committed only after the invocations are complete. Returns the number of requests.
    @discardableResult
    public static func write(table: HandlerTable, body: (TraceWriter) throws -> Void, to out: String,
                             comments: [String]) throws -> Int {
        try ProjectPaths.ensureParent(of: out)
        let writer = try TraceWriter(path: out, handlers: table, comments: comments)
        try body(writer)
        let handlersPath = Trace.handlersPath(for: out)
        try table.write(path: handlersPath, comments: comments)
        try writer.commit()
        return writer.count
    }

    /// Provenance comment lines for a file made by `command`.
    public static func provenance(command: String, seed: UInt64?) -> [String] {
        var lines = ["made by: \(command)"]
        if let s = seed { lines.append("seed: \(s)") }
        lines.append("machine: \(MachineDescription.summary)")
        return lines
    }

    /// The `trace stats` report.
    public static func statsReport(_ s: TraceStats, top: Int = 10) -> String {
        var out = ""
        func line(_ k: String, _ v: String) { out += k.padding(toLength: 22, withPad: " ", startingAt: 0) + v + "\n" }
        line("requests", String(s.requests))
        line("duration", String(format: "%.3f s", s.durationSeconds))
        line("rate", String(format: "%.3f req/s", s.rate))
        line("handlers", "\(s.handlersInvoked) invoked of \(s.handlers.count) in the table")
        line("top 10% of handlers", String(format: "%.1f%% of requests", 100 * s.shareOfTop(0.1)))
        let pkgs = s.topPackages
        line("distinct packages", String(pkgs.count))
        let sizes = s.handlers.handlers.map { Double($0.packages.count) }
        let sum = Summary(sizes)
        line("packages per handler", String(format: "mean %.1f, median %.0f, p90 %.0f", sum.mean, sum.p50, sum.p90))
        out += "\ntop handlers by requests:\n"
        for (id, n) in s.topHandlers.prefix(top) {
            out += "  " + id.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8d  %5.1f%%\n", n, 100 * Double(n) / Double(max(1, s.requests)))
        }
        out += "\ntop packages by requests:\n"
        out += "  " + "package".padding(toLength: 24, withPad: " ", startingAt: 0) + "requests   share  handlers\n"
        for p in pkgs.prefix(top) {
            out += "  " + p.name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8d  %5.1f%%  %8d\n", p.requests, 100 * Double(p.requests) / Double(max(1, s.requests)), p.handlers)
        }
        return out
    }
}
