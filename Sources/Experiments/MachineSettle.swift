import Foundation
import POSIX

/// A machine at rest before a measured run. What the kernel still holds dirty (the last run's and the probes'
/// installs: 86 MB before a compare's first run in campaign AE, up to 1.2 GB during a mixed campaign's runs), which
/// it would otherwise write out in bursts beside the next run, is written back with `sync(2)`; then the cores are
/// watched until they are idle. A start-up burst (every handler cold at once, the queue near its bound) turns a few
/// percent of slower starts into tens of percent more waiting, so no run should start beside the last one's
/// writeback or teardown. (In campaign AE every run was idle within 0.3 s, and the runs still differed: their
/// first zygote builds did, 74-203 ms for the same numpy zygote.)
public struct MachineSettle: Equatable, Sendable, Codable {
    /// Dirty and under-writeback memory before the sync, kB (`/proc/meminfo`; nil where it cannot be read).
    public var dirtyKB: Int64?
    /// How long the sync took, ms.
    public var syncMs: Double
    /// From the sync's end until a window of the cores' time was idle enough (or the limit), ms.
    public var waitedMs: Double
    /// The last window's busy share of the machine's cores (nil where `/proc/stat` cannot be read).
    public var busy: Double?
    /// Whether a window came under the threshold before the limit.
    public var idle: Bool

    /// The busy share a window must come under.
    public static let idleBelow = 0.10
    /// One window, s; and the longest wait for an idle one, s.
    public static let window = 0.25, limit = 20.0

    /// `Dirty` + `Writeback` of a `/proc/meminfo` text, kB; nil when either is missing.
    public static func dirtyKB(meminfo text: String) -> Int64? {
        var dirty: Int64?, writeback: Int64?
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard f.count >= 2 else { continue }
            if f[0] == "Dirty" { dirty = Int64(f[1]) } else if f[0] == "Writeback" { writeback = Int64(f[1]) }
        }
        guard let d = dirty, let w = writeback else { return nil }
        return d + w
    }

    /// Waits until `sample` says a window was idle (its busy share under `below`) or `limit` windows passed:
    /// the windows waited and the last share (nil: no share could be read, then it does not wait).
    /// `sample` measures one window (it sleeps for it).
    public static func waitIdle(below: Double = idleBelow, windows limit: Int, sample: () -> Double?) -> (windows: Int, busy: Double?, idle: Bool) {
        var last: Double?
        for k in 1...max(1, limit) {
            guard let b = sample() else { return (k, last, false) }
            last = b
            if b < below { return (k, b, true) }
        }
        return (max(1, limit), last, false)
    }

    /// Syncs, then waits for an idle window of the cores (at most `limit` s).
    public static func now(limit: Double = MachineSettle.limit) -> MachineSettle {
        let dirty = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap { dirtyKB(meminfo: $0) }
        let t0 = Sys.monotonicNanos()
        Sys.syncFileSystems()
        let t1 = Sys.monotonicNanos()
        let w = waitIdle(windows: Int((limit / window).rounded(.up))) {
            guard let a = MachineCPUTimes.now() else { return nil }
            Sys.sleep(micros: Int64(window * 1e6))
            guard let b = MachineCPUTimes.now() else { return nil }
            return b.shares(since: a)?.busy
        }
        let t2 = Sys.monotonicNanos()
        return MachineSettle(dirtyKB: dirty, syncMs: Double(t1 - t0) / 1e6, waitedMs: Double(t2 - t1) / 1e6, busy: w.busy, idle: w.idle)
    }

    /// As the report and the CSV header say it: "812 MB dirty written back in 1.2 s, idle (4% busy) after 0.3 s".
    public var summary: String {
        let d = dirtyKB.map { String(format: "%.0f MB dirty written back", Double($0) / 1024) } ?? "synced"
        let b = busy.map { String(format: "%.0f%% busy", 100 * $0) } ?? "busy share unknown"
        return String(format: "%@ in %.1f s, %@ (%@) after %.1f s", d, syncMs / 1000, idle ? "idle" : "not idle", b, waitedMs / 1000)
    }
}
