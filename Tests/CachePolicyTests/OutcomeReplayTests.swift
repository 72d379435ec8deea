import XCTest
@testable import CachePolicy

/// `compare` hands the real run's outcomes to the simulation by what they are about, not in the order they
/// came: under concurrency requests complete in another order in each executor.
final class OutcomeReplayTests: XCTestCase {
    func testOutcomesGoToTheContainerOrZygoteTheyAreAbout() {
        let r = OutcomeReplay([.container(id: 1, memoryBytes: 10, failed: false), .zygoteReady(id: 1, memoryBytes: 7),
                               .container(id: 2, memoryBytes: 20, failed: true), .installFailed(package: 0),
                               .container(id: 1, memoryBytes: 30, failed: false), .zygoteFailed(id: 2, packages: [])])
        // Container 2 ends first in the simulation: it still gets its own outcome.
        XCTAssertEqual(r.next(matching: .container(id: 2, memoryBytes: 0, failed: false)), .container(id: 2, memoryBytes: 20, failed: true))
        // Container 1's ends, in their order; then none is left.
        XCTAssertEqual(r.next(matching: .container(id: 1, memoryBytes: 0, failed: false)), .container(id: 1, memoryBytes: 10, failed: false))
        XCTAssertEqual(r.next(matching: .container(id: 1, memoryBytes: 0, failed: false)), .container(id: 1, memoryBytes: 30, failed: false))
        XCTAssertNil(r.next(matching: .container(id: 1, memoryBytes: 0, failed: false)))
        XCTAssertNil(r.next(matching: .container(id: 3, memoryBytes: 0, failed: false)), "a container the real run never ended")
        // Zygotes: ready or failed, by id, in any order.
        XCTAssertEqual(r.next(matching: .zygoteReady(id: 2, memoryBytes: 0)), .zygoteFailed(id: 2, packages: []))
        XCTAssertEqual(r.next(matching: .zygoteReady(id: 1, memoryBytes: 0)), .zygoteReady(id: 1, memoryBytes: 7))
        XCTAssertNil(r.next(matching: .zygoteReady(id: 1, memoryBytes: 0)))
        XCTAssertNil(r.next(matching: .installFailed(package: 0)), "only container ends and zygote builds are replayed")
    }
}
