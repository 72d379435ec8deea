import CachePolicy
import Foundation
import POSIX
import Runtime
import Simulation
import Statistics
import Workload

/// What a compare's real side measured, kept beside its CSV (`results/compare-NAME.real.json.gz`) so that the
/// simulation can be run again on it (`pipsqueak resimulate`): a model change is then judged in seconds against
/// real runs already made, instead of a campaign of real runs.
extension CompareJob {
    public struct RealSide: Codable {
        /// Bumped when a field changes meaning; a file of another format is refused with what to do.
        public static let currentFormat = 1
        public var format = RealSide.currentFormat
        /// The compare that made it: its command line, date and machine.
        public var madeBy = "", date = "", machine = ""
        /// The job as it ran (what the simulation needs of it).
        public var setup = Setup()
        /// The inputs the simulation reads again (trace, handlers, package table) by path: a digest of each file's
        /// contents, so a changed input is refused rather than simulated as if it were the one the real side ran.
        public var digests: [String: String] = [:]
        /// The popular packages the planner was given (read from the import-frequency file at the time).
        public var popular: [String] = []
        /// The package table's import costs × this in both executors' planners (the speed probe's, 1 without it).
        public var importScale = 1.0
        /// The runtime costs the simulation uses (the file's, with the hit probe's figures in: `useProbes`), as
        /// the runtime cost file's text (a primitive added since reads as its default), and where they came from.
        var runtimeText = "", runtimeSource = ""
        public var speed: SpeedCheck?, speedNote = ""
        public var installs: InstallCheck?, installNote = ""
        public var hits: HitCheck?, hitNote = ""
        /// What reclaims cached file pages on the machine the real runs ran on (`PageCacheReclaim`; nil in real
        /// sides kept before it was said).
        public var pageCache: String?
        /// Every real run in order: the first is the one the simulation is fed (its outcomes) and joined to.
        var runs: [Run] = []

        public init() {}

        /// The job's fields the simulation and the report depend on.
        public struct Setup: Codable {
            public var name = "", tracePath = "", handlersPath: String?, packagesPath = ""
            public var runtimeCostsPath: String?
            public var config = PolicyConfig.presets["all"]!
            public var seed: UInt64 = 1, speed = 1.0, limit: Int?
            public var cores = 1, queueLimit = 64, realRuns = 1, simSeeds = CompareJob.defaultSimSeeds
            public var cpuModel = CPUModelName.share.rawValue
            public var speedProbe = true, hitProbe = true, installProbe = true, chargeInstalls = true
        }

        /// The runtime costs the simulation uses, with `settings` (`resimulate --set NAME=VALUE`) in place of the
        /// kept rows' values: a row with a spread keeps its shape, scaled by new over old (a constant where the
        /// old value was 0); a row the kept text lacks is added. The reader validates them as it does a file's
        /// (an unknown name or a value out of range is an error naming the row).
        public func runtime(setting settings: [(name: String, value: Double)] = []) throws -> RuntimeCosts {
            let text = try RealSide.setting(settings, in: runtimeText)
            var r: RuntimeCosts
            do {
                r = try RealSide.throughScratchFile { path in
                    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                    return try RuntimeCosts.read(path: path)
                }
            } catch let e as InputError where !settings.isEmpty {
                // The scratch file's name means nothing to the user: say which setting it was.
                let line = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(max(0, e.line - 1)).first.map(String.init) ?? ""
                throw InputError(file: "resimulate --set", line: 0, "the runtime cost row '\(line.split(separator: ",").first ?? "")' as set (\(settings.map { "\($0.name)=\(String(format: "%g", $0.value))" }.joined(separator: " "))): \(e.message)")
            }
            r.source = runtimeSource + settings.map { String(format: ", %@ set to %g by resimulate", $0.name, $0.value) }.joined()
            return r
        }

        /// A runtime cost file's text with each setting's row's value replaced (or the row added).
        static func setting(_ settings: [(name: String, value: Double)], in text: String) throws -> String {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let width = RuntimeCosts.columns.count
            for (name, value) in settings {
                guard !name.isEmpty, !name.contains(","), value.isFinite else {
                    throw InputError(file: "--set", line: 0, "expected NAME=VALUE with a runtime cost row's name and a number, found '\(name)=\(value)'")
                }
                let v = String(format: "%.6f", value)
                if let i = lines.firstIndex(where: { $0.hasPrefix(name + ",") }) {
                    var f = lines[i].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    let old = Double(f[1]) ?? 0
                    for k in 3..<f.count where !f[k].isEmpty {
                        f[k] = old > 0 ? String(format: "%.6f", (Double(f[k]) ?? 0) * value / old) : ""
                    }
                    f[1] = v
                    lines[i] = f.joined(separator: ",")
                } else {
                    let at = lines.last == "" ? lines.count - 1 : lines.count
                    lines.insert(([name, v, ""] + Array(repeating: "", count: width - 3)).joined(separator: ","), at: at)
                }
            }
            return lines.joined(separator: "\n")
        }

        public mutating func setRuntime(_ r: RuntimeCosts) throws {
            runtimeText = try RealSide.throughScratchFile { path in
                try r.write(path: path, comments: [], exact: true)
                return try String(contentsOfFile: path, encoding: .utf8)
            }
            runtimeSource = r.source
        }

        /// `body` given a scratch file's path (the cost file's reader and writer work on files), removed after.
        static func throughScratchFile<T>(_ body: (String) throws -> T) throws -> T {
            let tmp = FileManager.default.temporaryDirectory.path + "/pipsqueak-runtime-costs-\(Sys.pid).csv"
            TemporaryFiles.register(tmp)
            defer { TemporaryFiles.forget(tmp); Sys.unlink(tmp) }
            return try body(tmp)
        }

        /// Writes it gzipped, atomically (a temporary file renamed into place).
        public func write(path: String) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let json = try encoder.encode(self)
            let tmp = "\(path).tmp-\(Sys.pid)"
            TemporaryFiles.register(tmp)
            defer { TemporaryFiles.forget(tmp); Sys.unlink(tmp) }
            try RealSide.gzip(json, to: tmp)
            try Sys.rename(tmp, path)
        }

        /// Reads one `write` made; a missing or foreign file is an error naming it and what was expected.
        public static func read(path: String) throws -> RealSide {
            guard FileManager.default.fileExists(atPath: path) else {
                throw InputError(file: path, line: 0, "no such file: expected the real side a compare kept (results/compare-NAME.real.json.gz)")
            }
            let data = try gunzip(path)
            struct Format: Decodable { var format: Int? }
            guard let f = try? JSONDecoder().decode(Format.self, from: data), let v = f.format else {
                throw InputError(file: path, line: 0, "not the real side of a compare (expected gzipped JSON with a 'format' field)")
            }
            guard v == currentFormat else {
                throw InputError(file: path, line: 0, "format \(v), this pipsqueak reads format \(currentFormat): run the compare again to make it anew")
            }
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            do { return try decoder.decode(RealSide.self, from: data) } catch {
                throw InputError(file: path, line: 0, "cannot read the real side: \(error)")
            }
        }

        /// Each input's digest now against the one recorded; the first that differs is an error naming it.
        public func checkInputs() throws {
            for (path, digest) in digests.sorted(by: { $0.key < $1.key }) {
                let here = CompareJob.resolved(path), now = try RealSide.digest(here)
                if now != digest {
                    throw InputError(file: here, line: 0, "changed since the real side was measured (digest \(now), recorded \(digest)): simulating it would not be simulating what ran")
                }
            }
        }

        /// FNV-1a (64 bits) of a file's bytes, in hex: enough to tell a changed input from the same one.
        public static func digest(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InputError(file: path, line: 0, "cannot read (the real side was measured with it)")
            }
            var h = FNV1a()
            h.add(data)
            return String(h.value, radix: 16)
        }

        static func gzip(_ data: Data, to path: String) throws {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw InputError(file: path, line: 0, "cannot create")
            }
            let out = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? out.close() }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-n", "-c"]
            let input = Pipe()
            p.standardInput = input; p.standardOutput = out
            try p.run()
            input.fileHandleForWriting.write(data)
            try input.fileHandleForWriting.close()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw InputError(file: path, line: 0, "gzip failed (status \(p.terminationStatus))") }
        }

        static func gunzip(_ path: String) throws -> Data {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-d", "-c", path]
            let output = Pipe()
            p.standardOutput = output
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw InputError(file: path, line: 0, "not a gzip file (expected the real side a compare kept)") }
            return data
        }
    }

    /// A path inside the project as relative to its root (the real side is read in other clones too).
    static func portable(_ path: String) -> String {
        path.hasPrefix(ProjectPaths.root + "/") ? String(path.dropFirst(ProjectPaths.root.count + 1)) : path
    }

    /// A relative path from the real side: as it is from here when it exists, else from the project's root.
    static func resolved(_ path: String) -> String {
        path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) ? path : ProjectPaths.root + "/" + path
    }

    /// The setup of this job, as the real side records it.
    var realSetup: RealSide.Setup {
        var s = RealSide.Setup()
        s.name = name; s.tracePath = CompareJob.portable(run.tracePath); s.handlersPath = run.handlersPath.map(CompareJob.portable)
        s.packagesPath = CompareJob.portable(run.packagesPath); s.runtimeCostsPath = runtimeCostsPath.map(CompareJob.portable); s.config = run.config
        s.seed = run.seed; s.speed = run.speed; s.limit = run.limit
        s.cores = cores; s.queueLimit = queueLimit; s.realRuns = realRuns; s.simSeeds = simSeeds; s.cpuModel = cpuModel.rawValue
        s.speedProbe = speedProbe; s.hitProbe = hitProbe; s.installProbe = installProbe; s.chargeInstalls = chargeInstalls
        return s
    }

    /// A job set up as the one that measured `side` (its trace, config, cores, seeds, probes): `resimulate`
    /// then changes only what the simulation does.
    public init(resimulating side: RealSide, path: String) throws {
        self.init()
        let s = side.setup
        // Written beside the real side it came from (the compare's directory may be another clone's).
        name = s.name; outputDirectory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        run.tracePath = CompareJob.resolved(s.tracePath); run.handlersPath = s.handlersPath.map(CompareJob.resolved)
        run.packagesPath = CompareJob.resolved(s.packagesPath); runtimeCostsPath = s.runtimeCostsPath; run.config = s.config
        run.seed = s.seed; run.speed = s.speed; run.limit = s.limit
        cores = s.cores; queueLimit = s.queueLimit; realRuns = s.realRuns; simSeeds = s.simSeeds
        guard let m = CPUModelName(rawValue: s.cpuModel) else { throw InputError(file: path, line: 0, "unknown cpu model '\(s.cpuModel)'") }
        cpuModel = m
        speedProbe = s.speedProbe; hitProbe = s.hitProbe; installProbe = s.installProbe; chargeInstalls = s.chargeInstalls
        resimulated = (path, side.madeBy, side.date, side.machine)
    }

    /// Simulates `side` again with this job's simulation settings and writes the comparison as the compare
    /// did (`results/compare-NAME.csv`, with a `real side:` header line saying where the real runs came from).
    public func resimulate(_ side: RealSide, progress: @escaping (String) -> Void = { _ in }) throws -> Report {
        guard !side.runs.isEmpty else { throw InputError(file: resimulated?.path ?? "", line: 0, "holds no real run") }
        try side.checkInputs()
        let trace = try Trace(path: run.tracePath, handlersPath: run.handlersPath)
        let table = try PackageTable.read(path: run.packagesPath)
        return try judge(side, trace: trace, table: table, progress: progress)
    }
}

extension CompareJob.Run: Codable {
    enum CodingKeys: String, CodingKey { case records, decisions, outcomes, refused, forks, buildTimes, cpu, settle, selfCPU, threadCPU }
    struct SelfCPU: Codable { var cpu: Int64, wall: Int64 }
    struct Forks: Codable { var standby: Int, direct: Int }
    struct CPU: Codable { var busy: Double, steal: Double }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        records = try c.decode([RequestRecord].self, forKey: .records)
        decisions = try c.decode([String].self, forKey: .decisions)
        outcomes = try c.decode([Outcome].self, forKey: .outcomes)
        refused = try c.decode(Int.self, forKey: .refused)
        forks = try c.decodeIfPresent(Forks.self, forKey: .forks).map { ($0.standby, $0.direct) }
        cpu = try c.decodeIfPresent(CPU.self, forKey: .cpu).map { ($0.busy, $0.steal) }
        settle = try c.decodeIfPresent(MachineSettle.self, forKey: .settle)
        selfCPU = try c.decodeIfPresent(SelfCPU.self, forKey: .selfCPU).map { ($0.cpu, $0.wall) }
        threadCPU = try c.decodeIfPresent(ThreadCPU.self, forKey: .threadCPU)
        // [wall, imports] or, since the zygotes report it, [wall, imports, imports on a core].
        buildTimes = try c.decode([[Int64]].self, forKey: .buildTimes).map { (t: [Int64]) -> ZygoteBuildTime in
            ZygoteBuildTime(wall: t.first ?? 0, imports: t.count > 1 ? t[1] : 0, importsOnCPU: t.count > 2 ? t[2] : nil)
        }
        builds = CompareJob.Run.summary(ofBuilds: buildTimes)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(records, forKey: .records)
        try c.encode(decisions, forKey: .decisions)
        try c.encode(outcomes, forKey: .outcomes)
        try c.encode(refused, forKey: .refused)
        try c.encodeIfPresent(forks.map { Forks(standby: $0.standby, direct: $0.direct) }, forKey: .forks)
        try c.encodeIfPresent(cpu.map { CPU(busy: $0.busy, steal: $0.steal) }, forKey: .cpu)
        try c.encodeIfPresent(settle, forKey: .settle)
        try c.encodeIfPresent(selfCPU.map { SelfCPU(cpu: $0.cpu, wall: $0.wall) }, forKey: .selfCPU)
        try c.encodeIfPresent(threadCPU, forKey: .threadCPU)
        try c.encode(buildTimes.map { b in [b.wall, b.imports] + (b.importsOnCPU.map { [$0] } ?? []) }, forKey: .buildTimes)
    }
}

extension CompareJob.HitCheck: Codable {
    enum CodingKeys: String, CodingKey {
        case dispatchFile, dispatchBefore, dispatchAfter, thawFile, thawRun, invokeFile, invokeRun, handoffFile, handoffRun
        case dispatchWeight, alone, beside, failed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dispatch: (try c.decode(Double.self, forKey: .dispatchFile), try c.decodeIfPresent(Double.self, forKey: .dispatchBefore),
                             try c.decodeIfPresent(Double.self, forKey: .dispatchAfter)),
                  thaw: (try c.decode(Double.self, forKey: .thawFile), try c.decodeIfPresent(Double.self, forKey: .thawRun)),
                  invoke: (try c.decode(Double.self, forKey: .invokeFile), try c.decodeIfPresent(Double.self, forKey: .invokeRun)),
                  handoff: (try c.decode(Double.self, forKey: .handoffFile), try c.decodeIfPresent(Double.self, forKey: .handoffRun)))
        dispatchWeight = try c.decode(Double.self, forKey: .dispatchWeight)
        alone = try c.decode(Int.self, forKey: .alone); beside = try c.decode(Int.self, forKey: .beside)
        failed = try c.decode([String].self, forKey: .failed)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dispatch.file, forKey: .dispatchFile)
        try c.encodeIfPresent(dispatch.before, forKey: .dispatchBefore); try c.encodeIfPresent(dispatch.after, forKey: .dispatchAfter)
        try c.encode(thaw.file, forKey: .thawFile); try c.encodeIfPresent(thaw.run, forKey: .thawRun)
        try c.encode(invoke.file, forKey: .invokeFile); try c.encodeIfPresent(invoke.run, forKey: .invokeRun)
        try c.encode(handoff.file, forKey: .handoffFile); try c.encodeIfPresent(handoff.run, forKey: .handoffRun)
        try c.encode(dispatchWeight, forKey: .dispatchWeight)
        try c.encode(alone, forKey: .alone); try c.encode(beside, forKey: .beside)
        try c.encode(failed, forKey: .failed)
    }
}
