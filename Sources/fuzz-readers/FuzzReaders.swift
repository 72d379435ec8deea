// fuzz-readers: one fuzz target for every file reader. The first byte of an input picks the reader, the
// rest is the file:
//   0 handler table   1 trace (against a fixed handler table)   2 packages.csv   3 import frequencies
//   4 Azure invocations.csv (beside fixed durations and memory files)   5 policy config (JSON)
// Every input must be accepted or rejected with the reader's own error (InputError naming the file, or
// PolicyError); anything else, a crash, a hang or runaway memory is a finding.
//
// Built with libFuzzer (`scripts/fuzz --libfuzzer SECONDS`: swift build -Xswiftc -sanitize=fuzzer
// -Xswiftc -DFUZZING) it is the libFuzzer target; built normally it replays files and directories given on
// the command line (the committed corpus in Fuzz/corpus/readers), which is what CI runs.
import CachePolicy
import Foundation
import Workload

enum FuzzReaders {
    static let scratch: String = {
        let d = "/tmp/pipsqueak-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        // Removed when the process exits normally (each fuzz run used to leave its scratch folder in /tmp).
        atexit { try? FileManager.default.removeItem(atPath: "/tmp/pipsqueak-fuzz-\(getpid())") }
        try? "handler,customer,packages,init_ms,exec_ms,memory_mb\na,c1,numpy;requests,5,20,16\nb,c2,,0,1.5,4\n"
            .write(toFile: d + "/handlers.csv", atomically: true, encoding: .utf8)
        try? "HashOwner,HashApp,HashFunction,Average\no,a,f,12\n".write(toFile: d + "/durations.csv", atomically: true, encoding: .utf8)
        try? "HashOwner,HashApp,AverageAllocatedMb\no,a,64\n".write(toFile: d + "/memory.csv", atomically: true, encoding: .utf8)
        return d
    }()
    static let handlers = try! HandlerTable.read(path: scratch + "/handlers.csv")

    /// Runs one input; returns a description of a finding, or nil when the reader behaved.
    static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let selector = bytes.first else { return nil }
        let body = Data(bytes.dropFirst())
        let kind = Int(selector) % 6
        let path = kind == 4 ? scratch + "/invocations.csv" : scratch + "/input-\(kind)"
        guard FileManager.default.createFile(atPath: path, contents: body) else { return nil }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            switch kind {
            case 0: _ = try HandlerTable.read(path: path)
            case 1:
                let reader = try TraceReader(path: path, handlers: handlers)
                var last: Int64 = 0
                while let inv = try reader.nextInvocation() {
                    if inv.arrivalNanos < last { return "trace: accepted times out of order" }
                    last = inv.arrivalNanos
                }
            case 2: _ = try PackageTable.read(path: path)
            case 3: _ = try ImportFrequency.read(path: path)
            case 4: _ = try AzureTrace(directory: scratch)
            default:
                let c = try PolicyConfig.parse(try InputFile.contents(path), path: path)
                try c.validate()
                _ = try Planner(config: c, catalog: Catalog(packages: [], handlers: HandlerTable([])))
            }
        } catch let e as InputError {
            if e.file != path { return "reader \(kind): the error names \(e.file), not the input" }
            if e.message.isEmpty || e.line < 0 { return "reader \(kind): an empty or lineless error" }
        } catch is PolicyError {
        } catch {
            return "reader \(kind): not the reader's own error: \(error)"
        }
        return nil
    }
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    if let finding = FuzzReaders.check(UnsafeBufferPointer(start: data, count: size)) { fatalError(finding) }
    return 0
}

/// SwiftPM links an executable's entry point as `<module>_main`; hand control to libFuzzer's driver.
@_cdecl("fuzz_readers_main")
func fuzzReadersMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc, v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzzOneInput)
}
#else
@main
struct ReplayCorpus {
    static func main() {
        var files: [String] = []
        for arg in CommandLine.arguments.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: arg, isDirectory: &isDir) else {
                FileHandle.standardError.write(Data("fuzz-readers: \(arg): no such file or directory\n".utf8)); exit(2)
            }
            if isDir.boolValue {
                files += ((try? FileManager.default.contentsOfDirectory(atPath: arg)) ?? []).sorted().map { arg + "/" + $0 }
            } else { files.append(arg) }
        }
        guard !files.isEmpty else {
            print("usage: fuzz-readers FILE|DIR …   (replays inputs; the libFuzzer build is made by scripts/fuzz --libfuzzer)"); exit(2)
        }
        var findings = 0
        for f in files {
            guard let d = FileManager.default.contents(atPath: f) else { continue }
            let finding = d.withUnsafeBytes { FuzzReaders.check($0.bindMemory(to: UInt8.self)) }
            if let finding { findings += 1; print("\(f): \(finding)") }
        }
        try? FileManager.default.removeItem(atPath: FuzzReaders.scratch)
        print("fuzz-readers: \(files.count) inputs replayed, \(findings) findings")
        exit(findings == 0 ? 0 : 1)
    }
}
#endif
