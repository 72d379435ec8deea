import XCTest
import TestSupport
@testable import Workload

final class AzureTraceTests: XCTestCase {
    let sets = HandlerSets(rows: [.init(repo: "r", packages: ["numpy"]), .init(repo: "s", packages: ["flask"])])

    func writeSample(_ dir: TestDirectory, invocations: String? = nil) {
        dir.write("invocations.csv", invocations ?? """
        HashOwner,HashApp,HashFunction,Trigger,10,11,12
        o1,a1,f1,http,2,0,1
        o1,a1,f2,timer,0,3,0
        o2,a2,f3,queue,0,0,0

        """)
        dir.write("durations.csv", """
        HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum
        o1,a1,f1,250,3,1,2
        o1,a1,f2,40,3,1,2

        """)
        dir.write("memory.csv", """
        HashOwner,HashApp,SampleCount,AverageAllocatedMb
        o1,a1,5,64

        """)
    }

    func testCountsExpandIntoArrivalsWithinEachMinute() throws {
        let dir = TestDirectory()
        writeSample(dir)
        let azure = try AzureTrace(directory: dir.path)
        XCTAssertEqual(azure.functions.count, 2, "a function never invoked in the window is left out")
        let (table, body) = try azure.trace(sets: sets, seed: 3)
        let w = try TraceWriter(path: dir.path + "/t.csv", handlers: table)
        try body(w); try w.commit()
        let invs = Array(try TraceReader(path: dir.path + "/t.csv", handlers: table))
        XCTAssertEqual(invs.count, 6)
        let byMinute = Dictionary(grouping: invs) { $0.arrivalNanos / (60 * Nanos.perSecond) }.mapValues(\.count)
        XCTAssertEqual(byMinute, [0: 2, 1: 3, 2: 1])
        XCTAssertEqual(table[0].execMillis, 250)
        XCTAssertEqual(table[0].memoryBytes, 64 * 1_048_576, "memory per app in the original schema")
        XCTAssert(table.handlers.allSatisfy { $0.packages == ["numpy"] || $0.packages == ["flask"] })
    }

    /// Each invocation's execution time is drawn from its function's duration percentiles (seeded, within
    /// them, near their median), and memory from the memory percentiles; the header says so. Functions
    /// without percentiles keep their average.
    func testDurationsAndMemoryAreSampledFromPercentiles() throws {
        let dir = TestDirectory()
        writeSample(dir, invocations: """
        HashOwner,HashApp,HashFunction,Trigger,10
        o1,a1,f1,http,4000
        o1,a1,f2,timer,50

        """)
        dir.write("durations.csv", """
        HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100
        o1,a1,f1,250,3,1,2,10,20,100,200,300,2000,3000
        o1,a1,f2,40,3,1,2,,,,,,,

        """.replacingOccurrences(of: ",,,,,,,", with: ",40,40,40,40,40,40,40"))
        dir.write("memory.csv", """
        HashOwner,HashApp,HashFunction,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100
        o1,a1,f1,5,64,50,52,60,64,70,80,90,100

        """)
        let azure = try AzureTrace(directory: dir.path)
        func run(_ seed: UInt64) throws -> ([Invocation], HandlerTable) {
            let (table, body) = try azure.trace(sets: sets, seed: seed)
            let w = try TraceWriter(path: dir.path + "/t\(seed).csv", handlers: table, withExec: true)
            try body(w); try w.commit()
            return (Array(try TraceReader(path: dir.path + "/t\(seed).csv", handlers: table)), table)
        }
        let (a, table) = try run(1)
        XCTAssertEqual(try run(1).0, a, "the same seed draws the same times")
        XCTAssertNotEqual(try run(2).0.map(\.execNanos), a.map(\.execNanos))
        let f1 = a.filter { table[$0.handler].id.hasPrefix("fn-f1") }.map { Nanos.millis($0.execNanos) }.sorted()
        XCTAssertEqual(f1.count, 4000)
        XCTAssert(f1.first! >= 10 && f1.last! <= 3000, "within the percentiles")
        XCTAssertEqual(f1[2000], 200, accuracy: 15, "the median near percentile 50")
        XCTAssertEqual(f1[1000], 100, accuracy: 15, "the lower quartile near percentile 25")
        XCTAssert(a.filter { table[$0.handler].id.hasPrefix("fn-f2") }.allSatisfy { Nanos.millis($0.execNanos) == 40 })
        let mem = Bytes.mb(table.handlers.first { $0.id.hasPrefix("fn-f1") }!.memoryBytes)
        XCTAssert(mem >= 50 && mem <= 100, "memory drawn from its percentiles: \(mem)")
        XCTAssert(azure.samplingNotes[0].contains("drawn from its function's duration percentiles"))
        XCTAssertEqual(AzureTrace.sample([(0, 10), (0.5, 20), (1, 40)], 0.75), 30)
        XCTAssertEqual(AzureTrace.sample([(0.01, 5), (1, 6)], 0.001), 5, "below the first point: its value")
    }

    func testAWindowOfMinutes() throws {
        let dir = TestDirectory()
        writeSample(dir)
        let azure = try AzureTrace(directory: dir.path, fromMinute: 11, minutes: 1)
        XCTAssertEqual(azure.functions.map(\.function), ["f2"])
        XCTAssertThrowsError(try AzureTrace(directory: dir.path, fromMinute: 50, minutes: 2)) {
            XCTAssert("\($0)".contains("no minute columns in the window"))
        }
    }

    func testMalformedAzureFilesNameFileAndLine() {
        let dir = TestDirectory()
        writeSample(dir, invocations: "HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,x\n")
        XCTAssertThrowsError(try AzureTrace(directory: dir.path)) {
            XCTAssert("\($0)".hasSuffix("invocations.csv:2: column '1': expected an integer, found 'x'"), "\($0)")
        }
        writeSample(dir, invocations: "HashOwner,HashApp,Trigger,1\no,a,http,1\n")
        XCTAssertThrowsError(try AzureTrace(directory: dir.path)) { XCTAssert("\($0)".contains("missing column 'HashFunction'")) }
        writeSample(dir, invocations: "HashOwner,HashApp,HashFunction,Trigger\n")
        XCTAssertThrowsError(try AzureTrace(directory: dir.path)) { XCTAssert("\($0)".contains("per-minute count columns")) }
    }

    // MARK: Azure Functions 2021 (one row per invocation)

    func write2021(_ dir: TestDirectory, _ rows: String) -> String {
        dir.write("inv2021.txt", "app,func,end_timestamp,duration\n" + rows)
        return dir.path + "/inv2021.txt"
    }

    func testAzure2021InvocationsArriveAtEndMinusDurationWithTheirOwnDurations() throws {
        let dir = TestDirectory()
        // Rows are in end order, as the published file is; b's invocation started first.
        let path = write2021(dir, """
        a1,f1,10.5,0.5
        a1,f1,12.0,1.0
        a2,f9,13.0,4.0
        a1,f2,20.0,0.25

        """)
        let azure = try AzureTrace2021(path: path)
        XCTAssertEqual(azure.functions.map(\.function), ["f9", "f1", "f2"], "functions in order of first arrival")
        XCTAssertEqual(azure.invocations.map(\.arrivalNanos), [9_000_000_000, 10_000_000_000, 11_000_000_000, 19_750_000_000])
        XCTAssertEqual(azure.invocations.map(\.execNanos), [4_000_000_000, 500_000_000, 1_000_000_000, 250_000_000])
        XCTAssertEqual(azure.invocations.map(\.handler), [0, 1, 1, 2])

        let (table, body) = try azure.trace(sets: sets, seed: 1, memoryMB: 256)
        XCTAssertEqual(table.count, 3)
        XCTAssertEqual(table.handlers[1].execMillis, 750, "the handler table's nominal time is the mean of its invocations'")
        XCTAssertEqual(table.handlers[0].memoryBytes, Bytes.fromMB(256))
        let w = try TraceWriter(path: dir.path + "/t.csv", handlers: table, withExec: true)
        try body(w); try w.commit()
        let back = Array(try TraceReader(path: dir.path + "/t.csv", handlers: table))
        XCTAssertEqual(back.map(\.execNanos), azure.invocations.map(\.execNanos), "exec_ms survives the trace file")
        try table.write(path: dir.path + "/t.handlers.csv")
        let stats = try TraceStats(trace: Trace(path: dir.path + "/t.csv"))
        XCTAssertEqual(stats.withOwnExec, 4)
        XCTAssertEqual(stats.execNanosTotal, 5.75e9, "the invocations' own times, summed")
        XCTAssertEqual(stats.offeredCores, 5.75 / 19.75, accuracy: 1e-9, "busy cores = execution seconds / trace seconds")
        XCTAssert(azure.samplingNotes(memoryMB: 256, initMillis: 5)[0].hasPrefix("exec_ms: measured"))
    }

    func testAzure2021WindowAndClippedStarts() throws {
        let dir = TestDirectory()
        let path = write2021(dir, "a,f,0.5,0.75\na,f,5,1\na,g,8,1\na,f,30,1\n")
        let azure = try AzureTrace2021(path: path, fromSecond: 3, seconds: 10)
        XCTAssertEqual(azure.invocations.map(\.arrivalNanos), [1_000_000_000, 4_000_000_000], "arrivals relative to the window's start")
        let all = try AzureTrace2021(path: path)
        XCTAssertEqual(all.invocations.first?.arrivalNanos, 0, "a start before time 0 is clipped to 0")
        XCTAssert(all.warnings.contains { $0.contains("1 invocations started before the trace's time 0") }, "\(all.warnings)")
        let none = try AzureTrace2021(path: path, fromSecond: 100)
        XCTAssert(none.warnings.contains { $0.contains("no invocation arrives in the window") })
    }

    func testMalformedAzure2021RowsNameFileAndLine() {
        let dir = TestDirectory()
        var path = write2021(dir, "a,f,1.0,0.1\na,f,x,0.1\n")
        XCTAssertThrowsError(try AzureTrace2021(path: path)) { XCTAssert("\($0)".contains("inv2021.txt:3"), "\($0)") }
        path = write2021(dir, "a,f,1.0,-0.1\n")
        XCTAssertThrowsError(try AzureTrace2021(path: path)) { XCTAssert("\($0)".contains("inv2021.txt:2"), "\($0)") }
        dir.write("bad.txt", "app,function,end_timestamp,duration\na,f,1,1\n")
        XCTAssertThrowsError(try AzureTrace2021(path: dir.path + "/bad.txt")) { XCTAssert("\($0)".contains("missing column 'func'"), "\($0)") }
    }

    /// The shared sample of the real trace (present beside the project on CI).
    func testSharedAzureSample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.deletingLastPathComponent().path + "/shared/data/azure2019-sample-100"
        guard FileManager.default.fileExists(atPath: dir + "/invocations.csv") else {
            throw XCTSkip("../shared/data/azure2019-sample-100 is not present")
        }
        let azure = try AzureTrace(directory: dir, fromMinute: 480, minutes: 30)
        XCTAssertEqual(azure.firstMinute, 480); XCTAssertEqual(azure.lastMinute, 509)
        XCTAssertGreaterThan(azure.functions.count, 10)
        let expected = azure.functions.reduce(0) { $0 + $1.counts.reduce(0) { $0 + $1.count } }
        let (table, body) = try azure.trace(sets: sets, seed: 1)
        let t = TestDirectory()
        let w = try TraceWriter(path: t.path + "/az.csv", handlers: table)
        try body(w); try w.commit()
        try table.write(path: t.path + "/az.handlers.csv")
        let stats = try TraceStats(trace: Trace(path: t.path + "/az.csv"))
        XCTAssertEqual(stats.requests, expected)
        XCTAssertLessThan(stats.lastArrivalNanos, 30 * 60 * Nanos.perSecond)
    }
}
