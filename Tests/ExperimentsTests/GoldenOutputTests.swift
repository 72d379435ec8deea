import XCTest
import CachePolicy
@testable import Experiments

/// Regression check for the simulator: small traces simulated under several configurations must write
/// exactly the per-request records and decision logs stored beside this file (`Golden/`), byte for byte
/// (header comments aside: they name the machine). Inputs are copies kept with the goldens (package
/// costs, runtime costs, popularity), so re-measuring the project's data does not move them.
///
/// A change that is meant to alter simulated results regenerates them: `PIPSQUEAK_RECORD_GOLDEN=1
/// scripts/test GoldenOutputTests`, then the diff of `Golden/` is reviewed and committed with the change.
final class GoldenOutputTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

    struct Case {
        var name: String, trace: String, config: PolicyConfig, cores = 2, seed: UInt64 = 1, noise = 0.0
        var cpuModel = CPUModelName.share
    }

    static var cases: [Case] {
        var gdsf = PolicyConfig.presets["h"]!
        gdsf.name = "h-gdsf"; gdsf.handlerCache.policy = "gdsf"; gdsf.handlerCache.memoryMB = 256
        var staticTree = PolicyConfig.presets["all"]!
        staticTree.name = "all-static"; staticTree.importCache.tree = "static"; staticTree.importCache.topK = 8
        staticTree.handlerCache.memoryMB = 128; staticTree.importCache.memoryMB = 256
        var tight = PolicyConfig.presets["all"]!
        tight.name = "all-tight"; tight.handlerCache.memoryMB = 64; tight.importCache.memoryMB = 96; tight.installCache.diskMB = 200
        // The first goldens were made with the cores held (before processor sharing): those cases hold them
        // still, so the earlier model's outputs stay byte for byte; the -share cases are the default.
        return [
            Case(name: "micro-numpy-all", trace: "micro-numpy.csv", config: PolicyConfig.presets["all"]!, cpuModel: .hold),
            Case(name: "micro-numpy-all-share", trace: "micro-numpy.csv", config: PolicyConfig.presets["all"]!),
            Case(name: "micro-numpy-none", trace: "micro-numpy.csv", config: PolicyConfig.presets["none"]!, cores: 1),
            Case(name: "mixed-all", trace: "mixed.csv", config: PolicyConfig.presets["all"]!, cpuModel: .hold),
            Case(name: "mixed-all-share", trace: "mixed.csv", config: PolicyConfig.presets["all"]!),
            Case(name: "mixed-h-gdsf", trace: "mixed.csv", config: gdsf, cores: 1),
            Case(name: "mixed-all-static-noise", trace: "mixed.csv", config: staticTree, seed: 7, noise: 0.3, cpuModel: .hold),
            Case(name: "mixed-all-static-noise-share", trace: "mixed.csv", config: staticTree, seed: 7, noise: 0.3),
            Case(name: "mixed-all-tight", trace: "mixed.csv", config: tight, cores: 4, cpuModel: .hold),
            Case(name: "mixed-all-tight-share", trace: "mixed.csv", config: tight, cores: 4),
        ]
    }

    /// The lines of a file that are not `#` comments.
    func body(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#") }.joined(separator: "\n")
    }

    func testSimulatedRecordsAndDecisionLogsMatchTheGoldenOutputs() throws {
        let record = ProcessInfo.processInfo.environment["PIPSQUEAK_RECORD_GOLDEN"] == "1"
        let tmp = NSTemporaryDirectory() + "pipsqueak-golden-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        for c in GoldenOutputTests.cases {
            var job = SimulateJob()
            job.tracePath = GoldenOutputTests.dir + "/" + c.trace
            job.packagesPath = GoldenOutputTests.dir + "/packages.csv"
            job.runtimeCostsPath = GoldenOutputTests.dir + "/runtime-costs.csv"
            job.importFrequencyPath = GoldenOutputTests.dir + "/import-frequency.csv"
            job.config = c.config
            job.cores = c.cores
            job.seed = c.seed
            job.noiseSigma = c.noise
            job.cpuModel = c.cpuModel
            job.recordsPath = tmp + "/\(c.name).records.csv"
            job.decisionsPath = tmp + "/\(c.name).decisions.log"
            _ = try job.run()
            for (made, golden) in [(job.recordsPath!, "\(c.name).records.csv"), (job.decisionsPath!, "\(c.name).decisions.log")] {
                let goldenPath = GoldenOutputTests.dir + "/" + golden
                if record {
                    try body(made).write(toFile: goldenPath, atomically: true, encoding: .utf8)
                    continue
                }
                let want = try body(goldenPath), got = try body(made)
                if want != got {
                    let w = want.split(separator: "\n", omittingEmptySubsequences: false), g = got.split(separator: "\n", omittingEmptySubsequences: false)
                    let i = zip(w, g).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? min(w.count, g.count)
                    XCTFail("\(c.name): \(golden) differs from the golden output at line \(i + 1):\n  golden: \(i < w.count ? String(w[i]) : "<end>")\n  now:    \(i < g.count ? String(g[i]) : "<end>")")
                }
            }
        }
        if record { print("golden outputs written to \(GoldenOutputTests.dir)") }
    }
}
