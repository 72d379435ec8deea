import Foundation

/// Whether this machine takes file pages out of the page cache while memory is plentiful, and how soon: a
/// kernel with DAMON (the Data Access MONitor) can run a "pageout" scheme over physical memory that reclaims
/// pages not accessed for a while, whatever the free memory (a VM host does this to get memory back). A
/// package's files read by an import, or written by its install, then stay cached only for about the scheme's
/// minimum age; an import after that reads them from the disk again. On this machine (2026-12-05) the scheme
/// reclaimed unmapped pages idle for 60 s, and an import of scikit-learn's closure with none of its files cached
/// took 2.2 × the warm import (`docs/DESIGN.md`, "Page-cache reclaim"). Without such a scheme cached pages stay
/// until memory runs short. Read from sysfs (`/sys/kernel/mm/damon/admin`); said in `calibrate`'s and
/// `compare`'s headers, as `InstallDisk` says what the install disk does.
public enum PageCacheReclaim {
    public static let defaultRoot = "/sys/kernel/mm/damon/admin"

    /// One running pageout scheme over physical memory.
    public struct Scheme: Equatable, Sendable {
        /// The kdamond's index.
        public var kdamond: Int
        /// Pages are reclaimed once their region has not been seen accessed (at most `maxAccesses` of the
        /// samples of an aggregation interval) for `minAgeIntervals` aggregation intervals of `aggregationMicros`.
        public var minAgeIntervals: Int, aggregationMicros: Int, maxAccesses: Int
        /// At most this many bytes per `quotaResetMillis` (0: no byte quota).
        public var quotaBytes: Int, quotaResetMillis: Int
        /// Whether anonymous memory is excluded, and whether only pages no process maps are taken (a filter of
        /// type `unmapped` allowing).
        public var excludesAnonymous: Bool, unmappedOnly: Bool
        /// Seconds of no access before a page may be reclaimed.
        public var minAgeSeconds: Double { Double(minAgeIntervals) * Double(aggregationMicros) / 1e6 }
    }

    /// The pageout schemes running over physical memory under `root` (empty: none, or no DAMON).
    public static func schemes(root: String = defaultRoot) -> [Scheme] {
        func read(_ p: String) -> String? {
            (try? Sys.readFile(p))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func int(_ p: String) -> Int? { read(p).flatMap { Int($0) } }
        func indices(_ dir: String) -> [Int] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).compactMap { Int($0) }.sorted()
        }
        var out: [Scheme] = []
        for k in indices(root + "/kdamonds") where read("\(root)/kdamonds/\(k)/state") == "on" {
            let contexts = "\(root)/kdamonds/\(k)/contexts"
            for c in indices(contexts) where read("\(contexts)/\(c)/operations") == "paddr" {
                let ctx = "\(contexts)/\(c)"
                guard let aggr = int(ctx + "/monitoring_attrs/intervals/aggr_us") else { continue }
                for s in indices(ctx + "/schemes") where read("\(ctx)/schemes/\(s)/action") == "pageout" {
                    let sch = "\(ctx)/schemes/\(s)"
                    var anonymousOut = false, unmappedOnly = false
                    // Filters live in `ops_filters` on newer kernels, `filters` on older ones.
                    for dir in [sch + "/ops_filters", sch + "/filters"] {
                        for f in indices(dir) {
                            let type = read("\(dir)/\(f)/type"), matching = read("\(dir)/\(f)/matching") == "Y"
                            // Older kernels have no `allow`: a filter there excludes what it matches.
                            let allow = read("\(dir)/\(f)/allow") == "Y"
                            if type == "anon", matching, !allow { anonymousOut = true }
                            if type == "unmapped", matching, allow { unmappedOnly = true }
                        }
                    }
                    out.append(Scheme(kdamond: k, minAgeIntervals: int(sch + "/access_pattern/age/min") ?? 0, aggregationMicros: aggr,
                                      maxAccesses: int(sch + "/access_pattern/nr_accesses/max") ?? 0,
                                      quotaBytes: int(sch + "/quotas/bytes") ?? 0, quotaResetMillis: int(sch + "/quotas/reset_interval_ms") ?? 0,
                                      excludesAnonymous: anonymousOut, unmappedOnly: unmappedOnly))
                }
            }
        }
        return out
    }

    /// One line for a header: what reclaims cached file pages on this machine, and what that does to imports.
    public static func describe(root: String = defaultRoot) -> String {
        let found = schemes(root: root)
        guard !found.isEmpty else {
            return "page cache: no DAMON pageout scheme running: a package's cached files stay cached until memory runs short"
        }
        let each = found.map { s -> String in
            var what: [String] = []
            if s.unmappedOnly { what.append("pages no process maps") }
            if s.excludesAnonymous { what.append("no anonymous memory") }
            let quota = s.quotaBytes > 0 ? String(format: ", at most %.0f MB per %.0f s", Double(s.quotaBytes) / 1048576, Double(max(1, s.quotaResetMillis)) / 1000) : ""
            return String(format: "kdamond %d pages out memory not seen accessed for %.0f s (%d aggregation intervals of %.1f s)%@%@", s.kdamond, s.minAgeSeconds,
                          s.minAgeIntervals, Double(s.aggregationMicros) / 1e6, what.isEmpty ? "" : " (" + what.joined(separator: ", ") + ")", quota)
        }
        return "page cache: DAMON reclaims idle pages while memory is plentiful: " + each.joined(separator: "; ")
            + ": a package's files not read or written for about that long are read from the disk again at its next import (slower than a warm import: a model of it is not in the simulator)"
    }
}
