import XCTest
import Statistics
@testable import Workload

/// Property-based fuzzing of every reader: valid files mutated at random (bytes flipped, inserted, deleted,
/// lines duplicated or cut, fields swapped for junk). Each reader must either accept the file or reject it
/// with an `InputError` naming the file — never crash, hang or throw anything else. Seeds make failures
/// reproducible; `FUZZ_ITERATIONS` raises the count (scripts/fuzz).
final class ReaderFuzzTests: XCTestCase {
    static var iterations: Int { Int(ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"] ?? "") ?? 300 }

    static let handlerTable = "handler,customer,packages,init_ms,exec_ms,memory_mb\na,c1,numpy;requests,5,20,16\nb,c2,,0,1.5,4\n"
    static let trace = "# c\ntime_s,handler\n0,a\n0.5,b\n1.25,a\n3,b\n"
    static let packages = "name,version,status,wheel_bytes,installed_bytes,download_ms,install_ms,import_ms,import_ms_spread,import_memory_bytes,repeats,dependencies,transitive_dependencies,top_level\nnumpy,2.0,ok,100,200,1.5,2.5,3.5,0.1,4096,5,,,numpy\nx,,failed: no wheel,0,0,0,0,0,0,0,1,,,\n"
    static let frequency = "module,distribution,repos,fraction_of_repos,repos_outside_tests,pypi_download_rank\nyaml,PyYAML,10,0.1,10,5\nmine,,1,0.01,1,\n"
    static let invocations = "HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,2,0\n"

    static let junk = ["", "-1", "nan", "1e309", "\"", "\"\"", ",", ";;", "x", "\u{0}", "999999999999999999999", "0.0000000001", " ", "\u{FEFF}", "é"]

    func mutate(_ text: String, _ r: RandomSource) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<(1 + r.uniformInt(4)) {
            switch r.uniformInt(6) {
            case 0 where !bytes.isEmpty: bytes[r.uniformInt(bytes.count)] = UInt8(r.uniformInt(256))
            case 1: bytes.insert(UInt8(r.uniformInt(256)), at: r.uniformInt(bytes.count + 1))
            case 2 where !bytes.isEmpty: bytes.remove(at: r.uniformInt(bytes.count))
            case 3:
                var lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n")
                if !lines.isEmpty { let i = r.uniformInt(lines.count); lines.insert(lines[i], at: r.uniformInt(lines.count + 1)) }
                bytes = Array(lines.joined(separator: "\n").utf8)
            case 4 where !bytes.isEmpty: bytes = Array(bytes.prefix(r.uniformInt(bytes.count)))
            default:
                var lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n")
                guard !lines.isEmpty else { break }
                let i = r.uniformInt(lines.count)
                var fields = lines[i].components(separatedBy: ",")
                if !fields.isEmpty { fields[r.uniformInt(fields.count)] = ReaderFuzzTests.junk[r.uniformInt(ReaderFuzzTests.junk.count)] }
                lines[i] = fields.joined(separator: ",")
                bytes = Array(lines.joined(separator: "\n").utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `read` on mutations of `seed`; every outcome must be success or an InputError about `path`.
    func fuzz(_ name: String, seed text: String, read: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-fuzz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = RandomSource(seed: 77).substream(name)
        var rejected = 0
        for i in 0..<ReaderFuzzTests.iterations {
            let input = mutate(text, r)
            let path = dir + "/\(name)-\(i).csv"
            try input.write(toFile: path, atomically: true, encoding: .utf8)
            do { try read(path) } catch let e as InputError {
                rejected += 1
                XCTAssert(e.file.hasPrefix(dir), "\(name) #\(i): the error names another file: \(e)")
                XCTAssertFalse(e.message.isEmpty)
            } catch {
                XCTFail("\(name) #\(i): not an InputError: \(error)\ninput:\n\(input)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        XCTAssertGreaterThan(rejected, 0, "\(name): the mutations found nothing to reject")
    }

    func testHandlerTableReader() throws { try fuzz("handlers", seed: Self.handlerTable) { _ = try HandlerTable.read(path: $0) } }

    func testTraceReader() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-fuzz-h-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.handlerTable.write(toFile: dir + "/h.csv", atomically: true, encoding: .utf8)
        let table = try HandlerTable.read(path: dir + "/h.csv")
        try fuzz("trace", seed: Self.trace) { p in
            let reader = try TraceReader(path: p, handlers: table)
            var last: Int64 = 0
            while let inv = try reader.nextInvocation() {
                XCTAssertGreaterThanOrEqual(inv.arrivalNanos, last, "accepted times are in order")
                last = inv.arrivalNanos
            }
        }
    }

    func testPackageTableReader() throws { try fuzz("packages", seed: Self.packages) { _ = try PackageTable.read(path: $0) } }

    func testImportFrequencyReader() throws { try fuzz("frequency", seed: Self.frequency) { _ = try ImportFrequency.read(path: $0) } }

    func testAzureReader() throws {
        let dir = NSTemporaryDirectory() + "pipsqueak-fuzz-az-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "HashOwner,HashApp,HashFunction,Average\no,a,f,12\n".write(toFile: dir + "/durations.csv", atomically: true, encoding: .utf8)
        try "HashOwner,HashApp,AverageAllocatedMb\no,a,64\n".write(toFile: dir + "/memory.csv", atomically: true, encoding: .utf8)
        try fuzz("invocations", seed: Self.invocations) { p in
            try FileManager.default.copyItem(atPath: p, toPath: dir + "/invocations.csv")
            defer { try? FileManager.default.removeItem(atPath: dir + "/invocations.csv") }
            do { _ = try AzureTrace(directory: dir) } catch let e as InputError {
                throw InputError(file: p, line: e.line, e.message) // report against the fuzzed file
            }
        }
    }
}
