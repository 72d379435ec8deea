import CachePolicy
import Foundation
import Runtime
import Workload

/// The handlers a worker serves, in OpenLambda's layout: `ROOT/<name>/f.py` defining `f(event)`, and an
/// optional `ROOT/<name>/requirements.txt` of exact pins (`name==version`, one per line, dependencies
/// included). A folder added or changed while the worker runs is picked up by the next request for it:
/// a changed `f.py` or `requirements.txt` registers a new version (`name@2`, …) whose containers start fresh,
/// while requests of the old version already running finish on its code.
public final class HandlerRegistry: @unchecked Sendable {
    public let root: String
    let worker: RuntimeWorker
    private let lock = NSLock()

    /// What a folder looked like when it was registered: size and modification time of its two files.
    struct Stamp: Equatable {
        var code: (size: Int64, mtimeNanos: Int64)
        var requirements: (size: Int64, mtimeNanos: Int64)?
        static func == (a: Stamp, b: Stamp) -> Bool {
            a.code == b.code && a.requirements?.size == b.requirements?.size && a.requirements?.mtimeNanos == b.requirements?.mtimeNanos
        }
    }
    struct Entry {
        var id: Int32
        var stamp: Stamp
        var version: Int
    }
    private var entries: [String: Entry] = [:]
    /// Handlers the worker was built with (a trace's), by name: served as they are, never looked up on disk.
    private var fixed: [String: Int32] = [:]

    public enum LookupError: Error, CustomStringConvertible {
        /// No such handler folder (HTTP 404).
        case notFound(String)
        /// The folder exists but cannot be served: a bad requirements file, a package the worker cannot
        /// install (HTTP 500, with this message).
        case invalid(String)
        public var description: String {
            switch self { case .notFound(let m), .invalid(let m): return m }
        }
    }

    public init(root: String, worker: RuntimeWorker) {
        self.root = root
        self.worker = worker
    }

    /// Registered handlers (latest versions).
    public var count: Int { lock.withLock { entries.count + fixed.count } }

    /// Serves the worker's handler `id` (built in, as a trace's generated handlers are) under `name`.
    public func preregister(_ name: String, id: Int32) { lock.withLock { fixed[name] = id } }

    /// The handler id to plan for `name`, registering the folder (or its new version) first if needed.
    public func lookup(_ name: String) throws -> Int32 {
        if let id = lock.withLock({ fixed[name] }) { return id }
        guard HandlerRegistry.isValidName(name) else { throw LookupError.notFound("no handler \(name): names are letters, digits, '.', '_' and '-'") }
        let folder = root + "/" + name
        guard let stamp = HandlerRegistry.stamp(folder) else {
            lock.withLock { _ = entries.removeValue(forKey: name) }
            throw LookupError.notFound("no handler \(name): \(folder)/f.py does not exist (a handler is a folder NAME in the registry with f.py defining f(event))")
        }
        return try lock.withLock {
            if let e = entries[name], e.stamp == stamp { return e.id }
            let version = (entries[name]?.version ?? 0) + 1
            let id = try register(name: name, folder: folder, version: version)
            entries[name] = Entry(id: id, stamp: stamp, version: version)
            return id
        }
    }

    /// Every handler folder in the registry now (names), sorted.
    public static func folders(_ root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { isValidName($0) && stamp(root + "/" + $0) != nil }.sorted()
    }

    private func register(name: String, folder: String, version: Int) throws -> Int32 {
        let pins: [Pin]
        do { pins = try HandlerRegistry.requirements(folder) } catch { throw LookupError.invalid("\(error)") }
        for p in pins {
            guard let known = worker.package(named: p.name) else {
                throw LookupError.invalid("handler \(name): \(folder)/requirements.txt line \(p.line): \(p.name) is not in this worker's package catalog (the packages are fixed when the worker starts: restart it to add \(p.name))")
            }
            guard known.version == p.version else {
                throw LookupError.invalid("handler \(name): \(folder)/requirements.txt line \(p.line) pins \(p.name)==\(p.version), but this worker serves \(p.name) \(known.version) (its package table); pin that version, or restart the worker so it takes this pin")
            }
        }
        let h = Handler(id: version == 1 ? name : "\(name)@\(version)", customer: name, packages: pins.map(\.name))
        do { return try worker.addHandler(h, folder: folder) } catch { throw LookupError.invalid("handler \(name): \(error)") }
    }

    /// A pinned requirement, with its line in requirements.txt.
    public struct Pin: Equatable, Sendable {
        public var name: String
        public var version: String
        public var line: Int
    }

    /// Reads `FOLDER/requirements.txt` (none: no requirements). Every line is blank, a comment, or an exact
    /// pin `name==version` (an inline `# comment` allowed).
    /// - Throws: `InputError`-style message naming the file, the line and what was expected.
    public static func requirements(_ folder: String) throws -> [Pin] {
        let path = folder + "/requirements.txt"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw RegistryError("\(path): cannot be read as UTF-8 text")
        }
        return try parseRequirements(text, path: path)
    }

    public static func parseRequirements(_ text: String, path: String) throws -> [Pin] {
        var out: [Pin] = [], seen = Set<String>()
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let s = line.trimmingCharacters(in: .whitespaces)
            if s.isEmpty { continue }
            let parts = s.components(separatedBy: "==")
            let nameOK = parts.count == 2 && !parts[0].isEmpty && parts[0].allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) }
            let versionOK = parts.count == 2 && !parts[1].isEmpty && parts[1].allSatisfy { $0.isLetter || $0.isNumber || ".+!_-".contains($0) }
            guard nameOK && versionOK else {
                throw RegistryError("\(path) line \(i + 1): expected an exact pin name==version (every dependency pinned, as OpenLambda requires), found '\(s)'")
            }
            let name = PackageName.canonical(parts[0].trimmingCharacters(in: .whitespaces))
            guard seen.insert(name).inserted else { throw RegistryError("\(path) line \(i + 1): \(name) is pinned twice") }
            out.append(Pin(name: name, version: parts[1].trimmingCharacters(in: .whitespaces), line: i + 1))
        }
        return out
    }

    static func isValidName(_ s: String) -> Bool {
        guard let first = s.first, first.isLetter || first.isNumber, s.count <= 64 else { return false }
        return s.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || "._-".contains($0) }
    }

    static func stamp(_ folder: String) -> Stamp? {
        guard let code = Sys.regularFileStamp(folder + "/f.py") else { return nil }
        return Stamp(code: code, requirements: Sys.regularFileStamp(folder + "/requirements.txt"))
    }
}

public struct RegistryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
