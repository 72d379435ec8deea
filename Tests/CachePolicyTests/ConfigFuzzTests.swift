import XCTest
import Statistics
import Workload
@testable import CachePolicy

/// Config files mutated at random: each is accepted (and then valid) or rejected with a `PolicyError`.
final class ConfigFuzzTests: XCTestCase {
    func testMutatedConfigsNeverCrash() throws {
        let seed = #"{"preset": "all", "handlerCache": {"memoryMB": 512, "policy": "gdsf", "ttlSeconds": 60}, "importCache": {"tree": "static", "topK": 10, "threshold": 2, "eviction": "lru", "memoryMB": 256}, "installCache": {"diskMB": 1000, "preinstallTop": 3}}"#
        let junk = ["1e308", "-1", "\"x\"", "true", "null", "[]", "{}", "1.5", "99999999999", "\"lru\"", "\"none\"", "0"]
        let dir = NSTemporaryDirectory() + "pipsqueak-cfgfuzz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = RandomSource(seed: 5)
        let n = Int(ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"] ?? "") ?? 500
        var accepted = 0
        for i in 0..<n {
            var text = seed
            // Replace a value after a random colon, or corrupt a random byte.
            let colons = text.indices.filter { text[$0] == ":" }
            if r.uniform() < 0.7, let c = colons.isEmpty ? nil : colons[r.uniformInt(colons.count)] {
                let start = text.index(after: c)
                let end = text[start...].firstIndex(where: { $0 == "," || $0 == "}" }) ?? text.endIndex
                text.replaceSubrange(start..<end, with: " " + junk[r.uniformInt(junk.count)])
            } else {
                var b = Array(text.utf8)
                b[r.uniformInt(b.count)] = UInt8(32 + r.uniformInt(95))
                text = String(decoding: b, as: UTF8.self)
            }
            let p = dir + "/c\(i).json"
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            do {
                let c = try PolicyConfig.parse(try Data(contentsOf: URL(fileURLWithPath: p)), path: p)
                XCTAssertNoThrow(try c.validate())
                let cat = Catalog(packages: [], handlers: .init([]))
                XCTAssertNoThrow(try Planner(config: c, catalog: cat))
                accepted += 1
            } catch is PolicyError {
            } catch {
                XCTFail("#\(i): not a PolicyError: \(error)\n\(text)")
            }
        }
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertLessThan(accepted, n)
    }
}
