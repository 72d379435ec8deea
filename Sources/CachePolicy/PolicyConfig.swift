import Foundation

/// The cache configuration of a worker: which tiers are on, their budgets and policies. Read from JSON
/// (every field optional; missing ones keep the preset's value) or chosen by preset name.
public struct PolicyConfig: Codable, Equatable, Sendable {
    public struct HandlerCache: Codable, Equatable, Sendable {
        public var enabled = true
        /// Memory for paused containers, MB.
        public var memoryMB: Double = 4096
        /// Eviction policy by name: see `HandlerEvictionRegistry`.
        public var policy = "lru"
        /// Keep-alive for the `ttl` policy, seconds.
        public var ttlSeconds: Double = 600
        /// Count running containers against the budget too (FaasCache's model: a start evicts paused
        /// containers to make room for itself); false: the budget holds paused containers only (the paper's).
        public var countRunning = false
    }

    public struct ImportCache: Codable, Equatable, Sendable {
        public var enabled = true
        /// Memory for zygotes, MB.
        public var memoryMB: Double = 2048
        /// Tree shape: `static` (top-K popular packages, created at start) or `dynamic` (a zygote for a
        /// handler's package set once it has been asked for `threshold` times).
        public var tree = "dynamic"
        public var topK = 20
        public var threshold = 2
        /// Zygote eviction: `lru` or `saved-per-byte` (import time saved per byte of memory).
        public var eviction = "lru"
    }

    public struct InstallCache: Codable, Equatable, Sendable {
        public var enabled = true
        /// Disk for installed packages, MB.
        public var diskMB: Double = 20480
        /// Install the K most popular packages before the first request.
        public var preinstallTop = 0
    }

    public var name = "custom"
    public var handlerCache = HandlerCache()
    public var importCache = ImportCache()
    public var installCache = InstallCache()

    public init() {}

    /// The paper's configurations.
    public static let presets: [String: PolicyConfig] = {
        func make(_ name: String, h: Bool, m: Bool, s: Bool) -> PolicyConfig {
            var c = PolicyConfig()
            c.name = name
            c.handlerCache.enabled = h; c.importCache.enabled = m; c.installCache.enabled = s
            return c
        }
        return ["none": make("none", h: false, m: false, s: false), "h": make("h", h: true, m: false, s: false),
                "hm": make("hm", h: true, m: true, s: false), "hs": make("hs", h: true, m: false, s: true),
                "all": make("all", h: true, m: true, s: true)]
    }()

    /// Every key a config file may give, with its default (preset `all`) and meaning: what `--help` and
    /// the README show.
    public static let keyDescriptions: [(key: String, meaning: String)] = [
        ("name", "a label for outputs (default: the preset's name, or custom)"),
        ("preset", "start from this preset (none, h, hm, hs, all) before the keys below; default all, or --preset"),
        ("handlerCache.enabled", "keep paused containers (default true)"),
        ("handlerCache.memoryMB", "memory for paused containers, MB (4096)"),
        ("handlerCache.policy", "eviction: \(HandlerEvictionRegistry.names.joined(separator: ", ")) (lru)"),
        ("handlerCache.ttlSeconds", "keep-alive of the ttl policy, s (600)"),
        ("handlerCache.countRunning", "count running containers against the budget too, as FaasCache does (false: paused ones only, as the paper)"),
        ("importCache.enabled", "keep zygotes (true)"),
        ("importCache.memoryMB", "memory for zygotes, MB (2048)"),
        ("importCache.tree", "static (top-K popular packages, built at start) or dynamic (a zygote per package set asked for threshold times) (dynamic)"),
        ("importCache.topK", "zygotes of the static tree, a whole number (20)"),
        ("importCache.threshold", "misses of a package set before the dynamic tree builds its zygote, a whole number >= 1 (2)"),
        ("importCache.eviction", "zygote eviction: lru or saved-per-byte (lru)"),
        ("installCache.enabled", "keep installed packages (true)"),
        ("installCache.diskMB", "disk for installed packages, MB (20480)"),
        ("installCache.preinstallTop", "install this many of the most popular packages before the first request, a whole number (0)"),
    ]

    /// The config in the config-file format, keys sorted (what `pipsqueak config show` prints).
    public var prettyJSON: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        return (try? enc.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public static let presetDescriptions: [(String, String)] = [
        ("none", "every start is cold: download, install, interpreter, import"),
        ("h", "handler cache only (paused containers)"),
        ("hm", "handler cache + import cache (zygotes)"),
        ("hs", "handler cache + install cache"),
        ("all", "handler, import and install caches"),
    ]

    public static func preset(_ name: String) throws -> PolicyConfig {
        guard let p = presets[name] else {
            throw PolicyError.unknownName(kind: "preset", name: name, known: presetDescriptions.map(\.0))
        }
        return p
    }

    /// Parses a JSON config (the bytes of the file `path`, which names it in errors); fields not given keep
    /// the values of `base` (by default the `all` preset). Pure: reading the file is the caller's (a
    /// command's) business.
    public static func parse(_ data: Data, path: String, base: PolicyConfig? = nil) throws -> PolicyConfig {
        var c = base ?? presets["all"]!
        do {
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw PolicyError.badConfig(path: path, "expected a JSON object at the top")
            }
            try c.apply(obj, path: path)
        } catch let e as PolicyError { throw e } catch {
            throw PolicyError.badConfig(path: path, "not valid JSON: \(lineOf(error: error, in: data))")
        }
        try c.validate(path: path)
        return c
    }

    /// Where JSON stopped parsing, as "line L, column C: what" (the line and column of the byte the parser
    /// names, or of the first byte that cannot start or continue a JSON value when it names none).
    /// Whether a value JSONSerialization parsed is `true`/`false` (not a number).
    static func isJSONBool(_ v: Any) -> Bool {
        if let n = v as? NSNumber, !(type(of: v) is Bool.Type) { return String(cString: n.objCType) == "c" }
        return v is Bool
    }

    static func lineOf(error: Error, in data: Data) -> String {
        let ns = error as NSError
        let index = (ns.userInfo["NSJSONSerializationErrorIndex"] as? Int) ?? firstBadByte(data)
        let before = data.prefix(index)
        let line = before.filter { $0 == 10 }.count + 1
        let column = before.count - (before.lastIndex(of: 10).map { $0 + 1 } ?? 0) + 1
        return "line \(line), column \(column): \(ns.localizedDescription)"
    }

    /// A rough locator when the parser names no position: the first `,` or `}` or `]` that follows a `:`,
    /// `,`, `[` or `{` with only blanks between (a value is missing there), else the end.
    static func firstBadByte(_ data: Data) -> Int {
        var last: UInt8 = 0
        for (i, b) in data.enumerated() where b != 32 && b != 9 && b != 10 && b != 13 {
            if (b == 44 || b == 125 || b == 93) && (last == 58 || last == 44 || last == 91 || last == 123) && !(b == 125 && last == 123) && !(b == 93 && last == 91) { return i }
            last = b
        }
        return data.count
    }

    mutating func apply(_ obj: [String: Any], path: String) throws {
        let known: Set = ["name", "preset", "handlerCache", "importCache", "installCache"]
        for k in obj.keys where !known.contains(k) {
            throw PolicyError.badConfig(path: path, "unknown key '\(k)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        if let p = obj["preset"] {
            guard let s = p as? String else { throw PolicyError.badConfig(path: path, "'preset' must be a string") }
            self = try PolicyConfig.preset(s)
        }
        if let n = obj["name"] { guard let s = n as? String else { throw PolicyError.badConfig(path: path, "'name' must be a string") }; name = s }
        func section(_ key: String) throws -> [String: Any]? {
            guard let v = obj[key] else { return nil }
            guard let d = v as? [String: Any] else { throw PolicyError.badConfig(path: path, "'\(key)' must be an object") }
            return d
        }
        func num(_ d: [String: Any], _ sec: String, _ k: String) throws -> Double? {
            guard let v = d[k] else { return nil }
            // JSON's true and false are booleans, not numbers (on Linux a 0 or 1 NSNumber also says `is Bool`:
            // the parsed type tells them apart).
            guard let n = v as? NSNumber, !PolicyConfig.isJSONBool(v), n.doubleValue.isFinite, abs(n.doubleValue) <= 1e9 else {
                throw PolicyError.badConfig(path: path, "'\(sec).\(k)' must be a number between -1e9 and 1e9")
            }
            return n.doubleValue
        }
        func int(_ d: [String: Any], _ sec: String, _ k: String) throws -> Int? {
            guard let v = try num(d, sec, k) else { return nil }
            guard v == v.rounded() else { throw PolicyError.badConfig(path: path, "'\(sec).\(k)' must be a whole number, found \(v)") }
            return Int(v)
        }
        func bool(_ d: [String: Any], _ sec: String, _ k: String) throws -> Bool? {
            guard let v = d[k] else { return nil }
            guard PolicyConfig.isJSONBool(v), let b = v as? Bool else { throw PolicyError.badConfig(path: path, "'\(sec).\(k)' must be true or false") }
            return b
        }
        func str(_ d: [String: Any], _ sec: String, _ k: String) throws -> String? {
            guard let v = d[k] else { return nil }
            guard let s = v as? String else { throw PolicyError.badConfig(path: path, "'\(sec).\(k)' must be a string") }
            return s
        }
        func checkKeys(_ d: [String: Any], _ sec: String, _ allowed: [String]) throws {
            for k in d.keys where !allowed.contains(k) {
                throw PolicyError.badConfig(path: path, "unknown key '\(sec).\(k)' (known: \(allowed.joined(separator: ", ")))")
            }
        }
        if let d = try section("handlerCache") {
            try checkKeys(d, "handlerCache", ["enabled", "memoryMB", "policy", "ttlSeconds", "countRunning"])
            if let v = try bool(d, "handlerCache", "countRunning") { handlerCache.countRunning = v }
            if let v = try bool(d, "handlerCache", "enabled") { handlerCache.enabled = v }
            if let v = try num(d, "handlerCache", "memoryMB") { handlerCache.memoryMB = v }
            if let v = try str(d, "handlerCache", "policy") { handlerCache.policy = v }
            if let v = try num(d, "handlerCache", "ttlSeconds") { handlerCache.ttlSeconds = v }
        }
        if let d = try section("importCache") {
            try checkKeys(d, "importCache", ["enabled", "memoryMB", "tree", "topK", "threshold", "eviction"])
            if let v = try bool(d, "importCache", "enabled") { importCache.enabled = v }
            if let v = try num(d, "importCache", "memoryMB") { importCache.memoryMB = v }
            if let v = try str(d, "importCache", "tree") { importCache.tree = v }
            if let v = try int(d, "importCache", "topK") { importCache.topK = v }
            if let v = try int(d, "importCache", "threshold") { importCache.threshold = v }
            if let v = try str(d, "importCache", "eviction") { importCache.eviction = v }
        }
        if let d = try section("installCache") {
            try checkKeys(d, "installCache", ["enabled", "diskMB", "preinstallTop"])
            if let v = try bool(d, "installCache", "enabled") { installCache.enabled = v }
            if let v = try num(d, "installCache", "diskMB") { installCache.diskMB = v }
            if let v = try int(d, "installCache", "preinstallTop") { installCache.preinstallTop = v }
        }
    }

    /// Checks names against the registries and numbers against their ranges.
    public func validate(path: String = "config") throws {
        _ = try HandlerEvictionRegistry.make(handlerCache.policy, ttlNanos: 1)
        guard ZygoteEviction(rawValue: importCache.eviction) != nil else {
            throw PolicyError.unknownName(kind: "zygote eviction policy", name: importCache.eviction, known: ZygoteEviction.allCases.map(\.rawValue))
        }
        guard TreeShape(rawValue: importCache.tree) != nil else {
            throw PolicyError.unknownName(kind: "zygote tree shape", name: importCache.tree, known: TreeShape.allCases.map(\.rawValue))
        }
        for (k, v) in [("handlerCache.memoryMB", handlerCache.memoryMB), ("importCache.memoryMB", importCache.memoryMB),
                       ("installCache.diskMB", installCache.diskMB), ("handlerCache.ttlSeconds", handlerCache.ttlSeconds)] where !(v >= 0) {
            throw PolicyError.badConfig(path: path, "'\(k)' must be >= 0, found \(v)")
        }
        if importCache.threshold < 1 { throw PolicyError.badConfig(path: path, "'importCache.threshold' must be >= 1") }
        if importCache.topK < 0 || installCache.preinstallTop < 0 { throw PolicyError.badConfig(path: path, "'topK' and 'preinstallTop' must be >= 0") }
    }

    /// One line: the tiers and their settings, for summaries and file headers.
    public var summary: String {
        var parts: [String] = []
        parts.append(handlerCache.enabled ? "handler cache \(Int(handlerCache.memoryMB)) MB \(handlerCache.policy)\(handlerCache.policy == "ttl" ? " \(handlerCache.ttlSeconds) s" : "")\(handlerCache.countRunning ? " (running counted)" : "")" : "no handler cache")
        parts.append(importCache.enabled ? "import cache \(Int(importCache.memoryMB)) MB \(importCache.tree) tree (\(importCache.tree == "static" ? "top \(importCache.topK)" : "threshold \(importCache.threshold)")) \(importCache.eviction)" : "no import cache")
        parts.append(installCache.enabled ? "install cache \(Int(installCache.diskMB)) MB\(installCache.preinstallTop > 0 ? " preinstall top \(installCache.preinstallTop)" : "")" : "no install cache")
        return "\(name): " + parts.joined(separator: ", ")
    }
}

public enum TreeShape: String, CaseIterable, Sendable { case `static`, dynamic }
public enum ZygoteEviction: String, CaseIterable, Sendable { case lru, savedPerByte = "saved-per-byte" }

public enum PolicyError: Error, CustomStringConvertible, Equatable {
    case unknownName(kind: String, name: String, known: [String])
    case badConfig(path: String, String)

    public var description: String {
        switch self {
        case .unknownName(let kind, let name, let known): return "unknown \(kind) '\(name)'; known: \(known.joined(separator: ", "))"
        case .badConfig(let path, let m): return "\(path): \(m)"
        }
    }
}
