import XCTest
import TestSupport
@testable import Workload

final class TraceFormatTests: XCTestCase {
    let handlersCSV = """
    # a comment
    handler,customer,packages,init_ms,exec_ms,memory_mb
    a,c1,numpy;requests,5,20,16
    b,c2,,0,1.5,4

    """

    func testNanosParseAndFormatRoundTrip() {
        XCTAssertEqual(Nanos.parseSeconds("0"), 0)
        XCTAssertEqual(Nanos.parseSeconds("1.5"), 1_500_000_000)
        XCTAssertEqual(Nanos.parseSeconds("3.000000001"), 3_000_000_001)
        XCTAssertEqual(Nanos.parseSeconds(" 2. "), 2_000_000_000)
        XCTAssertEqual(Nanos.parseSeconds(".25"), 250_000_000)
        for bad in ["", "-1", "1e3", "abc", "1.2.3", "+1", ".", "nan"] { XCTAssertNil(Nanos.parseSeconds(bad), bad) }
        // Too many whole seconds for Int64 nanoseconds: refused, not an overflow trap (found by libFuzzer).
        for huge in ["9999999999", "9223372037", "99999999999.5"] { XCTAssertNil(Nanos.parseSeconds(huge), huge) }
        XCTAssertEqual(Nanos.parseSeconds("899999999.999999999"), 899_999_999_999_999_999)
        for ns: Int64 in [0, 1, 999_999_999, 1_000_000_000, 12_345_678_901] {
            XCTAssertEqual(Nanos.parseSeconds(Nanos.formatSeconds(ns)), ns)
        }
        XCTAssertEqual(Nanos.formatMillis(1_234_567), "1.235")
        XCTAssertEqual(Nanos.formatMillis(5_000), "0.005")
    }

    func testHandlerTableAndTraceRoundTrip() throws {
        let dir = TestDirectory()
        let hp = dir.write("t.handlers.csv", handlersCSV)
        let table = try HandlerTable.read(path: hp)
        XCTAssertEqual(table.count, 2)
        XCTAssertEqual(table[0].packages, ["numpy", "requests"])
        XCTAssertEqual(table[1].packages, [])
        XCTAssertEqual(table[0].memoryBytes, 16 * 1_048_576)
        XCTAssertEqual(table[1].execMillis, 1.5)

        let w = try TraceWriter(path: dir.path + "/t.csv", handlers: table, comments: ["made by a test"])
        let invs = [Invocation(arrivalNanos: 0, handler: 1), Invocation(arrivalNanos: 1_500_000_000, handler: 0),
                    Invocation(arrivalNanos: 1_500_000_000, handler: 1), Invocation(arrivalNanos: 2_000_000_001, handler: 0)]
        invs.forEach(w.append)
        XCTAssertFalse(dir.exists("t.csv"), "nothing appears before commit")
        try w.commit()
        let trace = try Trace(path: dir.path + "/t.csv")
        XCTAssertEqual(Array(try trace.makeReader()), invs)
        XCTAssert(dir.read("t.csv").hasPrefix("# made by a test\ntime_s,handler\n0,b\n1.5,a\n"))

        try table.write(path: dir.path + "/copy.csv")
        XCTAssertEqual(try HandlerTable.read(path: dir.path + "/copy.csv").handlers, table.handlers)
    }

    /// Each malformed input is rejected with `file:line: what was expected`.
    func testMalformedTracesAreRejectedWithFileAndLine() throws {
        let dir = TestDirectory()
        let table = try HandlerTable.read(path: dir.write("h.csv", handlersCSV))
        let cases: [(String, Int, String)] = [
            ("time_s,handler\n0,a\nx,a\n", 3, "expected a non-negative number of seconds, found 'x'"),
            ("time_s,handler\n0,a\n-1,a\n", 3, "found '-1'"),
            ("time_s,handler\n2,a\n1,b\n", 3, "times out of order"),
            ("time_s,handler\n0,a\n1,zzz\n", 3, "unknown handler 'zzz'"),
            ("time_s,handler\n0\n", 2, "expected 2 fields"),
            ("time_s,handler\n0,a,b\n", 2, "expected 2 fields"),
            ("when,who\n0,a\n", 1, "expected the header 'time_s,handler'"),
            ("", 0, "empty file"),
            ("# only a comment\n\n", 0, "empty file"),
            // Too large, with the bound (was: "expected a non-negative number").
            ("time_s,handler\n1e15,a\n", 2, "'1e15' s is too large: at most 900000000 s"),
            ("time_s,handler\n1e3,a\n", 2, "without an exponent"),
            // The exec_ms column, when the header has it.
            ("time_s,handler,exec_ms\n0,a\n", 2, "expected 3 fields"),
            ("time_s,handler,exec_ms\n0,a,x\n", 2, "column 'exec_ms': expected a non-negative number of milliseconds"),
            ("time_s,handler,exec_ms\n0,a,1,2\n", 2, "found more"),
            ("time_s,handler,memory\n0,a,1\n", 1, "expected the header"),
            // Garbage is quoted short and escaped, never echoed whole.
            ("time_s,handler\n\u{01}\u{02}" + String(repeating: "\u{7f}x", count: 600) + ",a\n", 2, "(1202 bytes)"),
        ]
        for (text, line, expected) in cases {
            let p = dir.write("bad.csv", text)
            do {
                let r = try TraceReader(path: p, handlers: table)
                while try r.nextInvocation() != nil {}
                XCTFail("accepted: \(text)")
            } catch let e as InputError {
                XCTAssertEqual(e.file, p); XCTAssertEqual(e.line, line, text)
                XCTAssert(e.description.contains(expected), "\(e.description) lacks \(expected)")
                if line > 0 { XCTAssert(e.description.hasPrefix("\(p):\(line): ")) }
            }
        }
        XCTAssertThrowsError(try TraceReader(path: dir.path + "/missing.csv", handlers: table)) { e in
            XCTAssert("\(e)".contains("cannot open"))
        }
        // A missing trace, or a directory, is named as such (was: a missing NAME.handlers.csv).
        XCTAssertThrowsError(try Trace(path: dir.path + "/missing.csv")) { XCTAssertEqual("\($0)", "\(dir.path)/missing.csv: no such trace file") }
        XCTAssertThrowsError(try Trace(path: dir.path)) { XCTAssert("\($0)".contains("is a directory"), "\($0)") }
        // A UTF-8 byte-order mark before the header is accepted (was: "found 'time_s,handler'", which looks right).
        let bom = dir.write("bom.csv", "\u{FEFF}time_s,handler\n0,a\n")
        XCTAssertEqual(Array(try TraceReader(path: bom, handlers: table)).count, 1)
        let bomTable = dir.write("bomh.csv", "\u{FEFF}" + handlersCSV.replacingOccurrences(of: "# a comment\n", with: ""))
        XCTAssertEqual(try HandlerTable.read(path: bomTable).count, 2)
        let garbage = InputError.excerpt(String(repeating: "\u{0}", count: 100))
        XCTAssert(garbage.count < 250 && !garbage.contains("\u{0}"), garbage)
    }

    func testImportOverlapRoundTripAndErrors() throws {
        let dir = TestDirectory()
        var o = ImportOverlap()
        o.worker = .init(version: "", tracedMillis: 15, modules: [("json", 0.2), ("re", 1.5)])
        o.packages["requests"] = .init(version: "2.3", tracedMillis: 8.5, modules: [("http.cookiejar", 1.954), ("copy", 0.136)])
        o.packages["six"] = .init(version: "1", tracedMillis: 2, modules: [])
        let p = dir.path + "/import-overlap.csv"
        try o.write(path: p, comments: ["made by: a test"])
        let back = try ImportOverlap.read(path: p)
        XCTAssertEqual(back, o)
        XCTAssertEqual(back.preloaded, ["json", "re"])
        XCTAssertEqual(back.packages["requests"]!.share(0), 1.954 / 8.5, accuracy: 1e-9)
        // Found beside a package table in the same folder; none beside one elsewhere.
        XCTAssertEqual(try ImportOverlap.beside(packagesPath: dir.path + "/packages.csv"), o)
        XCTAssertNil(try ImportOverlap.beside(packagesPath: dir.path + "/sub/packages.csv"))
        let header = "package,version,traced_ms,stdlib_modules\n"
        let cases: [(String, Int, String)] = [
            (header + ":worker,,1,re:1\nsix,1,2,re\n", 3, "expected module:ms pairs"),
            (header + ":worker,,1,re:1\nsix,1,2,re:-1\n", 3, "expected module:ms pairs"),
            (header + ":worker,,1,re:1\nsix,1,x,-\n", 3, "column 'traced_ms': expected a number"),
            (header + ":worker,,1,re:1\nsix,1,2,-\nsix,1,2,-\n", 4, "appears twice"),
            (header + "six,1,2,-\n", 2, "no ':worker' row"),
            ("package,version,stdlib_modules\n", 1, "missing column 'traced_ms'"),
        ]
        assertRejected(cases, in: dir) { _ = try ImportOverlap.read(path: $0) }
    }

    /// Each case's text, written to a file and read with `read`, is rejected with an `InputError` at the
    /// case's line whose message contains the case's words.
    func assertRejected(_ cases: [(String, Int, String)], in dir: TestDirectory, read: (String) throws -> Void,
                        file: StaticString = #filePath, line: UInt = #line) {
        for (text, at, expected) in cases {
            let p = dir.write("rejected.csv", text)
            XCTAssertThrowsError(try read(p), file: file, line: line) { e in
                guard let e = e as? InputError else { return XCTFail("\(e)", file: file, line: line) }
                XCTAssertEqual(e.line, at, text, file: file, line: line)
                XCTAssert(e.description.contains(expected), "\(e.description) lacks \(expected)", file: file, line: line)
            }
        }
    }

    func testMalformedHandlerTablesAreRejected() {
        let dir = TestDirectory()
        let cases: [(String, Int, String)] = [
            ("handler,customer,packages,init_ms,exec_ms\na,c,,1,1\n", 1, "missing column 'memory_mb'"),
            ("handler,customer,packages,init_ms,exec_ms,memory_mb\na,c,,x,1,1\n", 2, "column 'init_ms': expected a number"),
            ("handler,customer,packages,init_ms,exec_ms,memory_mb\na,c,,1,-1,1\n", 2, "expected a number >= 0"),
            ("handler,customer,packages,init_ms,exec_ms,memory_mb\na,c,,1,1,1\na,c,,1,1,1\n", 3, "appears twice"),
            ("handler,customer,packages,init_ms,exec_ms,memory_mb\na,c,,1,1\n", 2, "expected 6 fields"),
            ("handler,customer,packages,init_ms,exec_ms,memory_mb\n", 0, "no handlers"),
            ("", 0, "empty file"),
        ]
        assertRejected(cases, in: dir) { _ = try HandlerTable.read(path: $0) }
    }

    func testAnUncommittedWriterLeavesTheOldFileIntact() throws {
        let dir = TestDirectory()
        let table = try HandlerTable.read(path: dir.write("h.csv", handlersCSV))
        dir.write("t.csv", "old contents\n")
        do {
            let w = try TraceWriter(path: dir.path + "/t.csv", handlers: table)
            w.append(Invocation(arrivalNanos: 0, handler: 0))
        } // dropped without commit, as when a generator throws
        XCTAssertEqual(dir.read("t.csv"), "old contents\n")
        XCTAssertEqual(dir.files, ["h.csv", "t.csv"], "no temporary file left behind")
    }

    func testQuotedFieldsAndCRLF() throws {
        let dir = TestDirectory()
        let p = dir.write("q.csv", "a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\r\n")
        let csv = try CSVReader(path: p)
        XCTAssertEqual(try csv.next(), ["x,1", "say \"hi\""])
        XCTAssertEqual(CSVReader.escape("x,1"), "\"x,1\"")
    }

    func testPackageNamesAreCanonical() {
        XCTAssertEqual(PackageName.canonical("PyYAML"), "pyyaml")
        XCTAssertEqual(PackageName.canonical("python_dotenv"), "python-dotenv")
        XCTAssertEqual(PackageName.canonical("zope.interface"), "zope-interface")
        XCTAssertEqual(PackageName.canonical("a--_b"), "a-b")
    }
}
