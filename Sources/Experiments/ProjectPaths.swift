import Foundation
import Workload

/// Where the project's shipped data lives. The tool is run from a checkout; it finds the checkout's root
/// (the folder holding `traces/import-frequency.csv`) from `PIPSQUEAK_ROOT`, the working directory or the
/// executable's location, in that order.
public enum ProjectPaths {
    public static var root: String {
        if let r = cachedRoot { return r }
        let candidates: [String] = [
            ProcessInfo.processInfo.environment["PIPSQUEAK_ROOT"],
            FileManager.default.currentDirectoryPath,
            URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent().path,
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

    /// Creates the parent directory of `path` if it is missing.
    public static func ensureParent(of path: String) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
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
    public static var summary: String {
        let host = ProcessInfo.processInfo.hostName
        var cpu = "unknown CPU"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return "\(host), \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.operatingSystemVersionString)"
    }

    public static var date: String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date())
    }
}
