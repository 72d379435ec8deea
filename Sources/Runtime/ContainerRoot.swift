import Foundation

/// The skeleton of a container's root directory on the host. The process entering the container bind-mounts
/// into it inside its own mount namespace (so the mounts vanish with the container), then remounts it
/// read-only and chroots. Mounted read-only: /usr, /lib, /lib64, /bin, the interpreter's prefix, /etc/fonts,
/// /dev/null, /dev/zero, /dev/urandom, and whatever the container adds (handler code, packages); /tmp is a
/// private tmpfs. Nothing else of the host (no other part of /etc, not /root, not the runtime's state) is visible.
public final class ContainerRoot {
    public let path: String
    let python: PythonInterpreter
    var mounts: [(String, String, Bool)] = []

    init(base: String, name: String, python: PythonInterpreter) throws {
        path = base + "/" + name
        self.python = python
        try? FileManager.default.removeItem(atPath: path)
        try Sys.mkdirs(path)
    }

    /// Host directories every container sees read-only.
    var systemMounts: [(String, String, Bool)] {
        var m: [(String, String, Bool)] = []
        for d in ["/usr", "/lib", "/lib64", "/bin"] where Sys.exists(d) {
            var isLink: Bool { (try? FileManager.default.destinationOfSymbolicLink(atPath: d)) != nil }
            if isLink { continue } // merged-/usr systems: /lib -> usr/lib is recreated as a link below
            m.append((d, d, false))
        }
        m.append((python.prefix, python.prefix, false))
        // Font configuration, read-only: matplotlib's font cache otherwise prints a Fontconfig error on
        // every first import in a container. Nothing else of /etc.
        if Sys.exists("/etc/fonts") { m.append(("/etc/fonts", "/etc/fonts", false)) }
        for dev in ["/dev/null", "/dev/zero", "/dev/urandom"] { m.append((dev, dev, true)) }
        return m
    }

    /// Creates mount points for the system directories and `extra` (host, inside, writable).
    func prepare(mounts extra: [(String, String, Bool)]) throws {
        mounts = systemMounts + extra
        for d in ["/tmp", "/dev"] { try Sys.mkdirs(path + d) }
        for d in ["/lib", "/lib64", "/bin", "/sbin"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: d), !Sys.exists(path + d) {
                try FileManager.default.createSymbolicLink(atPath: path + d, withDestinationPath: target)
            }
        }
        for (host, inside, _) in mounts {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: host, isDirectory: &isDir) else {
                throw RuntimeError.unavailable("cannot mount \(host) into a container: it does not exist")
            }
            if isDir.boolValue { try Sys.mkdirs(path + inside) } else {
                try Sys.mkdirs((path + inside as NSString).deletingLastPathComponent)
                if !Sys.exists(path + inside) { _ = FileManager.default.createFile(atPath: path + inside, contents: nil) }
            }
        }
    }

    /// The `container` object the Python side's `relocate` reads.
    func config(cgroup: Cgroup, hostname: String, tmpMB: Int = 16) -> [String: Any] {
        ["cgroup_procs": cgroup.procsFiles, "root": path, "mounts": mounts.map { [$0.0, $0.1, $0.2] as [Any] },
         "tmp_mb": tmpMB, "hostname": hostname]
    }

    /// Makes this root a shared base for handler containers: the system directories are bind-mounted
    /// read-only once, here in the host's namespace, and mount points for `/handler` and `extraPoints` are
    /// created. A container then needs one recursive bind of the base plus its own few mounts, done in its
    /// private namespace. Undone by `remove()`.
    func makeBase(extraPoints: [String]) throws {
        try prepare(mounts: [])
        for d in ["/handler"] + extraPoints { try Sys.mkdirs(path + d) }
        // POSIX semaphores and shared memory (multiprocessing's locks) live in /dev/shm: point it at the
        // container's private /tmp, so they work without another mount per start.
        try? FileManager.default.createSymbolicLink(atPath: path + "/dev/shm", withDestinationPath: "../tmp")
        for (host, inside, writable) in mounts { try Sys.bindMount(host, path + inside, writable: writable) }
    }

    /// A container's config on this base: only the container's own mounts (the base's arrive with it).
    /// `network`: the container gets its own network namespace (loopback only: it reaches neither the worker's
    /// API nor any other service on the host).
    func containerConfig(cgroup: Cgroup, hostname: String, network: Bool = false, mounts own: [(String, String, Bool)], tmpMB: Int = 16) -> [String: Any] {
        ["cgroup_procs": cgroup.procsFiles, "root": path, "base": true, "mounts": own.map { [$0.0, $0.1, $0.2] as [Any] },
         "tmp_mb": tmpMB, "hostname": hostname, "new_net": network]
    }

    /// Removes the skeleton (its mounts lived only in the container's namespace). Any mount that leaked into
    /// the host namespace is detached first.
    func remove() {
        Sys.detachMounts(under: path)
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Where the runtime's Python side is (`pipsqueak measure --import-overlap` imports it to learn what the
/// worker has loaded before a handler's packages).
public func workerScriptPath() throws -> String { try WorkerScript.locate().path }

/// The Python side of the runtime (`pipsqueak_worker.py`, a resource of this target).
struct WorkerScript {
    let path: String

    static func locate() throws -> WorkerScript {
        guard let p = Bundle.module.path(forResource: "pipsqueak_worker", ofType: "py", inDirectory: "Python") else {
            throw RuntimeError.unavailable("pipsqueak_worker.py is missing from the Runtime bundle")
        }
        return WorkerScript(path: p)
    }

    /// The interpreter's arguments for `mode`. The script is imported as a module, not run as `__main__`:
    /// Python caches a module's bytecode (`__pycache__` beside it) but compiles a main script from source at
    /// every start, which cost each cold container and root zygote several milliseconds.
    func arguments(mode: String, config: [String: Any]) throws -> [String] {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let dir = (path as NSString).deletingLastPathComponent
        let boot = "import sys; sys.path.insert(0, \(String(reflecting: dir))); import pipsqueak_worker; del sys.path[0]; pipsqueak_worker.main(sys.argv[1], sys.argv[2])"
        return ["-S", "-c", boot, mode, json]
    }

    func run(mode: String, config: [String: Any], python: PythonInterpreter, timeoutSeconds: Double) throws -> ChildProcess.Result {
        try ChildProcess.run(python.executable, try arguments(mode: mode, config: config),
                             environment: PythonInterpreter.cleanEnvironment(), timeoutSeconds: timeoutSeconds)
    }
}
