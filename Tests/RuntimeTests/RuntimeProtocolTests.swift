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

    /// The worker's own messages are written without `JSONSerialization` and read as the same JSON; values it
    /// does not know (an event's `NSNumber`s) are left to `JSONSerialization`.
    func testMessagesAreWrittenAsTheSameJSON() throws {
        func canonical(_ data: Data) throws -> String {
            let o = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
            return String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
        let config: [String: Any] = ["cgroup_procs": ["/sys/fs/cgroup/memory/pipsqueak/x/cgroup.procs"], "root": "/run/p q/roots/base",
                                     "base": true, "mounts": [["/h", "/handler", false] as [Any], ["/p", "/packages", true] as [Any]],
                                     "tmp_mb": 16, "hostname": "sandbox", "new_net": false]
        let odd = "quote \" backslash \\ newline \n tab \t bell \u{07} é ☃ 🎉"
        let messages: [[String: Any]] = [
            WorkerProtocol.Request.fork(container: config, paths: ["/a", odd], imports: ["numpy", "yaml"]).message,
            WorkerProtocol.Request.prepare(cgroupProcs: ["/x/cgroup.procs"], newNetwork: true, socket: "/s/z1-s2.sock").message,
            WorkerProtocol.Request.forkZygote(config: ["imports": [String](), "paths": [String](), "id": Int64(3), "n": Int32(-4),
                                                       "u": UInt32(7), "f": 1.5, "g": 2.0, "none": NSNull(), "nested": [["a": 1]] as [[String: Any]]]).message,
            WorkerProtocol.Request.ping.message, ["": ""],
        ]
        for m in messages {
            let bytes = try XCTUnwrap(JSONLine.encode(m), "\(m)")
            XCTAssertEqual(try canonical(Data(bytes)), try canonical(try JSONSerialization.data(withJSONObject: m)), String(decoding: bytes, as: UTF8.self))
        }
        XCTAssertEqual(String(decoding: JSONLine.encode(["s": odd])!, as: UTF8.self),
                       #"{"s":"quote \" backslash \\ newline \n tab \t bell \u0007 é ☃ 🎉"}"#)
        // An event parsed from JSON holds NSNumbers: not written here.
        let event = try JSONSerialization.jsonObject(with: Data(#"{"n": 1, "b": true}"#.utf8))
        XCTAssertNil(JSONLine.encode(WorkerProtocol.Request.invoke(event: event).message))
        XCTAssertNil(JSONLine.encode(["x": Double.nan]))
        XCTAssertNotNil(JSONLine.encode(WorkerProtocol.Request.invoke(event: ["k": "v"]).message))
    }
}
