import Foundation
import Runtime

/// The fork floor the runtime benchmarks measure import-cache hits against: a Python process with numpy
/// imported forks children that join a cgroup, enter new mount/uts/ipc/pid namespaces, chroot and answer
/// over a pipe — the least a fork into a container can cost, with none of pipsqueak's work.
public enum ForkFloor {
    static let script = """
    import sys, os, time, ctypes
    sys.path.insert(0, sys.argv[1]); import numpy
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    procs, root, n = sys.argv[2].split(","), sys.argv[3], int(sys.argv[4])
    out = []
    for _ in range(n):
        r, w = os.pipe()
        t0 = time.monotonic_ns()
        pid = os.fork()
        if pid == 0:
            for p in procs:
                with open(p, "w") as f: f.write(str(os.getpid()))
            if libc.unshare(0x00020000 | 0x04000000 | 0x08000000 | 0x20000000) != 0: os._exit(3)
            os.chroot(root); os.chdir("/")
            os.write(w, b"x"); os._exit(0)
        os.read(r, 1)
        out.append(time.monotonic_ns() - t0)
        os.waitpid(pid, 0); os.close(r); os.close(w)
    print(" ".join(map(str, out)))
    """

    /// `n` forks from a Python that imported numpy from `numpyPath`, each child joining `group` and chrooting
    /// into `root` (an empty folder); their times, ns.
    public static func measure(python: PythonInterpreter, numpyPath: String, group: Cgroup, root: String, n: Int) throws -> [Int64] {
        try Sys.mkdirs(root)
        let r = try ChildProcess.run(python.executable, ["-S", "-c", script, numpyPath, group.procsFiles.joined(separator: ","), root, String(n)],
                                     environment: PythonInterpreter.cleanEnvironment(), timeoutSeconds: 600)
        guard r.succeeded else { throw RuntimeError.python("the fork floor failed: \(r.stderr)") }
        return r.stdout.split(separator: " ").compactMap { Int64(String($0).trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
