import Foundation
import POSIX
import Workload

/// Where the project's shipped data lives. The tool is run from a checkout; it finds the checkout's root
/// (the folder holding `traces/import-frequency.csv`) from `PIPSQUEAK_HOME`, the executable's location or
/// the working directory, in that order. Outputs a user did not place (a generated trace without --out) go
/// to the working directory, never into the project's shipped data.
public enum ProjectPaths {
    public static var root: String {
        if let r = cachedRoot { return r }
        // The documented rule: $PIPSQUEAK_HOME, else the project the executable was built in (a binary copied
        // elsewhere needs PIPSQUEAK_HOME), else the working directory; each searched upwards for traces/.
        let env = ProcessInfo.processInfo.environment
        let candidates: [String] = [
            env["PIPSQUEAK_HOME"] ?? env["PIPSQUEAK_ROOT"],
            URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent().path,
            FileManager.default.currentDirectoryPath,
        ].compactMap { $0 }
        for start in candidates {
            var url = URL(fileURLWithPath: start)
            for _ in 0..<8 {
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("traces/import-frequency.csv").path) {
                    cachedRoot = url.path
                    return url.path
                }
                url.deleteLastPathComponent()
            }
        }
        cachedRoot = FileManager.default.currentDirectoryPath
        return cachedRoot!
    }
    nonisolated(unsafe) private static var cachedRoot: String?

    public static func traces(_ name: String) -> String { root + "/traces/" + name }
    public static func results(_ name: String) -> String { root + "/results/" + name }
    public static var importFrequency: String { traces("import-frequency.csv") }
    public static var handlerSets: String { traces("handler-sets.csv") }
    public static var packages: String { traces("packages.csv") }
    public static var defaultMixedTrace: String { traces("mixed.csv") }

    /// `path` relative to the project's root when it is inside it (for file headers that must not change
    /// from one checkout to another), else as given.
    public static func relative(_ path: String) -> String {
        let abs = URL(fileURLWithPath: path).standardized.path
        let r = URL(fileURLWithPath: root).standardized.path + "/"
        return abs.hasPrefix(r) ? String(abs.dropFirst(r.count)) : path
    }

    /// Makes sure the folder an output file goes into exists. pipsqueak creates folders only inside the
    /// project (results/…, traces/…); anywhere else a missing folder is the user's typo, not an invitation:
    /// an error that names it, with nothing created.
    public static func ensureParent(of path: String) throws {
        let dir = URL(fileURLWithPath: path).standardized.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            if !isDir.boolValue { throw InputError(file: path, line: 0, "\(dir) is a file, not a folder") }
            return
        }
        let r = URL(fileURLWithPath: root).standardized.path + "/"
        guard (dir + "/").hasPrefix(r) else {
            throw InputError(file: path, line: 0, "the folder \(dir) does not exist (pipsqueak creates folders only inside its project, \(root))")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
}

/// The command line that made an output, for its `# made by:` header: the whole command as given (every
/// option, presets and configs and limits included), set once by the command-line tool; jobs run from
/// elsewhere (tests, benchmarks) fall back to a line rebuilt from their settings.
public enum Provenance {
    nonisolated(unsafe) public static var commandLine: String?

    /// The command as given, or `fallback`.
    public static func madeBy(_ fallback: @autoclosure () -> String) -> String { commandLine ?? fallback() }
}

/// A short description of the machine, for file headers: host, CPU model, cores, OS.
public enum MachineDescription {
    /// Read once per process (a sweep stamps it on every point it stores).
    public static let summary: String = {
        let host = ProcessInfo.processInfo.hostName
        var cpu = "unknown CPU"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return "\(host), \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.operatingSystemVersionString)"
    }()

    public static var date: String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date())
    }
}

/// Where a command's messages go.
public enum Console {
    /// Whether standard error is a terminal (progress then redraws one line; into a file, plain lines).
    public static var standardErrorIsTerminal: Bool { Sys.isTerminal(2) }
}

/// What SIGINT and SIGTERM do to a command.
public enum Interruptions {
    /// Remove the temporary files of outputs not yet committed, then end (the default for every command;
    /// `run` and `compare` replace it with `RunJob.stopOnInterrupt`, a clean stop).
    public static func removeTemporaryFiles() { TemporaryFiles.removeOnInterrupt() }
}

/// The machine's CPU time so far, from the first line of `/proc/stat` (Linux; every core, in clock ticks):
/// what a run shared its cores with. On a virtual machine `steal` is time the hypervisor ran other guests
/// while this one had work; a comparison whose real run lost cores that way ran on a slower machine than
/// its calibration, which no probe of the worker's own primitives says.
public struct MachineCPUTimes: Equatable, Sendable {
    public var busy: Int64, idle: Int64, steal: Int64

    /// The counters now; nil where `/proc/stat` cannot be read.
    public static func now(path: String = "/proc/stat") -> MachineCPUTimes? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return parse(text)
    }

    /// The aggregate `cpu` line: user nice system idle iowait irq softirq steal (guest time is inside user);
    /// nil when it is missing or short.
    public static func parse(_ text: String) -> MachineCPUTimes? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let v = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
        guard v.count >= 8 else { return nil }
        return MachineCPUTimes(busy: v[0] + v[1] + v[2] + v[5] + v[6], idle: v[3] + v[4], steal: v[7])
    }

    /// From `start` to this: the share of the machine's CPU time its own work took (every process, the
    /// kernel's interrupts), and the share the hypervisor took (steal); nil when no time passed.
    public func shares(since start: MachineCPUTimes) -> (busy: Double, steal: Double)? {
        let b = busy - start.busy, i = idle - start.idle, s = steal - start.steal
        let total = b + i + s
        guard total > 0, b >= 0, i >= 0, s >= 0 else { return nil }
        return (Double(b) / Double(total), Double(s) / Double(total))
    }

    /// A process's share of `cores` cores' time: its CPU over the wall times the cores (0 with no wall).
    public static func share(cpuNanos: Int64, wallNanos: Int64, cores: Int) -> Double {
        wallNanos > 0 && cores > 0 ? Double(cpuNanos) / (Double(wallNanos) * Double(cores)) : 0
    }

    /// `shares` as the headers write them: "N cores' time (/proc/stat): B% busy, S% stolen (…)".
    public static func describe(_ shares: (busy: Double, steal: Double)) -> String {
        let n = ProcessInfo.processInfo.activeProcessorCount
        return String(format: "%d core%@' time (/proc/stat: every process and the kernel; stolen: the hypervisor ran other guests): %.1f%% busy, %.1f%% stolen",
                      n, n == 1 ? "" : "s", 100 * shares.busy, 100 * shares.steal)
    }
}
