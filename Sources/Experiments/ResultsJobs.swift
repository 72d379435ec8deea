import Foundation
import Results
import Workload

/// The jobs behind `pipsqueak results`: merging stores (the shards of a sweep run apart, on Slurm or
/// anywhere), exporting a stored sweep as the CSV a local sweep writes, and listing what a store holds.
public enum ResultsJobs {
    /// What `merge` did, over all inputs.
    public struct MergeSummary: Sendable {
        public var inputs = 0, copied = 0, identical = 0, sweeps = 0
        public var conflicts: [String] = []
    }

    /// Merges every store in `inputs` into `into` (created if missing), one input per transaction.
    /// Idempotent: merging an input again copies nothing. A key held twice with different results is
    /// reported in `conflicts`, never overwritten. A missing input is an error before anything is written.
    public static func merge(inputs: [String], into: String, progress: (String) -> Void = { _ in }) throws -> MergeSummary {
        for i in inputs { try mustExist(i) }
        let target = try ResultStore(path: into)
        var total = MergeSummary()
        for i in inputs {
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: i)) == into || URL(fileURLWithPath: i).standardized == URL(fileURLWithPath: into).standardized {
                throw InputError(file: i, line: 0, "is the store merged into (--into); name it once")
            }
            let r = try target.merge(from: try ResultStore(path: i))
            progress("\(i): \(r.copied) runs copied, \(r.identical) already there with the same results, \(r.sweepsCopied) sweep definitions copied"
                     + (r.conflicts.isEmpty ? "" : ", \(r.conflicts.count) conflicts"))
            total.inputs += 1; total.copied += r.copied; total.identical += r.identical; total.sweeps += r.sweepsCopied
            total.conflicts += r.conflicts.map { "\($0) (in \(i) and \(into) with different results)" }
        }
        return total
    }

    /// Writes the CSV of sweep `name` stored in `store` to `output` (default `results/sweep-NAME.csv`):
    /// the same rows, in the same order, that a local `pipsqueak sweep` of the same grid writes.
    /// Returns (path, rows, points of the grid missing from the store).
    public static func exportSweep(name: String, store path: String, output: String?, command: String) throws -> (csv: String, rows: Int, missing: Int) {
        try mustExist(path)
        let store = try ResultStore(path: path)
        let sweeps = try store.sweeps()
        guard let d = sweeps.first(where: { $0.name == name }) else {
            let known = sweeps.map(\.name)
            throw InputError(file: path, line: 0, "holds no sweep named '\(name)'" + (known.isEmpty ? " (it holds no sweep)" : "; it holds: \(known.joined(separator: ", "))"))
        }
        try SweepJob.checkName(name)
        let csv = output ?? ProjectPaths.results("sweep-\(name).csv")
        let r = try SweepJob.export(store: store, definition: d, madeBy: command, to: csv)
        return (csv, r.rows, r.missing)
    }

    /// One line per sweep in the store: name, points stored of the grid's, trace; then run counts per kind.
    public static func list(store path: String) throws -> [String] {
        try mustExist(path)
        let store = try ResultStore(path: path)
        var lines: [String] = []
        let keys = Set(try store.runs(kind: "sweep").map(\.key)) // read once, not per sweep
        for d in try store.sweeps() {
            let job = try SweepJob.job(from: d)
            let stored = job.points.filter { keys.contains($0.key(trace: d.trace, costs: d.costs)) }.count
            lines.append("sweep \(d.name): \(stored) of \(job.points.count) points stored (trace \(d.trace))")
        }
        for r in try store.db.query("SELECT kind, COUNT(*) FROM runs GROUP BY kind ORDER BY kind") {
            lines.append("runs of kind \(r[0].text ?? ""): \(r[1].int ?? 0)")
        }
        return lines
    }

    /// Reading commands never create a store (opening a missing path would make an empty one).
    static func mustExist(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(file: path, line: 0, "no such results store") }
    }
}
