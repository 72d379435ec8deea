import XCTest
import CachePolicy
import Statistics
import Workload
import Replay
@testable import Simulation

final class SimulationTests: XCTestCase {
    /// A: 1000 ms download, 2000 install, 100 import; B (needs A): 500, 1000, 50.
    let table = PackageTable([
        Package(name: "a", version: "1", installedBytes: 5 << 20, downloadMillis: 1000, installMillis: 2000, importMillis: 100, importMemoryBytes: 10 << 20),
        Package(name: "b", version: "1", dependencies: ["a"], transitiveDependencies: ["a"], installedBytes: 5 << 20,
                downloadMillis: 500, installMillis: 1000, importMillis: 50, importMemoryBytes: 10 << 20),
    ])
    let handlers = HandlerTable([Handler(id: "h1", customer: "x", packages: ["a"], initMillis: 5, execMillis: 20),
                                 Handler(id: "h2", customer: "y", packages: ["a", "b"], initMillis: 5, execMillis: 20)])
    var runtime: RuntimeCosts {
        var r = RuntimeCosts()
        r.interpreterStartMillis = 10; r.containerCreateMillis = 2; r.forkMillis = 3; r.thawMillis = 0.5
        return r
    }

    func simulate(_ config: PolicyConfig, arrivals: [(Double, String)], cores: Int = 1, noise: Double = 0, seed: UInt64 = 1,
                  table: PackageTable? = nil, handlers: HandlerTable? = nil, popular: [String] = [], queueLimit: Int = .max, runtime: RuntimeCosts? = nil,
                  overlap: ImportOverlap? = nil, configure: (Simulation) -> Void = { _ in },
                  summary: ((SimulationSummary) -> Void)? = nil) throws -> [RequestRecord] {
        let hs = handlers ?? self.handlers
        let dir = NSTemporaryDirectory() + "pipsqueak-sim-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try TraceWriter(path: dir + "/t.csv", handlers: hs)
        for (t, h) in arrivals { w.append(Invocation(arrivalNanos: Nanos.fromSeconds(t), handler: hs.index(of: h)!)) }
        try w.commit()
        let costs = try CostModel(table: table ?? self.table, handlers: hs, runtime: runtime ?? self.runtime, noiseSigma: noise,
                                  overlap: overlap, seed: seed)
        let planner = try Planner(config: config, catalog: costs.catalog(handlers: hs), popularPackages: popular)
        let sim = Simulation(planner: planner, costs: costs, handlers: hs, cores: cores, seed: seed)
        sim.checkInvariants = true
        sim.queueLimit = queueLimit
        configure(sim)
        var out: [RequestRecord] = []
        sim.lifecycle.onRecord = { out.append($0) }
        let s = try sim.run(try TraceReader(path: dir + "/t.csv", handlers: hs))
        summary?(s)
        return out.sorted { $0.request < $1.request }
    }

    let trace: [(Double, String)] = [(0, "h1"), (10, "h1"), (20, "h2"), (30, "h2"), (40, "h1")]

    func latencies(_ preset: String, _ edit: (inout PolicyConfig) -> Void = { _ in }) throws -> [Double] {
        var c = PolicyConfig.presets[preset]!
        edit(&c)
        return try simulate(c, arrivals: trace).map { Nanos.millis($0.latencyNanos) }
    }

    /// The import overlap of the two packages: the worker preloads json; a's import spent 20% of its time in
    /// re and 10% in typing; b's 20% in re and 10% in json.
    var overlap: ImportOverlap {
        var o = ImportOverlap()
        o.worker = .init(version: "", tracedMillis: 1, modules: [("json", 1)])
        o.packages["a"] = .init(version: "1", tracedMillis: 10, modules: [("re", 2), ("typing", 1)])
        o.packages["b"] = .init(version: "1", tracedMillis: 10, modules: [("re", 2), ("json", 1)])
        return o
    }

    /// A package's import is charged only for the standard-library modules not loaded yet: by the worker
    /// (json), by a package imported before it in the same start, or by the zygote it forks from.
    func testImportsAreChargedOnlyForModulesNotYetLoaded() throws {
        // Cold h2 with no cache: a 100 (nothing of it loaded), then b 50 - re 10 (a loaded it) - json 5
        // (the worker did) = 35: 135 in all, against 150 without the overlap.
        let none = try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h2")], overlap: overlap)
        XCTAssertEqual(Nanos.millis(none[0].importNanos), 135, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h2")])[0].importNanos), 150, accuracy: 1e-6)
        // h1's a alone pays in full (none of its modules is the worker's).
        XCTAssertEqual(Nanos.millis(try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h1")], overlap: overlap)[0].importNanos), 100, accuracy: 1e-6)
        // The planner's own estimates use the same rule: a zygote holding a and b saves 135 ms of imports.
        let costs = try CostModel(table: table, handlers: handlers, runtime: runtime, overlap: overlap, seed: 1)
        let c = costs.catalog(handlers: handlers)
        let a = c.id(of: "a")!, b = c.id(of: "b")!
        XCTAssertEqual(Nanos.millis(c.importNanos([a, b], on: nil)), 135, accuracy: 1e-6)
        // On top of a zygote that holds a, b costs 35; on the root zygote (only the worker's modules), 45.
        XCTAssertEqual(Nanos.millis(c.importNanos([b], on: c.set([a]))), 35, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(c.importNanos([b], on: c.emptySet())), 45, accuracy: 1e-6)
        // An estimated package (no measured version) or one missing from the overlap is charged in full.
        var o = overlap
        o.packages["b"] = nil
        let c2 = try CostModel(table: table, handlers: handlers, runtime: runtime, overlap: o, seed: 1).catalog(handlers: handlers)
        XCTAssertEqual(Nanos.millis(c2.importNanos([a, b], on: nil)), 150, accuracy: 1e-6)
    }

    /// The calibrated share of the overlap's saving (`import_overlap_credit`) scales what the simulator
    /// charges, not the planner's estimates: cold h2 saves 15 ms by the overlap (135 against 150), so 142.5 at
    /// half the credit and 150 at none; the catalog still says 135.
    func testTheOverlapCreditScalesTheSavingTheSimulatorCharges() throws {
        for (credit, charged) in [(1.0, 135.0), (0.5, 142.5), (0.0, 150.0)] {
            var r = runtime
            r.importOverlapCredit = credit
            let rs = try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h2")], runtime: r, overlap: overlap)
            XCTAssertEqual(Nanos.millis(rs[0].importNanos), charged, accuracy: 1e-6, "credit \(credit)")
        }
        var r = runtime
        r.importOverlapCredit = 0
        let c = try CostModel(table: table, handlers: handlers, runtime: r, overlap: overlap, seed: 1).catalog(handlers: handlers)
        XCTAssertEqual(Nanos.millis(c.importNanos([c.id(of: "a")!, c.id(of: "b")!], on: nil)), 135, accuracy: 1e-6)
    }

    /// `served_import_scale` (calibrated: a set's import in a request's container forked from the root zygote
    /// over a fresh interpreter's) stretches the imports of a start forked from a zygote, not a cold start's
    /// (a fresh interpreter), nor the planner's estimates.
    func testTheServedImportScaleStretchesForkedStartsImportsOnly() throws {
        var r = runtime
        r.servedImportScale = 1.5
        var forked = PolicyConfig.presets["all"]!
        forked.handlerCache.enabled = false
        let f = try simulate(forked, arrivals: [(0, "h1")], runtime: r)
        XCTAssertEqual(f[0].tier, .import)
        XCTAssertEqual(f[0].zygote, 0, "forked from the root")
        XCTAssertEqual(Nanos.millis(f[0].importNanos), 150, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(try simulate(forked, arrivals: [(0, "h1")])[0].importNanos), 100, accuracy: 1e-6, "1: as the table")
        let cold = try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h1")], runtime: r)
        XCTAssertEqual(cold[0].tier, .cold)
        XCTAssertEqual(Nanos.millis(cold[0].importNanos), 100, accuracy: 1e-6)
        let c = try CostModel(table: table, handlers: handlers, runtime: r, seed: 1).catalog(handlers: handlers)
        XCTAssertEqual(Nanos.millis(c.importNanos([c.id(of: "a")!], on: nil)), 100, accuracy: 1e-6)
    }

    /// Contention beyond the cores' sharing (`import_contention`, `install_contention`: calibrated with every
    /// core starting at once) stretches a start's imports and installs by the share of the other cores busy
    /// at its start: on two cores, h1 alone pays a's install and import as they are; a second start beside it
    /// pays 1.5× (the first still runs); nothing changes where nothing runs beside.
    func testContentionStretchesImportsAndInstallsBesideOtherStarts() throws {
        var r = runtime
        r.importContention = 1.5; r.installContention = 1.2
        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["a"], initMillis: 5, execMillis: 20),
                               Handler(id: "h3", customer: "z", packages: ["a"], initMillis: 5, execMillis: 20)])
        var c = PolicyConfig.presets["none"]!
        c.installCache.enabled = false
        let rs = try simulate(c, arrivals: [(0, "h1"), (0.001, "h3")], cores: 2, handlers: hs, runtime: r)
        XCTAssertEqual(Nanos.millis(rs[0].importNanos), 100, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(rs[0].installNanos), 2000, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(rs[1].importNanos), 150, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(rs[1].installNanos), 2400, accuracy: 1e-6)
        let alone = try simulate(c, arrivals: [(0, "h1"), (10, "h3")], cores: 2, handlers: hs, runtime: r)
        XCTAssertEqual(Nanos.millis(alone[1].importNanos), 100, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(alone[1].installNanos), 2000, accuracy: 1e-6)
    }

    /// `importScale` (compare's import speed probe) multiplies every measured import cost, in the simulator's
    /// charges and in the planner's catalog alike.
    func testImportScaleMultipliesImports() throws {
        let scaled = try CostModel(table: table, handlers: handlers, runtime: runtime, importScale: 1.5, seed: 1)
        XCTAssertEqual(scaled.packages["a"]!.importMillis, 150, accuracy: 1e-9)
        XCTAssertEqual(scaled.packages["a"]!.installMillis, 2000, accuracy: 1e-9, "installs as measured")
        let c = scaled.catalog(handlers: handlers)
        XCTAssertEqual(Nanos.millis(c.importNanos([c.id(of: "a")!, c.id(of: "b")!], on: nil)), 225, accuracy: 1e-6)
    }

    /// With a calibrated mirror a download is its fixed cost per wheel plus the wheel's bytes over the
    /// mirror's throughput (5 MB at 500 MB/s: 10 ms, + 0.6), not the table's fetch from the index; without
    /// the fixed cost (files calibrated before it), the bytes alone; without a mirror, the table's.
    func testADownloadFromTheMirrorIsAFixedCostPlusItsBytes() throws {
        let t = PackageTable([Package(name: "a", version: "1", wheelBytes: 5 << 20, installedBytes: 5 << 20, downloadMillis: 1000, installMillis: 2000,
                                      importMillis: 100, importMemoryBytes: 10 << 20)])
        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["a"])])
        var r = runtime
        XCTAssertEqual(try CostModel(table: t, handlers: hs, runtime: r, seed: 1).packages["a"]!.downloadMillis, 1000, accuracy: 1e-9)
        r.mirrorMBPerSecond = 500
        XCTAssertEqual(try CostModel(table: t, handlers: hs, runtime: r, seed: 1).packages["a"]!.downloadMillis, 10, accuracy: 1e-9)
        r.downloadOverheadMillis = 0.6
        XCTAssertEqual(try CostModel(table: t, handlers: hs, runtime: r, seed: 1).packages["a"]!.downloadMillis, 10.6, accuracy: 1e-9)
        // The row is written and read back.
        let path = NSTemporaryDirectory() + "pipsqueak-costs-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try r.write(path: path, comments: [])
        XCTAssertEqual(try RuntimeCosts.read(path: path).downloadOverheadMillis, 0.6, accuracy: 1e-9)
    }

    /// An install is the calibrated overhead plus the scale times the table's install_ms (the planners'
    /// catalog is built from the same packages); the row round-trips; a file without it charges the table's
    /// figure as it is.
    func testAnInstallIsTheFittedOverheadPlusTheScaledTableFigure() throws {
        let t = PackageTable([Package(name: "a", version: "1", installMillis: 1000)])
        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["a"])])
        var r = runtime
        r.installOverheadMillis = 550; r.installScale = 0.9
        XCTAssertEqual(try CostModel(table: t, handlers: hs, runtime: r, seed: 1).packages["a"]!.installMillis, 1450, accuracy: 1e-9) // 550 + 0.9 × 1000
        let path = NSTemporaryDirectory() + "pipsqueak-costs-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try r.write(path: path, comments: [])
        XCTAssertEqual(try RuntimeCosts.read(path: path).installScale, 0.9, accuracy: 1e-9)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try (text.split(separator: "\n").filter { !$0.hasPrefix("install_scale,") }.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RuntimeCosts.read(path: path).installScale, 1)
    }

    /// Each package's install as calibrate timed it (rows `installed_ms:NAME`) round-trips; a row with no
    /// name is an error naming the line; a simulated install is charged `installCharge` times the catalog's
    /// figure (compare's install probe), while the planner's estimate keeps it.
    func testCalibratedInstallsRoundTripAndTheInstallChargeScalesSimulatedInstalls() throws {
        var r = runtime
        r.installedMillis = ["pandas": 6769.5, "numpy": 1800]
        let path = NSTemporaryDirectory() + "pipsqueak-costs-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try r.write(path: path, comments: [])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssert(text.contains("\ninstalled_ms:numpy,1800.0000,ms,,,,,,,,\ninstalled_ms:pandas,6769.5000,ms,,,,,,,,\n"), text)
        XCTAssertEqual(try RuntimeCosts.read(path: path).installedMillis, r.installedMillis)
        try (text + "installed_ms:,5,ms,,,,,,,,\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: path)) { XCTAssert("\($0)".contains(":\(text.split(separator: "\n").count + 1): 'installed_ms:': expected a package's name"), "\($0)") }
        // h1 cold with nothing installed: download 1000 + install 2000 (a's), charged twice: 4000.
        let c = PolicyConfig.presets["none"]!
        XCTAssertEqual(try simulate(c, arrivals: [(0, "h1")]).map { Nanos.millis($0.installNanos) }, [2000])
        XCTAssertEqual(try simulate(c, arrivals: [(0, "h1")]) { $0.installCharge = 2 }.map { Nanos.millis($0.installNanos) }, [4000])
        // A package calibrate installed is charged what it took then, not the fitted line; others the line.
        let t = PackageTable([Package(name: "pandas", version: "1", installMillis: 1000), Package(name: "b", version: "1", installMillis: 1000)])
        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["pandas", "b"])])
        r.installOverheadMillis = 550; r.installScale = 0.9
        let m = try CostModel(table: t, handlers: hs, runtime: r, seed: 1)
        XCTAssertEqual(m.packages["pandas"]!.installMillis, 6769.5, accuracy: 1e-9)
        XCTAssertEqual(m.packages["b"]!.installMillis, 1450, accuracy: 1e-9)
        let cat = m.catalog(handlers: hs)
        XCTAssertEqual(cat.installNanos[Int(try XCTUnwrap(cat.id(of: "pandas")))], Nanos.fromMillis(6769.5), "the planners' figure too")
    }

    /// Each package's import as calibrate timed it again (rows `imported_ms:NAME`) round-trips, and is what
    /// the cost model (the simulator's and both planners' catalog) charges instead of the table's import_ms,
    /// times the import scale (compare's speed probe); other packages keep the table's, scaled.
    func testCalibratedImportsRoundTripAndReplaceTheTablesImport() throws {
        var r = runtime
        r.importedMillis = ["pandas": 290.5, "numpy": 101]
        let path = NSTemporaryDirectory() + "pipsqueak-costs-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try r.write(path: path, comments: [])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssert(text.contains("\nimported_ms:numpy,101.0000,ms,,,,,,,,\nimported_ms:pandas,290.5000,ms,,,,,,,,\n"), text)
        XCTAssertEqual(try RuntimeCosts.read(path: path).importedMillis, r.importedMillis)
        try (text + "imported_ms:,5,ms,,,,,,,,\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: path)) { XCTAssert("\($0)".contains(":\(text.split(separator: "\n").count + 1): 'imported_ms:': expected a package's name"), "\($0)") }
        try (text + "imported_ms:numpy,-1,ms,,,,,,,,\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: path))
        let t = PackageTable([Package(name: "pandas", version: "1", importMillis: 170), Package(name: "b", version: "1", importMillis: 40)])
        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["pandas", "b"])])
        let m = try CostModel(table: t, handlers: hs, runtime: r, importScale: 2, seed: 1)
        XCTAssertEqual(m.packages["pandas"]!.importMillis, 581, accuracy: 1e-9, "calibrate's 290.5 × the scale 2")
        XCTAssertEqual(m.packages["b"]!.importMillis, 80, accuracy: 1e-9, "the table's 40 × 2")
        let cat = m.catalog(handlers: hs)
        XCTAssertEqual(cat.importNanos[Int(try XCTUnwrap(cat.id(of: "pandas")))], Nanos.fromMillis(581), "the planners' figure too")
    }

    /// The calibrated memory rows: `import_memory_scale` scales every package's import memory (the planner's
    /// model of containers and zygotes alike), a container forked from a zygote holds `fork_memory_mb` where a
    /// cold one holds an interpreter, and a handler's memory costs its init `memory_touch_ms_per_mb` per MB
    /// (the generated handlers write every page of it). Files without the rows: as before (1, 0, 0).
    func testTheMemoryRowsScaleImportMemoryForkMemoryAndTheTouchOfHeldMemory() throws {
        var r = runtime
        r.importMemoryScale = 0.5; r.forkMemoryMB = 1.5; r.memoryTouchMillisPerMB = 0.25; r.interpreterMemoryMB = 6
        let path = NSTemporaryDirectory() + "pipsqueak-costs-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try r.write(path: path, comments: [])
        let back = try RuntimeCosts.read(path: path)
        XCTAssertEqual(back.importMemoryScale, 0.5); XCTAssertEqual(back.forkMemoryMB, 1.5); XCTAssertEqual(back.memoryTouchMillisPerMB, 0.25)
        XCTAssertEqual(RuntimeCosts().importMemoryScale, 1); XCTAssertEqual(RuntimeCosts().forkMemoryMB, 0); XCTAssertEqual(RuntimeCosts().memoryTouchMillisPerMB, 0)
        try "primitive,value,unit\nimport_memory_scale,0,x\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: path)) { XCTAssert("\($0)".contains(":2:"), "\($0)") }

        let hs = HandlerTable([Handler(id: "h1", customer: "x", packages: ["a"], initMillis: 5, execMillis: 20, memoryBytes: 8 << 20),
                               Handler(id: "h2", customer: "y", packages: ["a", "b"], initMillis: 5, execMillis: 20, memoryBytes: 8 << 20)])
        let m = try CostModel(table: table, handlers: hs, runtime: r, seed: 1)
        XCTAssertEqual(m.packages["a"]!.importMemoryBytes, 5 << 20, "the table's 10 MB × 0.5")
        let cat = m.catalog(handlers: hs)
        XCTAssertEqual(cat.memoryBytes[Int(try XCTUnwrap(cat.id(of: "b")))], 5 << 20)
        XCTAssertEqual(cat.forkMemoryBytes, Bytes.fromMB(1.5))
        // The planner's model of each container: a fork from the root holds fork memory, its imports (scaled)
        // and the handler's own; a cold one an interpreter instead of the fork's.
        let forked = try Planner(config: PolicyConfig.presets["all"]!, catalog: cat, popularPackages: [])
        let fp = forked.plan(handler: 1, now: 0)
        XCTAssertEqual(fp.zygote, 0)
        XCTAssertEqual(forked.modeledMemoryBytes(container: fp.container), Bytes.fromMB(1.5) + (10 << 20) + (8 << 20) + cat.containerMemoryBytes)
        let cold = try Planner(config: PolicyConfig.presets["none"]!, catalog: cat, popularPackages: [])
        let cp = cold.plan(handler: 1, now: 0)
        XCTAssertNil(cp.zygote)
        XCTAssertEqual(cold.modeledMemoryBytes(container: cp.container), Bytes.fromMB(6) + (10 << 20) + (8 << 20) + cat.containerMemoryBytes)
        // The init of a start pays the touch of the handler's 8 MB; a handler-cache hit runs no init.
        var c = PolicyConfig.presets["all"]!
        c.importCache.enabled = false
        let rs = try simulate(c, arrivals: [(0, "h1"), (10, "h1")], handlers: hs, runtime: r)
        XCTAssertEqual(rs[0].tier, .cold)
        XCTAssertEqual(Nanos.millis(rs[0].initNanos), 5 + 8 * 0.25, accuracy: 1e-6)
        XCTAssertEqual(rs[1].tier, .handler)
        XCTAssertEqual(rs[1].initNanos, 0)
        XCTAssertEqual(Nanos.millis(try simulate(c, arrivals: [(0, "h1")], handlers: hs)[0].initNanos), 5, accuracy: 1e-6, "not modeled: the trace's init alone")
    }

    /// With the cores held (`--cpu-model hold`), the calibrated dispatch (core time per request beyond its
    /// phases, the HTTP server and client) holds the core after each request: the next one waits for it, its
    /// own latency does not include it, and the load counts it.
    func testDispatchHoldsTheCoreAfterEachRequest() throws {
        var r = runtime
        r.dispatchMillis = 10
        var loads: [Double] = []
        let h = try simulate(PolicyConfig.presets["h"]!, arrivals: [(0, "h1"), (10, "h1"), (10, "h1")], runtime: r, configure: { $0.cpuModel = .hold }) { loads.append($0.offeredLoad ?? -1) }
        // Request 2 is a hit (20.5 ms) at 10 s; request 3 arrives with it and, one core, waits for it and
        // its dispatch: 20.5 + 10 ms.
        XCTAssertEqual(Nanos.millis(h[1].latencyNanos), 20.5, accuracy: 1e-6, "a request's latency has no dispatch in it")
        XCTAssertEqual(Nanos.millis(h[2].queueNanos), 30.5, accuracy: 1e-6, "the next waits for the request and its dispatch")
        var none = runtime
        none.dispatchMillis = 0
        let h0 = try simulate(PolicyConfig.presets["h"]!, arrivals: [(0, "h1"), (10, "h1"), (10, "h1")], runtime: none)
        XCTAssertEqual(Nanos.millis(h0[2].queueNanos), 20.5, accuracy: 1e-6)
        // The load: time on the core (start to end, plus 10 ms each) over the arrivals' span (10 s), one core.
        let busy = h.map { Nanos.millis($0.endNanos - $0.startNanos) + 10 }.reduce(0, +)
        XCTAssertEqual(loads[0], busy / 10_000, accuracy: 1e-9)
    }

    /// With the cores shared (the default), a request frees its core when it ends and its dispatch runs
    /// beside the next one as one more runnable job. Worked by hand, one core, dispatch 10 ms: request 2, a
    /// hit (thaw 0.5 + exec 20), ends at 10 s + 20.5 ms; request 3, arrived with it, starts then (queue 20.5)
    /// and shares the core with that dispatch: both at half speed until the dispatch's 10 ms are done (20 ms
    /// later, request 3 10 ms into its 20.5), then alone for its last 10.5: 30.5 ms from start to end. The
    /// hand-off to a core's thread (`handoff_ms`) comes before a request's phases, in its queue time.
    func testSharedCoresRunTheDispatchBesideTheNextRequest() throws {
        var r = runtime
        r.dispatchMillis = 10
        let arrivals: [(Double, String)] = [(0, "h1"), (10, "h1"), (10, "h1")]
        let h = try simulate(PolicyConfig.presets["h"]!, arrivals: arrivals, runtime: r)
        XCTAssertEqual(Nanos.millis(h[1].latencyNanos), 20.5, accuracy: 1e-5, "a request's latency has no dispatch in it")
        XCTAssertEqual(Nanos.millis(h[2].queueNanos), 20.5, accuracy: 1e-5, "the core is free when the request ends")
        XCTAssertEqual(Nanos.millis(h[2].startupNanos), 30.5, accuracy: 1e-5, "its dispatch shares the core with the next")
        // Its phases took 30.5/20.5 as long as their work, and add up to its time on the core.
        let rec = h[2]
        XCTAssertEqual(Nanos.millis(rec.createNanos), 0.5 * 30.5 / 20.5, accuracy: 1e-5)
        XCTAssertEqual(rec.createNanos + rec.execNanos, rec.endNanos - rec.startNanos)
        // The earlier model holds the core for the dispatch: the next waits for both.
        let held = try simulate(PolicyConfig.presets["h"]!, arrivals: arrivals, runtime: r) { $0.cpuModel = .hold }
        XCTAssertEqual(Nanos.millis(held[2].queueNanos), 30.5, accuracy: 1e-5)
        XCTAssertEqual(Nanos.millis(held[2].startupNanos), 20.5, accuracy: 1e-5)
        // A 1 ms hand-off: in the queue time, before the phases, the core taken.
        r.handoffMillis = 1
        let ho = try simulate(PolicyConfig.presets["h"]!, arrivals: arrivals, runtime: r)
        XCTAssertEqual(Nanos.millis(ho[1].queueNanos), 1, accuracy: 1e-5)
        XCTAssertEqual(Nanos.millis(ho[1].latencyNanos), 21.5, accuracy: 1e-5)
        XCTAssertEqual(Nanos.millis(ho[2].queueNanos), 21.5 + 1, accuracy: 1e-5)
    }

    /// The dispatch's weight (`dispatch_weight`, calibrated) below 1: it takes less than an equal share from
    /// a request beside it. Worked by hand as above (one core, dispatch 10 ms, request 3's 20.5 ms of work
    /// beside request 2's dispatch): at weight 0.25 the request runs at 1/1.25 = 0.8 of the core and the
    /// dispatch at 0.2, so the request's 20.5 take 25.625 ms (the dispatch, 5.125 of its 10 done, then runs
    /// alone); at 0 the dispatch gets the core only when no request wants it (20.5 ms); at 1 as above (30.5).
    func testAWeightedDispatchTakesLessThanAnEqualShare() throws {
        var r = runtime
        r.dispatchMillis = 10
        let arrivals: [(Double, String)] = [(0, "h1"), (10, "h1"), (10, "h1")]
        for (w, startup) in [(0.25, 25.625), (0, 20.5), (1, 30.5)] {
            r.dispatchWeight = w
            let h = try simulate(PolicyConfig.presets["h"]!, arrivals: arrivals, runtime: r)
            XCTAssertEqual(Nanos.millis(h[2].queueNanos), 20.5, accuracy: 1e-5, "weight \(w)")
            XCTAssertEqual(Nanos.millis(h[2].startupNanos), startup, accuracy: 1e-5, "weight \(w)")
        }
    }

    /// Weighted sharing never gives a job more than a core: with the requests' weight and the dispatch's
    /// under the cores, the requests run at full speed and the dispatch jobs share what is left. Two cores,
    /// weight 0.25, a request of 10 ms and three dispatches of 3 ms: 1.75 of weight, so the request gets a
    /// core and the dispatches a third of the other each, done at 9 ms; the request at 10. Then three
    /// requests and a dispatch: 3.25 of weight on two cores, the requests at 2/3.25 each, the dispatch at
    /// 0.5/3.25.
    func testWeightedSharingGivesNoJobMoreThanACore() {
        var ps = ProcessorSharing(cores: 2, dispatchWeight: 0.25)
        ps.add(.request(0), work: 10_000_000, now: 0)
        for _ in 0..<3 { ps.add(.dispatch, work: 3_000_000, now: 0) }
        XCTAssertEqual(ps.nextEnd(now: 0), 9_000_000)
        XCTAssertEqual(ps.takeDone(now: 9_000_000).map(\.owner), [.dispatch, .dispatch, .dispatch])
        XCTAssertEqual(ps.nextEnd(now: 9_000_000), 10_000_000)
        XCTAssertEqual(ps.takeDone(now: 10_000_000).map(\.owner), [.request(0)])
        for i in 1...3 { ps.add(.request(Int32(i)), work: 2_000_000, now: 10_000_000) }
        ps.add(.dispatch, work: 1_000_000, now: 10_000_000)
        XCTAssertEqual(ps.rates.full, 2 / 3.25, accuracy: 1e-12)
        XCTAssertEqual(ps.rates.dispatch, 0.5 / 3.25, accuracy: 1e-12)
        // The requests' 2 ms at 2/3.25: 3.25 ms, before the dispatch's 1 ms at 0.5/3.25 (6.5 ms).
        XCTAssertEqual(ps.nextEnd(now: 10_000_000), 13_250_000)
    }

    /// The builder shares the cores with the requests, re-timed as work comes and goes. Worked by hand (two
    /// cores, a and c import in 100 ms): ha and hc start at 0 and end at 130 (create 2 + fork 3 + import 100
    /// + init 5 + exec 20). Then the builder takes {a} (fork 3 + import 100 = 103 of work) and the two requests
    /// waiting since 1 ms start (130 of work each): three jobs on two cores, each at 2/3 speed. {a} is done
    /// 154.5 ms later (284.5), the requests 103 into theirs; the builder takes {c} and the three share the
    /// cores again until the requests' last 27 are done 40.5 ms later (325: latency 324); {c} then runs
    /// alone, 27 of its 103 done: ready at 401 (a build of 116.5 ms).
    func testSharedCoresReTimeTheBuilderAndTheRequests() throws {
        let (t, hs, c) = twoInstalledPackages
        let arrivals: [(Double, String)] = [(0, "ha"), (0, "hc"), (0.001, "ha"), (0.001, "hc")]
        var builds: [Int64] = []
        var created = 0
        let r = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs, summary: { s in
            builds = [s.zygoteBuilds.min, s.zygoteBuilds.max]; created = s.zygotesCreated
        })
        for (x, y) in zip(r.map { Nanos.millis($0.latencyNanos) }, [130.0, 130, 324, 324]) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        for (x, y) in zip(r.map { Nanos.millis($0.importNanos) }, [100.0, 100, 150, 150]) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        // Each start's work on a core, before the sharing stretched it: the imports' 100 ms and the init's 5.
        XCTAssertEqual(r.map { $0.importCPUNanos.map(Nanos.millis) }, [100, 100, 100, 100])
        XCTAssertEqual(r.map { $0.initCPUNanos.map(Nanos.millis) }, [5, 5, 5, 5])
        // Until ready (create 2, fork 3, imports 100, init 5): 110 ms of work; the last two, at 2/3 speed
        // throughout, waited for a core for half as long again.
        XCTAssertEqual(r.map { $0.readyCPUNanos.map(Nanos.millis) }, [110, 110, 110, 110])
        let waits: [Double] = r.map { rec in rec.readyWaitNanos.map { Nanos.millis($0) } ?? -1 }
        for (x, y) in zip(waits, [0.0, 0, 55, 55]) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        XCTAssertEqual(Nanos.millis(builds[0]), 116.5, accuracy: 1e-5)
        XCTAssertEqual(Nanos.millis(builds[1]), 154.5, accuracy: 1e-5)
        XCTAssertEqual(created, 2)
    }

    /// a and c: nothing to install (download and install free), 100 ms imports each; ha imports a, hc imports c
    /// (init 5, exec 20); `all` without the handler cache, a zygote built for a package's first request.
    var twoInstalledPackages: (PackageTable, HandlerTable, PolicyConfig) {
        let t = PackageTable([
            Package(name: "a", version: "1", installedBytes: 5 << 20, downloadMillis: 0, installMillis: 0, importMillis: 100, importMemoryBytes: 10 << 20),
            Package(name: "c", version: "1", installedBytes: 5 << 20, downloadMillis: 0, installMillis: 0, importMillis: 100, importMemoryBytes: 10 << 20),
        ])
        let hs = HandlerTable([Handler(id: "ha", customer: "x", packages: ["a"], initMillis: 5, execMillis: 20),
                               Handler(id: "hc", customer: "y", packages: ["c"], initMillis: 5, execMillis: 20)])
        var c = PolicyConfig.presets["all"]!
        c.handlerCache.enabled = false; c.importCache.threshold = 1
        return (t, hs, c)
    }

    /// Zygotes are built one after another by one builder beside the cores, as the real worker's one
    /// maintenance thread builds them; while it builds with every core running a request, three things run
    /// on two cores and installs and imports (the requests' and the build's) take 3/2 as long. The cores held
    /// (`--cpu-model hold`: each phase stretched once, at its start, by what runs then).
    func testZygotesAreBuiltAfterTheRequestOneAfterAnotherBesideTheCores() throws {
        let (t, hs, c) = twoInstalledPackages
        let arrivals: [(Double, String)] = [(0, "ha"), (0, "hc"), (0.200, "ha"), (0.200, "hc"), (0.400, "hc")]
        // At 0 ha and hc start on the two cores, nothing else running: imports 100 each, both done at 130
        // (create 2 + fork 3 + import 100 + init 5 + exec 20). Then, as the real worker does, the builder
        // gets the zygotes their plans asked for: {a} from 130 (fork 3 + import 100, ready at 233), {c} after
        // it (one builder), ready at 336. At 200 {a} is not ready: ha forks the root and imports a beside
        // the busy builder (two things on two cores: 100); hc too, with ha and the builder running (three on
        // two cores: 150). At 400, {c} is there. Building at a request's start would have had {a} at 103.
        let r = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs) { $0.cpuModel = .hold }
        XCTAssertEqual(r.map(\.tier), [.import, .import, .import, .import, .import])
        XCTAssertEqual(r.map { Nanos.millis($0.importNanos) }, [100, 100, 100, 150, 0])
        XCTAssertEqual(r.map(\.zygote), [0, 0, 0, 0, 2])
        // Without the oversubscription model imports are as measured.
        let alone = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs) { $0.cpuModel = .hold; $0.modelsOversubscription = false }
        XCTAssertEqual(alone.map { Nanos.millis($0.importNanos) }, [100, 100, 100, 100, 0])
        // Imports charged twice the catalog's cost (compare: the machine imported slower over the run than
        // when the planners' estimates were fixed): the requests end at 230, {c} is ready at 636, not by 400.
        let slow = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs) { $0.cpuModel = .hold; $0.modelsOversubscription = false; $0.importCharge = 2 }
        XCTAssertEqual(slow.map { Nanos.millis($0.importNanos) }, [200, 200, 200, 200, 200])
    }

    /// A build that starts while requests wait for a core shares the cores with them for its whole length: the
    /// request that asked for it hands its core to the next one waiting (a burst of first requests, as in the
    /// microbenchmark's start). Worked by hand: a and c import in 100 ms; ha and hc start at 0 on the two cores
    /// and end at 130; two more wait from 1 ms. At 130 ha is done and the builder takes {a} up with hc still
    /// running and two waiting: both cores stay busy beside it, three things on two cores, fork 3 + import
    /// 150 = 153 (the snapshot of what runs, hc alone, gave 103). {c}, asked for by hc at 130 with one
    /// request running and one waiting, too (after {a}: ready at 436). The two waiting requests start at 130
    /// and import, init and execute beside the busy builder: create 2 + fork 3 + 150 + 7.5 + 30, ending at 322.5 (latency 321.5).
    /// The cores held (`--cpu-model hold`); shared: `testSharedCoresReTimeTheBuilderAndTheRequests`.
    func testABuildBesideWaitingRequestsSharesTheCoresWithThem() throws {
        let (t, hs, c) = twoInstalledPackages
        let arrivals: [(Double, String)] = [(0, "ha"), (0, "hc"), (0.001, "ha"), (0.001, "hc")]
        var builds: (count: UInt64, min: Int64, max: Int64) = (0, 0, 0)
        let r = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs, configure: { $0.cpuModel = .hold }) {
            builds = ($0.zygoteBuilds.count, $0.zygoteBuilds.min, $0.zygoteBuilds.max)
        }
        XCTAssertEqual(r.map { Nanos.millis($0.importNanos) }, [100, 100, 150, 150])
        XCTAssertEqual(r.map { Nanos.millis($0.latencyNanos) }, [130, 130, 321.5, 321.5])
        XCTAssertEqual(builds.count, 2)
        XCTAssertEqual(Nanos.millis(builds.min), 153, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(builds.max), 153, accuracy: 1e-6)
        // Nothing waiting: the build starts with hc running alone beside it and takes 103.
        var alone: Int64 = 0
        _ = try simulate(c, arrivals: [(0, "ha"), (0, "hc")], cores: 2, table: t, handlers: hs, configure: { $0.cpuModel = .hold }) { alone = $0.zygoteBuilds.max }
        XCTAssertEqual(Nanos.millis(alone), 103, accuracy: 1e-6)
    }

    /// One package (import 100 ms), four handlers of it, no handler cache, zygotes made on first sight, and
    /// the standby children's costs: a direct fork 20, the maintenance thread's 4 per child, ready 10 after
    /// being asked for, a pooled cgroup 1.
    var standbyScenario: (PackageTable, HandlerTable, PolicyConfig, RuntimeCosts) {
        let t = PackageTable([Package(name: "a", version: "1", installedBytes: 5 << 20, downloadMillis: 0, installMillis: 0, importMillis: 100, importMemoryBytes: 10 << 20)])
        let hs = HandlerTable((1...4).map { Handler(id: "h\($0)", customer: "x", packages: ["a"], initMillis: 5, execMillis: 20) })
        var c = PolicyConfig.presets["all"]!
        c.handlerCache.enabled = false; c.importCache.threshold = 1
        var rt = runtime
        rt.directForkMillis = 20; rt.standbyPrepMillis = 4; rt.standbyReadyMillis = 10; rt.cgroupCreateMillis = 1
        return (t, hs, c, rt)
    }

    /// Standby children, worked out by hand: a fork from one costs `forkMillis` (and waits for one not yet in
    /// its group); with none, the zygote forks on the request's path (`directForkMillis`); the maintenance
    /// thread replaces each one used, after the request, one after another with the zygote builds.
    func testForksTakeStandbyChildrenThatTheBuilderReplaces() throws {
        let (t, hs, c, rt) = standbyScenario
        let arrivals: [(Double, String)] = [(0, "h1"), (0, "h2"), (0.244, "h3"), (0.244, "h4")]
        // The root zygote has its one standby child at start-up. At 0, h1 takes it (fork 3; create 2, import
        // 100, init 5, exec 20: ends at 130); h2 finds none: direct fork 20, ends at 147. After h1 the builder
        // builds {a} (fork 3 + import 100: ready at 233), then gives the root (id 0) a standby child (4 ms of
        // the builder, ready 10 ms after asking: in the list at 237, ready at 243) and a pooled cgroup (1),
        // then {a} one (in the list at 242, ready at 248; free at 243); after h2, the pooled cgroup h2 took
        // (free at 244). At 244 h3 forks {a}'s standby child at 246 and waits for it until 248 (fork 3 + 2);
        // h4 finds none: 20.
        let r = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs, runtime: rt) { $0.standbysPerZygote = 1 }
        XCTAssertEqual(r.map(\.tier), [.import, .import, .import, .import])
        XCTAssertEqual(r.map(\.zygote), [0, 0, 1, 1])
        XCTAssertEqual(r.map { Nanos.millis($0.forkNanos) }, [3, 20, 5, 20])
        XCTAssertEqual(r.map { Nanos.millis($0.latencyNanos) }, [130, 147, 32, 47])
        // Two standby children per zygote (a worker of two cores): both requests at 0 take one of the root's.
        let two = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs, runtime: rt) { $0.standbysPerZygote = 2 }
        XCTAssertEqual(two.prefix(2).map { Nanos.millis($0.forkNanos) }, [3, 3])
        // A cost model without `direct_fork_ms` (calibrated before standby children were measured): every
        // fork costs `forkMillis`.
        let none = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs) { $0.standbysPerZygote = 1 }
        XCTAssertEqual(none.map { Nanos.millis($0.forkNanos) }, [3, 3, 3, 3])
    }

    /// A cgroup join after a quiet spell waits `cgroup_attach_wait_ms` more; one within
    /// `cgroup_attach_window_ms` of the last join's end does not; not modeled (0) it never does.
    func testACgroupJoinAfterAQuietSpellWaits() throws {
        var rt = runtime
        rt.cgroupAttachWaitMillis = 8; rt.cgroupAttachWindowMillis = 20
        func sim(_ rt: RuntimeCosts) throws -> Simulation {
            let costs = try CostModel(table: table, handlers: handlers, runtime: rt, seed: 1)
            return Simulation(planner: try Planner(config: PolicyConfig.presets["all"]!, catalog: costs.catalog(handlers: handlers)),
                              costs: costs, handlers: handlers, cores: 2, seed: 1)
        }
        let s = try sim(rt)
        // The first join waits (it ends at 8 ms); 5 ms later, within the window: none; 30 ms after that one: again.
        XCTAssertEqual([0, 13, 43, 44].map { Nanos.millis(s.attachWait(at: Nanos.fromMillis($0))) }, [8, 0, 8, 0])
        XCTAssertEqual(try sim(runtime).attachWait(at: 0), 0)
    }

    /// The standby scenario above with joins that wait after a quiet spell: h2's fork with no standby child is
    /// the first join (20 + 8); h4's comes right after the builder's joins for the standby children (20).
    func testADirectForkAfterAQuietSpellWaitsForTheJoin() throws {
        let (t, hs, c, scenario) = standbyScenario
        var rt = scenario
        rt.cgroupAttachWaitMillis = 8; rt.cgroupAttachWindowMillis = 20
        let arrivals: [(Double, String)] = [(0, "h1"), (0, "h2"), (0.26, "h3"), (0.26, "h4")]
        var builds: Int64 = 0
        let r = try simulate(c, arrivals: arrivals, cores: 2, table: t, handlers: hs, runtime: rt, configure: { $0.standbysPerZygote = 1 }) { builds = $0.zygoteBuilds.max }
        XCTAssertEqual(r.map(\.zygote), [0, 0, 1, 1])
        XCTAssertEqual(Nanos.millis(r[1].forkNanos), 28, accuracy: 1e-6)
        XCTAssertEqual(Nanos.millis(r[3].forkNanos), 20, accuracy: 1e-6)
        // The build of {a} starts at 130, 120 ms after h2's join ended: its own join waits (fork 3 + import 100 + 8).
        XCTAssertEqual(Nanos.millis(builds), 111, accuracy: 1e-6)
    }

    /// Latencies worked out by hand from the costs above (see each line).
    func testHandWorkedLatenciesPerPreset() throws {
        // cold h1 = download 1000 + install 2000 + create 2 + interpreter 10 + import 100 + init 5 + exec 20
        // cold h2 = 1500 + 3000 + 2 + 10 + 150 + 5 + 20; a handler-cache hit = thaw 0.5 + exec 20
        XCTAssertEqual(try latencies("none"), [3137, 3137, 4687, 4687, 3137])
        XCTAssertEqual(try latencies("h"), [3137, 20.5, 4687, 20.5, 20.5])
        // hm: forks the root zygote (fork 3 instead of interpreter 10); still downloads and installs.
        XCTAssertEqual(try latencies("hm"), [3130, 20.5, 4680, 20.5, 20.5])
        // hs: a is installed once; h2 installs only b: 500 + 1000 + 2 + 10 + 150 + 25.
        XCTAssertEqual(try latencies("hs"), [3137, 20.5, 1687, 20.5, 20.5])
        XCTAssertEqual(try latencies("all"), [3130, 20.5, 1680, 20.5, 20.5])
        // Import cache with zygotes made on first sight, no handler cache:
        // t=10 forks {a}: create 2 + fork 3 + init 5 + exec 20; t=20 forks {a}, installs and imports b.
        XCTAssertEqual(try latencies("all") { $0.handlerCache.enabled = false; $0.importCache.threshold = 1 }, [3130, 30, 1580, 30, 30])
    }

    func testPhasesAddUpAndTiersAreReported() throws {
        let r = try simulate(PolicyConfig.presets["all"]!, arrivals: trace)
        XCTAssertEqual(r.map(\.tier), [.import, .handler, .import, .handler, .handler])
        for x in r {
            XCTAssertEqual(x.downloadNanos + x.installNanos + x.createNanos + x.forkNanos + x.importNanos + x.initNanos + x.execNanos, x.startupNanos)
        }
        XCTAssertEqual(r[2].zygote, 0)
        XCTAssertEqual(Nanos.millis(r[2].downloadNanos), 500)
    }

    /// An invocation's own execution time (a trace's `exec_ms`, as Azure's) is used instead of its handler's;
    /// without one, the handler's.
    func testAnInvocationsOwnExecutionTimeIsUsed() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-exec-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try TraceWriter(path: dir + "/t.csv", handlers: handlers, withExec: true)
        w.append(Invocation(arrivalNanos: 0, handler: 0, execNanos: Nanos.fromMillis(700)))
        w.append(Invocation(arrivalNanos: Nanos.fromSeconds(10), handler: 0, execNanos: Nanos.fromMillis(3.5)))
        try w.commit()
        XCTAssert(try String(contentsOfFile: dir + "/t.csv", encoding: .utf8).hasPrefix("time_s,handler,exec_ms\n0,h1,700.000\n"))
        let costs = try CostModel(table: table, handlers: handlers, runtime: runtime, seed: 1)
        let sim = Simulation(planner: try Planner(config: PolicyConfig.presets["h"]!, catalog: costs.catalog(handlers: handlers)),
                             costs: costs, handlers: handlers, cores: 1, seed: 1)
        var out: [RequestRecord] = []
        sim.lifecycle.onRecord = { out.append($0) }
        try sim.run(try TraceReader(path: dir + "/t.csv", handlers: handlers))
        XCTAssertEqual(out.map { Nanos.millis($0.execNanos) }, [700, 3.5], "each its own, the invoke overhead (0 here) aside")
        let plain = try simulate(PolicyConfig.presets["h"]!, arrivals: [(0, "h1")])
        XCTAssertEqual(Nanos.millis(plain[0].execNanos), 20, "no exec_ms: the handler's 20 ms")
    }

    func testRequestsQueueFIFOWhenCoresAreBusy() throws {
        let r = try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h1"), (0, "h2"), (1, "h1")], cores: 1)
        XCTAssertEqual(r.map { Nanos.millis($0.queueNanos) }, [0, 3137, 3137 + 4687 - 1000])
        let two = try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h1"), (0, "h2")], cores: 2)
        XCTAssertEqual(two.map(\.queueNanos), [0, 0])
    }

    /// The queue's bound, as `serve --queue` has it: one core busy, one waiting, the third is refused (no
    /// record, counted); once the queue has room again, arrivals wait as before.
    func testAFullQueueRefusesArrivals() throws {
        var summary = SimulationSummary()
        let r = try simulate(PolicyConfig.presets["none"]!, arrivals: [(0, "h1"), (0, "h2"), (0, "h1"), (3.2, "h1")], cores: 1,
                             queueLimit: 1, summary: { summary = $0 })
        XCTAssertEqual(r.count, 3)
        XCTAssertEqual(summary.rejected, 1)
        XCTAssertEqual(r.map { Nanos.millis($0.arrivalNanos) }, [0, 0, 3200], "the third arrival at 0 was refused")
        XCTAssertEqual(summary.requests, 3)
    }

    /// A refused request still costs the worker and its client their HTTP work: with the cores shared, a
    /// dispatch beside the requests. Worked by hand, one core, queue bound 1, dispatch 10 ms: request 2, a hit
    /// of 20.5 ms of work, starts at 10 s; request 3 waits; request 4, 5 ms later, is refused, and its 10 ms of
    /// dispatch share the core with request 2 (both at half speed for 20 ms), so request 2 ends at 30.5 ms, not
    /// 20.5. The earlier model (`hold`) charges a refusal nothing.
    func testARefusedRequestCostsItsDispatch() throws {
        var r = runtime
        r.dispatchMillis = 10
        let arrivals: [(Double, String)] = [(0, "h1"), (10, "h1"), (10, "h1"), (10.005, "h1")]
        var summary = SimulationSummary()
        let h = try simulate(PolicyConfig.presets["h"]!, arrivals: arrivals, queueLimit: 1, runtime: r, summary: { summary = $0 })
        XCTAssertEqual(summary.rejected, 1)
        XCTAssertEqual(h.count, 3)
        XCTAssertEqual(Nanos.millis(h[1].latencyNanos), 30.5, accuracy: 1e-5, "the refusal's dispatch shared the core")
        XCTAssertEqual(Nanos.millis(h[2].queueNanos), 30.5, accuracy: 1e-5)
        let held = try simulate(PolicyConfig.presets["h"]!, arrivals: arrivals, queueLimit: 1, runtime: r) { $0.cpuModel = .hold }
        XCTAssertEqual(Nanos.millis(held[1].latencyNanos), 20.5, accuracy: 1e-5)
        r.dispatchMillis = 0
        let free = try simulate(PolicyConfig.presets["h"]!, arrivals: arrivals, queueLimit: 1, runtime: r)
        XCTAssertEqual(Nanos.millis(free[1].latencyNanos), 20.5, accuracy: 1e-5, "no dispatch, nothing to charge")
    }

    func testACompletionAtTheSameTimeAsAnArrivalFreesTheCoreFirst() throws {
        // h1 cold takes exactly 3.137 s; the next arrival at 3.137 starts at once.
        let r = try simulate(PolicyConfig.presets["h"]!, arrivals: [(0, "h1"), (3.137, "h1")], cores: 1)
        XCTAssertEqual(r[1].queueNanos, 0)
        XCTAssertEqual(r[1].tier, .handler)
    }

    func testSameSeedGivesByteIdenticalOutput() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-det-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sets = HandlerSets(rows: [.init(repo: "r", packages: ["a"]), .init(repo: "s", packages: ["a", "b"]), .init(repo: "t", packages: ["c"])])
        let (hs, body) = try TraceGenerator.mixed(sets: sets, handlers: 30, rate: 5, seconds: 120, seed: 4)
        let w = try TraceWriter(path: dir + "/m.csv", handlers: hs)
        try body(w); try w.commit()
        func run(_ seed: UInt64, _ tag: String) throws -> ([RequestRecord], [String]) {
            let costs = try CostModel(table: table, handlers: hs, runtime: runtime, noiseSigma: 0.3, seed: seed)
            var c = PolicyConfig.presets["all"]!
            c.handlerCache.memoryMB = 60
            let p = try Planner(config: c, catalog: costs.catalog(handlers: hs))
            let sim = Simulation(planner: p, costs: costs, handlers: hs, cores: 2, seed: seed)
            var records: [RequestRecord] = [], decisions: [String] = []
            sim.lifecycle.onRecord = { records.append($0) }
            sim.lifecycle.onDecision = { decisions.append($0) }
            try sim.run(try TraceReader(path: dir + "/m.csv", handlers: hs))
            return (records, decisions)
        }
        let a = try run(7, "a"), b = try run(7, "b"), c = try run(8, "c")
        XCTAssertEqual(a.0, b.0); XCTAssertEqual(a.1, b.1)
        XCTAssertNotEqual(a.0, c.0, "another seed draws other noise")
        XCTAssert(a.0.contains { $0.estimated }, "package c has no measurement: its requests are marked estimated")
    }

    /// On a single-package trace with unlimited memory, `all` beats `h` on mean and p99, and no request's
    /// start (all but queueing and the handler's own init and execution) is slower under `all`. One core: with more, a request that waits under `h`
    /// may find its handler's container paused when it starts, while under `all` it starts at once and
    /// forks a zygote (still sooner done, but a slower start); the mean and p99 hold either way.
    func testAllBeatsHOnSinglePackageWorkloadsOverSeeds() throws {
        for seed in UInt64(1)...8 {
            let r = RandomSource(seed: seed)
            let big = Package(name: "big", version: "1", installedBytes: 50 << 20, downloadMillis: 200 + 2000 * r.uniform(),
                              installMillis: 200 + 3000 * r.uniform(), importMillis: 20 + 300 * r.uniform(), importMemoryBytes: 30 << 20)
            let (hs, body) = try TraceGenerator.microbenchmark(package: "big", handlers: 20 + r.uniformInt(80), rate: 2, seconds: 300, seed: seed)
            let dir = NSTemporaryDirectory() + "pipsqueak-micro-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let w = try TraceWriter(path: dir + "/m.csv", handlers: hs)
            try body(w); try w.commit()
            let arrivals = Array(try TraceReader(path: dir + "/m.csv", handlers: hs)).map { (Nanos.seconds($0.arrivalNanos), hs[$0.handler].id) }
            func run(_ preset: String, _ model: Simulation.CPUModel) throws -> [RequestRecord] {
                var c = PolicyConfig.presets[preset]!
                c.handlerCache.memoryMB = 1e7; c.importCache.memoryMB = 1e7; c.installCache.diskMB = 1e7
                return try simulate(c, arrivals: arrivals, cores: 1, table: PackageTable([big]), handlers: hs) { $0.cpuModel = model }
            }
            for model in Simulation.CPUModel.allCases {
                let h = try run("h", model), all = try run("all", model)
                XCTAssertEqual(h.count, all.count)
                let sh = Summary(h.map { Double($0.latencyNanos) }), sa = Summary(all.map { Double($0.latencyNanos) })
                XCTAssertLessThan(sa.mean, sh.mean, "seed \(seed) \(model)")
                XCTAssertLessThan(sa.p99, sh.p99, "seed \(seed) \(model)")
                // The handler's own init and execution are left out: they share the core with a zygote build
                // running beside them under `all`, which `h` never has. With the cores shared every phase
                // does (a hit's thaw beside a build takes twice as long), so only held.
                guard model == .hold else { continue }
                func start(_ r: RequestRecord) -> Int64 { r.startupNanos - r.initNanos - r.execNanos }
                for (x, y) in zip(h, all) { XCTAssertLessThanOrEqual(start(y), start(x), "seed \(seed) request \(x.request)") }
            }
        }
    }

    /// A replay asked to stop drops the requests still waiting when a core frees up (never starts them), as an
    /// interrupted real replay does; the one running finishes.
    func testAReplayAskedToStopDropsTheRequestsWaiting() throws {
        final class Counter: ReplayExecutor {
            var started: [Int32] = []
            func start(_ inv: Invocation, now: Int64, queue: inout EventQueue<Int32>) {
                started.append(inv.handler); queue.schedule(at: now + 1_000, inv.handler)
            }
            func handle(_ e: Int32, now: Int64, queue: inout EventQueue<Int32>) -> Bool { true }
        }
        var arrivals = (0..<5).map { Invocation(arrivalNanos: Int64($0), handler: Int32($0)) }[...]
        let c = Counter()
        let replay = Replay<Counter, VirtualClock>(cores: 1, clock: VirtualClock())
        var stop = false
        replay.shouldStop = { stop }
        try replay.run(c) {
            // Every arrival is read at once (they come within 5 ns); the stop comes after the first.
            if arrivals.isEmpty { stop = true; return nil }
            return arrivals.popFirst()
        }
        XCTAssertEqual(c.started, [0], "the running request finishes; the four waiting are not started")
        XCTAssertEqual(replay.dropped, 4)
        // Never asked to stop: all five run.
        let all = Counter()
        let r2 = Replay<Counter, VirtualClock>(cores: 1, clock: VirtualClock())
        var more = (0..<5).map { Invocation(arrivalNanos: Int64($0), handler: Int32($0)) }[...]
        try r2.run(all) { more.popFirst() }
        XCTAssertEqual(all.started, [0, 1, 2, 3, 4]); XCTAssertEqual(r2.dropped, 0)
    }

    func testEventQueueBreaksTiesBySequence() {
        var q = EventQueue<Int>()
        q.schedule(at: 5, 1); q.schedule(at: 3, 2); q.schedule(at: 5, 3); q.schedule(at: 3, 4)
        var out: [Int] = []
        while let e = q.pop() { out.append(e.payload) }
        XCTAssertEqual(out, [2, 4, 1, 3])
    }

    func testUnmeasuredPackagesGetSeededEstimates() throws {
        let hs = HandlerTable([Handler(id: "x", customer: "c", packages: ["zzz", "a"])])
        let m1 = try CostModel(table: table, handlers: hs, seed: 3), m2 = try CostModel(table: table, handlers: hs, seed: 3)
        XCTAssertEqual(m1.estimated, ["zzz"])
        XCTAssertEqual(m1.packages["zzz"], m2.packages["zzz"])
        XCTAssert([1000.0, 500.0].contains(m1.packages["zzz"]!.downloadMillis), "drawn from the measured packages")
        XCTAssertThrowsError(try CostModel(table: PackageTable(), handlers: hs, seed: 1))
    }

    func testRuntimeCostsFileIsReadByName() throws {
        let p = NSTemporaryDirectory() + "rc-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: p) }
        try "primitive,value,unit\nfork_ms,2.5,ms\nthaw_ms,0.2,ms\n".write(toFile: p, atomically: true, encoding: .utf8)
        let r = try RuntimeCosts.read(path: p)
        XCTAssertEqual(r.forkMillis, 2.5); XCTAssertEqual(r.thawMillis, 0.2)
        try "primitive,value,unit\nwarp_ms,1,ms\n".write(toFile: p, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: p)) { XCTAssert("\($0)".contains(":2: unknown primitive 'warp_ms'")) }
        // Files calibrated before contention and the overlap's credit were measured: none, and the overlap as it is.
        XCTAssertEqual(RuntimeCosts().importContention, 1); XCTAssertEqual(RuntimeCosts().installContention, 1)
        XCTAssertEqual(RuntimeCosts().importOverlapCredit, 1)
        try "primitive,value,unit\nimport_overlap_credit,1.5,share\n".write(toFile: p, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: p)) { XCTAssert("\($0)".contains(":2:"), "\($0)") }
        try "primitive,value,unit\nimport_contention,0.5,x\n".write(toFile: p, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RuntimeCosts.read(path: p)) { XCTAssert("\($0)".contains(":2:"), "\($0)") }
    }
}
