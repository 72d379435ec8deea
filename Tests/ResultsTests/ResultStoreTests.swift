import XCTest
@testable import Results

final class ResultStoreTests: XCTestCase {
    var path = ""
    override func setUp() { path = NSTemporaryDirectory() + "pipsqueak-store-\(UUID().uuidString).sqlite" }
    override func tearDown() { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }

    func run(_ key: String) -> ResultStore.Run {
        .init(kind: "sweep", key: key, config: "{}", trace: "t.csv", seed: 1, machine: "m", codeVersion: "v", started: "s", finished: "f")
    }

    func testMigrationsApplyOnceAndRunsRoundTrip() throws {
        do {
            let store = try ResultStore(path: path)
            XCTAssertEqual(store.version, ResultStore.migrations.count)
            let id = try store.save(run("a"), summaries: [.init(tier: "all", requests: 3, share: 1, mean: 2, p50: 1, p90: 3, p99: .nan)],
                                    metrics: ["peak_memory_mb": 12.5])
            XCTAssertEqual(try store.summaries(run: id).first?.requests, 3)
            XCTAssert(try store.summaries(run: id).first?.p99.isNaN ?? false)
            XCTAssertEqual(try store.metrics(run: id)["peak_memory_mb"], 12.5)
        }
        let reopened = try ResultStore(path: path) // migrations are not applied twice
        XCTAssertEqual(reopened.version, ResultStore.migrations.count)
        XCTAssertTrue(try reopened.has(kind: "sweep", key: "a"))
        XCTAssertFalse(try reopened.has(kind: "sweep", key: "b"))
    }

    func testAFailedSaveLeavesNothingHalfWritten() throws {
        let store = try ResultStore(path: path)
        try store.save(run("a"), summaries: [], metrics: [:])
        // The same key again violates the unique index: the whole save rolls back.
        XCTAssertThrowsError(try store.save(run("a"), summaries: [.init(tier: "all", requests: 1, share: 1, mean: 1, p50: 1, p90: 1, p99: 1)], metrics: [:]))
        XCTAssertEqual(try store.db.query("SELECT COUNT(*) FROM runs").first?.first?.int, 1)
        XCTAssertEqual(try store.db.query("SELECT COUNT(*) FROM summaries").first?.first?.int, 0)
    }

    func testANewerSchemaIsRefused() throws {
        do { let s = try ResultStore(path: path); try s.db.execute("PRAGMA user_version = 99") }
        XCTAssertThrowsError(try ResultStore(path: path)) { XCTAssert("\($0)".contains("newer than this pipsqueak knows")) }
    }
}
