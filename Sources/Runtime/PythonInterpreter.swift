import Foundation

/// The real Python interpreter, resolved once. `python3` on PATH may be a shim (pyenv's adds ~75 ms per
/// start), so pipsqueak asks it once for `sys.executable` and runs that binary directly from then on.
public struct PythonInterpreter: Sendable {
    public let executable: String
    public let version: String
    /// `sys.base_prefix`: the directory tree the interpreter needs (mounted read-only into containers).
    public let prefix: String

    /// Resolves `PIPSQUEAK_PYTHON` if set, else `python3` on PATH.
    public static func resolve() throws -> PythonInterpreter {
        let env = ProcessInfo.processInfo.environment
        let start = env["PIPSQUEAK_PYTHON"] ?? "/usr/bin/env"
        let args = env["PIPSQUEAK_PYTHON"] == nil ? ["python3", "-S", "-c", script] : ["-S", "-c", script]
        let r = try ChildProcess.run(start, args, timeoutSeconds: 60)
        guard r.succeeded else { throw RuntimeError.python("cannot start python3: \(r.lastErrorLine)") }
        let lines = r.stdout.split(separator: "\n").map(String.init)
        guard lines.count >= 3, FileManager.default.isExecutableFile(atPath: lines[0]) else {
            throw RuntimeError.python("python3 did not report its executable (got: \(r.stdout))")
        }
        return PythonInterpreter(executable: lines[0], version: lines[1], prefix: lines[2])
    }

    static let script = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3]); print(sys.base_prefix)"

    /// The environment for helper Python processes: the caller's, minus variables that would skew what is
    /// measured (`PYTHONDONTWRITEBYTECODE` makes every import compile from source; `PIP_FIND_LINKS` points
    /// pip at unrelated local wheels; user site-packages are excluded).
    /// Every helper gets `libraryThreads` (`defaultLibraryThreads` unless the worker was told otherwise), so
    /// `measure` and `calibrate` time imports in the environment the worker's containers run them in.
    public static func cleanEnvironment(extra: [String: String] = [:], libraryThreads: Int = defaultLibraryThreads) -> [String: String] {
        var e = ProcessInfo.processInfo.environment
        for k in ["PYTHONDONTWRITEBYTECODE", "PIP_FIND_LINKS", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"] { e[k] = nil }
        e["PYTHONNOUSERSITE"] = "1"
        e["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        for (k, v) in libraryThreadLimits(libraryThreads) { e[k] = v }
        for (k, v) in extra { e[k] = v }
        return e
    }

    /// Threads a native library's pool may start in a handler (OpenBLAS, OpenMP, MKL, numexpr, BLIS,
    /// Accelerate). A request holds one core; left alone, each library starts one spinning thread per machine
    /// core at import, so two containers importing numpy at once on two cores each took 1.6–2× as long as
    /// one alone (measured here: 130–147 ms each against 74–95 alone; with one thread, 77–87 against 56–86).
    public static let defaultLibraryThreads = 1

    /// The variables that cap native libraries' thread pools at `n` (none for 0: the libraries' defaults).
    static func libraryThreadLimits(_ n: Int) -> [String: String] {
        guard n > 0 else { return [:] }
        let names = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"]
        return Dictionary(uniqueKeysWithValues: names.map { ($0, String(n)) })
    }
}

/// Errors of the runtime's mechanisms, each naming what failed.
public enum RuntimeError: Error, CustomStringConvertible {
    case python(String)
    case system(call: String, errno: Int32, path: String?)
    case protocolError(String)
    case unavailable(String)
    /// A process did not answer in time.
    case timeout(String)

    public var description: String {
        switch self {
        case .python(let m): return m
        case .system(let call, let e, let path):
            return "\(call)\(path.map { " \($0)" } ?? ""): \(String(cString: strerror(e))) (errno \(e))"
        case .protocolError(let m): return "protocol error: \(m)"
        case .unavailable(let m): return m
        case .timeout(let m): return m
        }
    }
}
