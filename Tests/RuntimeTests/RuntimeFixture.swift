import XCTest
import Foundation
import CachePolicy
import TestSupport
import Workload
@testable import Runtime

/// Synthetic packages built here as real wheels (a zip with METADATA, WHEEL, RECORD), so no network is
/// needed: `slow` takes ~50 ms to import and holds 20 MB; `fast` is trivial; `other` is a third package.
final class RuntimeFixture {
    let dir: String
    let wheelhouse: String
    let python: PythonInterpreter
    let packages: [String: Package]

    static let sources: [(name: String, module: String, code: String, importMs: Double, memMB: Int64)] = [
        ("slow", "slow", "import time\ntime.sleep(0.05)\nBALLAST = bytearray(20 * 1024 * 1024)\nfor i in range(0, len(BALLAST), 4096):\n    BALLAST[i] = 1\n", 50, 20),
        ("fast", "fast", "VALUE = 42\n", 1, 0),
        ("other", "other", "SECRET = 'other-was-imported'\n", 1, 0),
    ]

    /// Skips the test (with the reason printed) where the runtime cannot run: not root, no cgroups.
    static func requireRuntime() throws {
        guard getuid() == 0 else { throw XCTSkip("the real runtime needs root") }
        do { _ = try Cgroups.detect() } catch { throw XCTSkip("\(error)") }
        guard Sys.exists("/proc/self/ns/mnt") else { throw XCTSkip("no namespaces") }
    }

    /// - Parameter extra: more packages (name = module, code), built the same way (hostile ones, say).
    init(extra: [(name: String, code: String)] = []) throws {
        dir = "/tmp/pipsqueak-rt-\(getpid())-\(UUID().uuidString.prefix(8))"
        wheelhouse = dir + "/wheelhouse"
        try Sys.mkdirs(wheelhouse)
        python = try PythonInterpreter.resolve()
        var pk: [String: Package] = [:]
        for s in RuntimeFixture.sources + extra.map({ (name: $0.name, module: $0.name, code: $0.code, importMs: 1.0, memMB: Int64(0)) }) {
            try Wheels.build(name: s.name, module: s.module, code: s.code, wheelhouse: wheelhouse, scratch: dir, python: python)
            pk[s.name] = Package(name: s.name, version: "1.0", topLevelModules: [s.module], installedBytes: 4096,
                                 downloadMillis: 1, installMillis: 300, importMillis: s.importMs, importMemoryBytes: s.memMB << 20)
        }
        packages = pk
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// This fixture's packages and `broken`, whose wheel in the wheelhouse is not a wheel: its install fails.
    func withBrokenPackage() throws -> [String: Package] {
        try Data("this is not a wheel".utf8).write(to: URL(fileURLWithPath: wheelhouse + "/broken-1.0-py3-none-any.whl"))
        var pk = packages
        pk["broken"] = Package(name: "broken", version: "1.0", topLevelModules: ["broken"], installedBytes: 4096,
                               downloadMillis: 1, installMillis: 1, importMillis: 1, importMemoryBytes: 0)
        return pk
    }

    /// A worker over this fixture's packages (or `packages`), its state under the fixture's directory;
    /// `edit` adjusts the options (limits, timeouts, sandbox) before it starts.
    func worker(handlers: HandlerTable, config: PolicyConfig, handlerSources: String? = nil,
                packages: [String: Package]? = nil, edit: (inout RuntimeOptions) -> Void = { _ in }) throws -> RuntimeWorker {
        let packages = packages ?? self.packages
        let catalog = Catalog(packages: Array(packages.values), handlers: handlers, interpreterMemoryBytes: 10 << 20,
                              containerMemoryBytes: 1 << 20, interpreterStartNanos: 10_000_000)
        let planner = try Planner(config: config, catalog: catalog)
        var o = RuntimeOptions(wheelhouse: wheelhouse)
        o.stateDirectory = dir + "/state"
        o.packageDirectory = dir + "/packages"
        o.handlerSources = handlerSources
        edit(&o)
        return try RuntimeWorker(planner: planner, handlers: handlers, packages: packages, options: o, python: python)
    }

    /// Writes handler sources (`DIR/<name>/f.py`) for `RuntimeOptions.handlerSources`; returns DIR.
    @discardableResult
    func writeHandlers(_ handlers: [(name: String, code: String)]) throws -> String {
        let sources = dir + "/handlers"
        for (name, code) in handlers {
            try Sys.mkdirs(sources + "/" + name)
            try code.write(toFile: sources + "/\(name)/f.py", atomically: true, encoding: .utf8)
        }
        return sources
    }

    /// Python helpers an attack's code starts with: `attempt(fn)` returns "allowed:<result>" or
    /// "denied:<exception type>"; `call(ret)` raises OSError for a failed libc call; `read(p)`, `write(p)`.
    static let attackPrelude = """
    import ctypes, os
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    def attempt(fn):
        try:
            return "allowed:" + str(fn())
        except Exception as e:
            return "denied:" + type(e).__name__
    def call(ret):
        if ret != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return ret
    def read(p):
        with open(p) as f:
            return f.read()[:20]
    def write(p):
        with open(p, "w") as f:
            f.write("x")
        return p

    """

    /// How many packages the last plan in a decision log asks the started process to import itself (the
    /// rest came from its zygote): the `import=` field of the last `plan` line.
    static func importsOfLastPlan(_ log: [String]) -> Int? {
        guard let plan = log.last(where: { $0.hasPrefix("plan ") }),
              let field = plan.split(separator: " ").first(where: { $0.hasPrefix("import=") }) else { return nil }
        return Int(field.dropFirst("import=".count))
    }

    /// Nothing of a run is left: no pipsqueak cgroup of it, no mount under its state, no process in it.
    static func assertNothingLeft(_ w: RuntimeWorker, file: StaticString = #filePath, line: UInt = #line) throws {
        let cg = try Cgroups.detect()
        let mine = cg.leftovers().filter { $0.hasPrefix(w.runID + "-") || $0.hasPrefix("install-\(getpid())-") }
        XCTAssertEqual(mine, [], "cgroups left", file: file, line: line)
        // The last worker gone, this process is back where it began and its own CPU group is removed.
        if RuntimeWorker.selfGroup.withLock({ $0.workers }) == 0 {
            XCTAssertFalse(cg.leftovers().contains(Cgroups.selfGroupName()), "the worker's own CPU group left", file: file, line: line)
            XCTAssertFalse(cg.leftovers().contains(Cgroups.maintenanceGroupName()), "the maintenance thread's CPU group left", file: file, line: line)
            XCTAssertNotEqual(try cg.currentProcsFile(), cg.selfGroupDir(pid: getpid()) + "/cgroup.procs", file: file, line: line)
        }
        XCTAssertEqual(Sys.mounts(under: w.runDir), [], "mounts left", file: file, line: line)
        XCTAssertFalse(Sys.exists(w.runDir), "state directory left", file: file, line: line)
        // No process whose command line names this run's state directory.
        var left: [String] = []
        for e in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(e), pid != getpid(), Sys.isAlive(pid) else { continue }
            if let cmd = try? Sys.readFile("/proc/\(pid)/cmdline"), cmd.contains(w.runDir) { left.append("\(pid)") }
        }
        XCTAssertEqual(left, [], "processes left", file: file, line: line)
        // No zombie child: every container's pid 1 is handed to this process (the subreaper) when its parent
        // exits, and must be reaped when it is killed. (A moment's grace for Foundation to reap its own.)
        var zombies: [Int32] = []
        for _ in 0..<200 {
            zombies = Sys.zombieChildren()
            if zombies.isEmpty { break }
            Sys.sleep(micros: 10_000)
        }
        XCTAssertEqual(zombies, [], "zombie children left", file: file, line: line)
    }

}
