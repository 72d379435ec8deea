import Foundation
import Synchronization
import Workload

/// The install cache on disk: one directory per name-version under `root`, filled by pip running inside a
/// sandbox (never as a bare host process) from the wheelhouse, which plays the paper's local mirror.
public final class PackageStore {
    public let root: String
    public let wheelhouse: String
    let staging: String
    let worker: WorkerScript
    let cgroups: Cgroups
    let sandboxBase: String
    /// Numbers each sandbox and staging directory (installs run from several threads at once).
    let installSeq = Atomic<Int>(0)
    /// Fetch a wheel missing from the wheelhouse from the package index (pip download, sandboxed).
    public var online = false
    var python: PythonInterpreter?

    init(root: String, wheelhouse: String, worker: WorkerScript, cgroups: Cgroups, sandboxBase: String) throws {
        self.root = root
        self.wheelhouse = wheelhouse
        self.worker = worker
        self.cgroups = cgroups
        self.sandboxBase = sandboxBase
        staging = root + "/.staging"
        try Sys.mkdirs(staging)
    }

    public func directory(_ p: Package) -> String { root + "/\(p.name)-\(p.version)" }

    /// Where a package installed privately for one container or zygote (`owner`: "c3", "z2") lives: not in
    /// the shared cache, so replacing it never pulls files from under another container.
    public func privateDirectory(_ p: Package, owner: String) -> String { root + "/private/\(owner)/\(p.name)-\(p.version)" }

    /// Removes everything installed privately for `owner`.
    public func removePrivate(owner: String) { try? FileManager.default.removeItem(atPath: root + "/private/" + owner) }
    public func isInstalled(_ p: Package) -> Bool { Sys.exists(directory(p) + "/.pipsqueak-installed") }

    /// Finds the package's wheel in the wheelhouse (names compared after PEP 503 normalisation).
    func wheel(_ p: Package) throws -> String {
        guard let f = PackageStore.wheel(name: p.name, version: p.version, in: wheelhouse) else {
            throw RuntimeError.unavailable("no wheel for \(p.name) \(p.version) in the wheelhouse \(wheelhouse) (fill it with `pipsqueak measure \(p.name)`, or let the run fetch missing wheels from the package index with --online)")
        }
        return f
    }

    /// The path of `name` `version`'s wheel in `wheelhouse` (names compared after PEP 503 normalisation), or
    /// nil when it has none. `files`: the wheelhouse's listing, when the caller looks up many (else it is read).
    public static func wheel(name: String, version: String, in wheelhouse: String, files: [String]? = nil) -> String? {
        let files = files ?? (try? FileManager.default.contentsOfDirectory(atPath: wheelhouse)) ?? []
        let want = PackageName.canonical(name.replacingOccurrences(of: "-", with: "_") + "-" + version + "-").replacingOccurrences(of: "-", with: "_")
        return files.sorted().first(where: { $0.hasSuffix(".whl") && PackageName.canonical($0).replacingOccurrences(of: "-", with: "_").hasPrefix(want) })
            .map { wheelhouse + "/" + $0 }
    }

    /// "Download": fetch the wheel from the mirror into staging (with `online`, from the index into the
    /// mirror first when it lacks it). Returns the staged path and ns taken.
    public func download(_ p: Package) throws -> (String, Int64) {
        let t0 = Sys.monotonicNanos()
        let src: String
        if online, (try? wheel(p)) == nil, let py = python {
            try fetchFromIndex(p, python: py)
        }
        src = try wheel(p)
        // Its own staging folder: two requests may fetch one wheel at once (one shared, one private install).
        let folder = staging + "/\(installSeq.add(1, ordering: .relaxed).newValue)"
        try Sys.mkdirs(folder)
        let dst = folder + "/" + (src as NSString).lastPathComponent
        try? FileManager.default.removeItem(atPath: dst)
        do { try FileManager.default.copyItem(atPath: src, toPath: dst) } catch {
            try? FileManager.default.removeItem(atPath: folder) // a partial copy must not keep the disk full
            let posix = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
            throw RuntimeError.unavailable("fetching \(p.name) \(p.version) from the mirror into \(staging) failed: \(posix ?? "\(error)")")
        }
        return (dst, Sys.monotonicNanos() - t0)
    }

    /// Installs a staged wheel into its own directory with pip inside a sandbox: its own cgroup, mount
    /// namespace and read-only root, with only the wheel (read-only) and the target (writable) mounted.
    /// Returns ns taken.
    public func install(_ p: Package, wheel staged: String, python: PythonInterpreter, into target: String? = nil) throws -> Int64 {
        let t0 = Sys.monotonicNanos()
        defer { try? FileManager.default.removeItem(atPath: (staged as NSString).deletingLastPathComponent) } // installed or not, the staged wheel goes
        let dir = target ?? directory(p)
        try? FileManager.default.removeItem(atPath: dir)
        try Sys.mkdirs(dir)
        let inside = "/wheel/" + (staged as NSString).lastPathComponent
        let r = try sandboxedPip(kind: "install", mounts: [(staged, inside, false), (dir, "/target", true)], python: python,
                                 arguments: ["install", "--no-deps", "--no-index", "--no-cache-dir", "--root-user-action=ignore",
                                             "--target", "/target", inside])
        guard r.succeeded else {
            try? FileManager.default.removeItem(atPath: dir)
            throw RuntimeError.python("pip install of \(p.name) \(p.version) failed in its sandbox: \(r.lastErrorLine)")
        }
        _ = FileManager.default.createFile(atPath: dir + "/.pipsqueak-installed", contents: nil)
        return Sys.monotonicNanos() - t0
    }

    /// `pip download` of one wheel into the wheelhouse, run in a sandbox like an install (the wheelhouse is
    /// its only writable mount; name resolution and certificates are mounted read-only).
    func fetchFromIndex(_ p: Package, python: PythonInterpreter) throws {
        var mounts: [(String, String, Bool)] = [(wheelhouse, "/wheelhouse", true)]
        for f in ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl", "/etc/pip.conf"] where Sys.exists(f) { mounts.append((f, f, false)) }
        let r = try sandboxedPip(kind: "download", mounts: mounts, python: python,
                                 arguments: ["download", "--no-deps", "--only-binary=:all:", "--dest", "/wheelhouse", "\(p.name)==\(p.version)"])
        guard r.succeeded else { throw RuntimeError.python("pip download of \(p.name) \(p.version) failed: \(r.lastErrorLine)") }
    }

    /// Runs pip with `arguments` in a fresh sandbox (own cgroup, namespaces, read-only root with `mounts`),
    /// removed afterwards. pip unpacks into /tmp, so the sandbox gets a roomy tmpfs (memory only as used).
    func sandboxedPip(kind: String, mounts: [(String, String, Bool)], python: PythonInterpreter,
                      arguments: [String]) throws -> ChildProcess.Result {
        let name = "\(kind)-\(Sys.pid)-\(installSeq.add(1, ordering: .relaxed).newValue)"
        let group = cgroups.group(name)
        try group.create(memoryLimitBytes: 2 << 30, pidsLimit: 256)
        defer { try? group.destroy() }
        let sandbox = try ContainerRoot(base: sandboxBase, name: name, python: python)
        defer { sandbox.remove() }
        try sandbox.prepare(mounts: mounts)
        let cfg: [String: Any] = ["container": sandbox.config(cgroup: group, hostname: "pip", tmpMB: 4096),
                                  "pip_args": arguments + ["--disable-pip-version-check", "--quiet"]]
        return try worker.run(mode: "install", config: cfg, python: python, timeoutSeconds: 600)
    }

    public func remove(_ p: Package) { try? FileManager.default.removeItem(atPath: directory(p)) }
}
