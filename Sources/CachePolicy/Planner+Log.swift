import Workload

/// The decision log: one line per decision, with names (not ids) so logs of two runs compare line by line.
extension Planner {
    public func logLine(_ p: StartPlan, handlerID: String) -> String {
        var s = "plan t=\(Nanos.formatSeconds(p.nowNanos)) req=\(p.request) h=\(handlerID) tier=\(p.tier.rawValue) c=\(p.container)"
        s += " z=" + (p.zygote.map { "\($0)" } ?? "-")
        s += " install=" + list(p.install)
        s += " cached=" + list(p.installCached)
        s += " import=\(p.imports.count)"
        s += " evict=" + evictions(p.evictions)
        s += " create=" + (p.createZygotes.isEmpty ? "-" : p.createZygotes.map { "z\($0.id)<z\($0.parent.map(String.init) ?? "-"):\(list($0.imports))" }.joined(separator: ","))
        return s
    }

    public func logLine(_ p: IdlePlan) -> String {
        "idle t=\(Nanos.formatSeconds(p.nowNanos)) c=\(p.container) \(p.paused ? "pause" : "destroy") evict=\(evictions(p.evictions))"
    }

    public func logLine(_ p: ReadyPlan) -> String {
        "ready t=\(Nanos.formatSeconds(p.nowNanos)) z=\(p.zygote) \(p.kept ? "keep" : "drop") evict=\(evictions(p.evictions))"
    }

    public func logLineLost(zygote: Int64, now: Int64, evictions e: [Eviction], rebuild: ZygoteSpec?) -> String {
        "lost t=\(Nanos.formatSeconds(now)) z=\(zygote) evict=\(evictions(e)) rebuild=\(rebuild.map { "z\($0.id)" } ?? "-")"
    }

    public func logLineFailed(zygote: Int64, now: Int64, evictions e: [Eviction], rebuild: ZygoteSpec?) -> String {
        "failed t=\(Nanos.formatSeconds(now)) z=\(zygote) unimportable=\(list(unimportable.ids)) evict=\(evictions(e)) rebuild=\(rebuild.map { "z\($0.id)" } ?? "-")"
    }

    public func logLinePauseFailed(container: Int64, now: Int64, evictions e: [Eviction]) -> String {
        "pausefail t=\(Nanos.formatSeconds(now)) c=\(container) evict=\(evictions(e))"
    }

    public func logLineInstallFailed(package: Int32, now: Int64) -> String {
        "installfail t=\(Nanos.formatSeconds(now)) p=\(catalog[package].name)"
    }

    func list(_ ids: [Int32]) -> String { ids.isEmpty ? "-" : catalog.names(ids).joined(separator: ";") }

    func evictions(_ e: [Eviction]) -> String {
        e.isEmpty ? "-" : e.map { ev -> String in
            if case .package(let id) = ev { return "p:" + catalog[id].name }
            return ev.description
        }.joined(separator: ",")
    }

    /// Each zygote's whole package set by id (sorted names, `;`-separated; "" for the root, z0), read back
    /// from a decision log's `plan … create=zID<zPARENT:a;b` fields as `logLine` writes them (a zygote holds
    /// its parent's packages and its own imports).
    public static func zygotePackages(fromLog log: [String]) -> [Int64: String] {
        var t = OutcomeReplay.Tracker()
        var sets: [Int64: String] = [0: ""]
        for line in log where line.hasPrefix("plan ") {
            for z in zygotesCreated(inPlanLine: line.split(separator: " ").first { $0.hasPrefix("create=") }) {
                sets[z.id] = t.zygote(z.id, parent: z.parent, imports: z.imports)
            }
        }
        return sets
    }

    /// The zygotes a plan line's `create=` field (as `logLine` writes it: `create=z3<z1:numpy;scipy,z4<z-:-`,
    /// or `create=-`) asks for: each one's id, parent and own imports, in order. Nil or `-`: none.
    static func zygotesCreated(inPlanLine field: Substring?) -> [(id: Int64, parent: Int64?, imports: [String])] {
        guard let field, field.hasPrefix("create=") else { return [] }
        return field.dropFirst("create=".count).split(separator: ",").compactMap { spec in
            guard spec != "-" else { return nil }
            let parts = spec.split(separator: ":", maxSplits: 1)
            let ids = parts[0].split(separator: "<")
            guard ids.count == 2, let id = Int64(ids[0].dropFirst()) else { return nil }
            let own = parts.count == 2 && parts[1] != "-" ? parts[1].split(separator: ";").map(String.init) : []
            return (id, Int64(ids[1].dropFirst()), own)
        }
    }
}
