import XCTest
@testable import Runtime

/// The worker protocol's operation names are defined twice, once per language: `WorkerProtocol.Operation`
/// here and the `OP_*` constants of the Python worker script. They must be the same set.
final class RuntimeProtocolTests: XCTestCase {
    func testTheSwiftAndPythonSidesNameTheSameOperations() throws {
        let script = try String(contentsOfFile: try WorkerScript.locate().path, encoding: .utf8)
        // Lines like: OP_FORK, OP_FORK_ZYGOTE = "fork", "fork-zygote"
        var python: [String: String] = [:]
        for line in script.split(separator: "\n") where line.hasPrefix("OP_") {
            let sides = line.split(separator: "=", maxSplits: 1).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            guard sides.count == 2, sides[0].count == sides[1].count else { XCTFail("cannot read: \(line)"); continue }
            for (name, value) in zip(sides[0], sides[1]) { python[name] = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        XCTAssertEqual(Set(python.values), Set(WorkerProtocol.Operation.allCases.map(\.rawValue)), "Python: \(python)")
        for op in WorkerProtocol.Operation.allCases {
            let name = "OP_" + op.rawValue.uppercased().replacingOccurrences(of: "-", with: "_")
            XCTAssertEqual(python[name], op.rawValue, "\(name) in the Python script")
        }
        // Every operation the script dispatches on is a named constant, not a bare string.
        XCTAssertFalse(script.contains("op\") == \""), "a bare operation string in the script")
        XCTAssertEqual(WorkerProtocol.Request.fork(container: [:], paths: [], imports: []).message["op"] as? String, "fork")
        XCTAssertEqual(WorkerProtocol.Request.forkZygote(config: [:]).message["op"] as? String, "fork-zygote")
    }
}
