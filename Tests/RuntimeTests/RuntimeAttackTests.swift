import XCTest
import CachePolicy
import Workload
@testable import Runtime

/// Attacks from inside a handler and from inside packages, on the real runtime: each is contained, the
/// worker keeps serving others with correct results, and nothing is left behind.
final class RuntimeAttackTests: XCTestCase {
    /// A handler tries to leave its container: a second chroot, mounts, new namespaces, ptrace, signals to
    /// the zygote and the worker, the zygote's socket, descriptors it should not hold, raw sockets.
    func testAHandlerCannotReachOutsideItsContainer() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture()
        let sources = try fx.writeHandlers([("good", "def f(event):\n    return {'ok': event.get('request')}\n")])
        for preset in ["all", "none"] { // through a zygote fork, and through a cold start
            // The attacker learns the host pids and paths it will aim at (a real attacker could guess them).
            let stateDir = fx.dir + "/state"
            let attacker = RuntimeFixture.attackPrelude + """
            import signal, socket, stat, threading
            def second_chroot():
                os.makedirs("/tmp/x", exist_ok=True)
                os.chroot("/tmp/x")
                for _ in range(20):
                    os.chdir("..")
                os.chroot(".")
                return sorted(os.listdir("/"))
            def fds():
                out = {}
                for fd in range(0, 256):
                    try:
                        m = os.fstat(fd).st_mode
                    except OSError:
                        continue
                    out[fd] = "sock" if stat.S_ISSOCK(m) else "chr" if stat.S_ISCHR(m) else "fifo" if stat.S_ISFIFO(m) else "other"
                return out
            def thread():
                box = []
                t = threading.Thread(target=lambda: box.append(1))
                t.start(); t.join()
                return len(box)
            def f(event):
                zygote_pid, worker_pid, zygote_socket = ZYGOTE_PID, WORKER_PID, ZYGOTE_SOCKET
                return {
                    "second_chroot": attempt(second_chroot),
                    "mount": attempt(lambda: call(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None))),
                    "unshare_user": attempt(lambda: call(libc.unshare(0x10000000))),
                    "unshare_net": attempt(lambda: call(libc.unshare(0x40000000))),
                    "ptrace": attempt(lambda: call(libc.ptrace(16, zygote_pid or 1, None, None))),
                    "kill_zygote": attempt(lambda: os.kill(zygote_pid, signal.SIGKILL)) if zygote_pid else "none",
                    "kill_worker": attempt(lambda: os.kill(worker_pid, signal.SIGKILL)),
                    "connect_zygote": attempt(lambda: socket.socket(socket.AF_UNIX).connect(zygote_socket)),
                    "raw_socket": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                    "sethostname": attempt(lambda: call(libc.sethostname(b"evil", 4))),
                    "seccomp_mode": libc.prctl(21, 0, 0, 0, 0),
                    "cap_sys_admin_bounding": libc.prctl(23, 21, 0, 0, 0),
                    "fds": fds(),
                    "thread": attempt(thread),
                    "semaphore": attempt(lambda: __import__("multiprocessing").Lock().acquire()),
                    "fork": attempt(lambda: (lambda p: os.waitpid(p, 0) and "parent" if p else os._exit(0))(os.fork())),
                }
            """
            let handlers = HandlerTable([Handler(id: "attacker", customer: "evil", packages: ["fast"]),
                                         Handler(id: "good", customer: "good", packages: ["fast"])])
            let w = try fx.worker(handlers: handlers, config: PolicyConfig.presets[preset]!, handlerSources: sources)
            defer { w.shutdown() }
            XCTAssertEqual(w.serve(handler: 1, arrivalNanos: 1, startNanos: 1).error, "")
            // The handler's code is read when its container starts: aim it at this worker's zygote now.
            let zygotePid = w.zygotes[0]?.pid ?? 0 // the root zygote (sh exec'd python)
            let aim = "ZYGOTE_PID, WORKER_PID, ZYGOTE_SOCKET = \(zygotePid), \(getpid()), \(String(reflecting: w.zygotes[0]?.socket ?? stateDir + "/none.sock"))\n"
            try fx.writeHandlers([("attacker", aim + attacker)])
            let (record, result) = try w.serveReturningResult(handler: 0, now: 2)
            XCTAssertEqual(record.error, "", preset)
            let out = try XCTUnwrap(result as? [String: Any], preset)
            for k in ["second_chroot", "mount", "unshare_user", "unshare_net", "ptrace", "sethostname", "raw_socket"] {
                XCTAssertEqual(out[k] as? String, "denied:PermissionError", "\(preset) \(k): \(out[k] ?? "-")")
            }
            if zygotePid != 0 {
                XCTAssertEqual(out["kill_zygote"] as? String, "denied:ProcessLookupError", "\(preset): host pids are not visible")
            }
            XCTAssertEqual(out["kill_worker"] as? String, "denied:ProcessLookupError", preset)
            XCTAssertEqual(out["connect_zygote"] as? String, "denied:FileNotFoundError", "\(preset): the socket is outside its root")
            XCTAssertEqual(out["seccomp_mode"] as? Int, 2, "\(preset): a seccomp filter is installed")
            XCTAssertEqual(out["cap_sys_admin_bounding"] as? Int, 0, "\(preset): CAP_SYS_ADMIN is gone from the bounding set")
            XCTAssertEqual(out["thread"] as? String, "allowed:1", "\(preset): threads still work (clone3 falls back to clone)")
            XCTAssertEqual(out["fork"] as? String, "allowed:parent", preset)
            XCTAssertEqual(out["semaphore"] as? String, "allowed:True", "\(preset): multiprocessing's locks work (/dev/shm)")
            // Descriptors: stdin, stdout, stderr and, for a forked child, its one connection; nothing else of
            // the zygote (its listening socket, its pipes to the worker).
            let fds = try XCTUnwrap(out["fds"] as? [String: String])
            let extra = fds.filter { Int($0.key)! > 2 }
            XCTAssertLessThanOrEqual(extra.count, 1, "\(preset): \(fds)")
            if preset == "all" {
                XCTAssertEqual(Array(extra.values), ["sock"], "the channel to the worker"); XCTAssertEqual(fds["0"], "chr", "stdin is /dev/null")
            }
            // Everything outside held: the zygote lives, the worker answers the good handler.
            if zygotePid != 0 { XCTAssert(Sys.isAlive(zygotePid), "the zygote survived") }
            let (r, goodResult) = try w.serveReturningResult(handler: 1, now: 3)
            XCTAssertEqual(r.error, ""); XCTAssertEqual((goodResult as? [String: Any])?["ok"] as? Int64, 3)
            w.shutdown()
            try RuntimeFixture.assertNothingLeft(w)
        }
    }

    /// Packages whose import raises, exits or hangs, one that spawns a process and patches builtins when
    /// imported (into a zygote), and one that kills its zygote the moment it forks.
    func testHostilePackagesAreContainedAndCannotReachOtherHandlers() throws {
        try RuntimeFixture.requireRuntime()
        let fx = try RuntimeFixture(extra: [
            ("raises", "raise RuntimeError('boom at import')\n"),
            ("exits", "import sys\nsys.exit(3)\n"),
            ("hangs", "import time\ntime.sleep(3600)\n"),
            // Leaves a process behind and patches builtins, hoping to reach whatever is forked later.
            ("spy", "import builtins, os, time\nbuiltins.SPIED = True\nif os.fork() == 0:\n    time.sleep(3600)\n    os._exit(0)\n"),
            // Kills its own process whenever it forks: a zygote holding it dies mid-fork.
            ("suicide", "import os, signal\nos.register_at_fork(before=lambda: os.kill(os.getpid(), signal.SIGKILL))\n"),
        ])
        let victim = "import builtins, sys\ndef f(event):\n    return {'spied': hasattr(builtins, 'SPIED'), 'spy_loaded': 'spy' in sys.modules}\n"
        let sources = try fx.writeHandlers([("hr", "import raises\ndef f(e):\n    return 1\n"), ("he", "import exits\ndef f(e):\n    return 1\n"),
                                            ("hh", "import hangs\ndef f(e):\n    return 1\n"), ("hs", "import spy\ndef f(e):\n    return 'spy'\n"),
                                            ("hk", "import suicide\ndef f(e):\n    return 'k'\n"), ("victim", victim)])
        let handlers = HandlerTable([Handler(id: "hr", customer: "a", packages: ["raises"]), Handler(id: "he", customer: "a", packages: ["exits"]),
                                     Handler(id: "hh", customer: "a", packages: ["hangs"]), Handler(id: "hs", customer: "a", packages: ["spy", "fast"]),
                                     Handler(id: "hk", customer: "a", packages: ["suicide"]), Handler(id: "victim", customer: "b", packages: ["fast"])])
        var config = PolicyConfig.presets["all"]!
        config.importCache.threshold = 1 // a zygote for every handler's set at its first miss
        config.handlerCache.enabled = false
        let w = try fx.worker(handlers: handlers, config: config, handlerSources: sources) {
            $0.requestTimeoutSeconds = 3
            $0.zygoteStartTimeoutSeconds = 3
        }
        defer { w.shutdown() }
        let catalog = w.planner.catalog
        var log: [String] = []
        w.lifecycle.onDecision = { log.append($0) }
        func victimIsClean(_ n: Int64) throws {
            let (r, result) = try w.serveReturningResult(handler: 5, now: n)
            XCTAssertEqual(r.error, "", "the worker still serves the victim")
            let out = try XCTUnwrap(result as? [String: Any])
            XCTAssertEqual(out["spied"] as? Bool, false, "builtins patched by a package the victim did not import")
            XCTAssertEqual(out["spy_loaded"] as? Bool, false)
        }
        func id(_ name: String) -> Int32 { catalog.id(of: name)! }
        // Import raises: the request fails naming the module; the zygote for {raises} fails once and the
        // package is never put in a zygote again.
        let r1 = w.serve(handler: 0, arrivalNanos: 1, startNanos: 1)
        XCTAssert(r1.error.contains("importing raises failed: RuntimeError: boom at import"), r1.error)
        XCTAssert(w.planner.unimportable.contains(id("raises")))
        XCTAssert(log.contains { $0.hasPrefix("failed ") && $0.contains("unimportable=raises") }, log.joined(separator: "\n"))
        let r1b = w.serve(handler: 0, arrivalNanos: 2, startNanos: 2)
        XCTAssert(r1b.error.contains("boom at import"), r1b.error)
        XCTAssertFalse(log.last { $0.hasPrefix("plan ") }!.contains("create=z"), "no second zygote for a package that failed")
        try victimIsClean(3)
        // Import exits (SystemExit): the same.
        let r2 = w.serve(handler: 1, arrivalNanos: 4, startNanos: 4)
        XCTAssert(r2.error.contains("importing exits failed: SystemExit"), r2.error)
        XCTAssert(w.planner.unimportable.contains(id("exits")))
        // Import hangs: the request times out, so does the zygote build; both are killed.
        let r3 = w.serve(handler: 2, arrivalNanos: 5, startNanos: 5)
        XCTAssert(r3.error.contains("no reply within"), r3.error)
        XCTAssert(w.planner.unimportable.contains(id("hangs")))
        try victimIsClean(6)
        // The spy: imported into a {spy, fast} zygote, it patches builtins and leaves a process there. The
        // victim asks only for fast, so it never forks from that zygote (the subset rule) and sees neither.
        XCTAssertEqual(w.serve(handler: 3, arrivalNanos: 7, startNanos: 7).error, "")
        let spyZygote = try XCTUnwrap(w.planner.importCache?.zygotes.first { $0.packages.contains(id("spy")) })
        XCTAssertTrue(spyZygote.ready)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(w.zygotes[spyZygote.id]).cgroup.pids().count, 2,
                                    "the spy's process sits in its zygote's cgroup (so it dies with the zygote)")
        let hs = w.serve(handler: 3, arrivalNanos: 8, startNanos: 8)
        XCTAssertEqual(hs.error, ""); XCTAssertEqual(hs.zygote, spyZygote.id)
        try victimIsClean(9)
        XCTAssertNotEqual(w.serve(handler: 5, arrivalNanos: 10, startNanos: 10).zygote, spyZygote.id)
        // A zygote that dies while forking: the request gets a clear error, then the worker goes on.
        XCTAssertEqual(w.serve(handler: 4, arrivalNanos: 11, startNanos: 11).error, "") // builds {suicide}
        let killed = w.serve(handler: 4, arrivalNanos: 12, startNanos: 12)
        XCTAssert(killed.error.contains("is gone"), "forking from the {suicide} zygote: \(killed.error)")
        try w.planner.checkInvariants()
        try victimIsClean(13)
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// A package whose import code attacks the host from inside a zygote (where it runs before any handler
    /// exists): every attempt fails, because the zygote lives in its own mount and user namespaces. The
    /// handler that imports it (and so forks from that zygote) reports what the import saw.
    func testAPackageImportedIntoAZygoteHasNoPowerOverTheHost() throws {
        try RuntimeFixture.requireRuntime()
        let fx0 = try RuntimeFixture()
        let secret = fx0.dir + "/host-secret.txt"
        try "host secret".write(toFile: secret, atomically: true, encoding: .utf8)
        let attack = RuntimeFixture.attackPrelude + """
        import signal, socket
        def escape():
            os.makedirs("/tmp/x", exist_ok=True)
            os.chroot("/tmp/x")
            for _ in range(30):
                os.chdir("..")
            os.chroot(".")
            return sorted(os.listdir("/"))
        os.makedirs("/tmp/m", exist_ok=True)
        RESULTS = {
            "pid": os.getpid(),
            "shadow": attempt(lambda: read("/etc/shadow")),
            "host_secret": attempt(lambda: read(\(String(reflecting: secret)))),
            "root_cache": attempt(lambda: os.listdir("/root/.cache")),
            "write_usr": attempt(lambda: write("/usr/evil")),
            "write_packages": attempt(lambda: write(os.path.dirname(os.path.dirname(__file__)) + "/evil")),
            "mount_proc": attempt(lambda: call(libc.mount(b"proc", b"/tmp/m", b"proc", 0, None))),
            "mount_devtmpfs": attempt(lambda: call(libc.mount(b"devtmpfs", b"/tmp/m", b"devtmpfs", 0, None))),
            "mount_sysfs": attempt(lambda: call(libc.mount(b"sysfs", b"/tmp/m", b"sysfs", 0, None))),
            "chroot_escape": attempt(escape),
            "kill_init": attempt(lambda: os.kill(1, 0)),
            "kill_worker": attempt(lambda: os.kill(WORKER_PID, 0)),
            "ptrace_worker": attempt(lambda: call(libc.ptrace(16, WORKER_PID, None, None))),
            "module": attempt(lambda: call(libc.syscall(313, -1, b"", 0))),
            "uid_map": attempt(lambda: read("/proc/self/uid_map")),
        }
        """
        let fx = try RuntimeFixture(extra: [("evil", "WORKER_PID = \(getpid())\n" + attack)])
        let sources = try fx.writeHandlers([("evil", "import evil\ndef f(e):\n    return {'results': evil.RESULTS, 'pid': __import__('os').getpid()}\n"),
                                            ("victim", "def f(e):\n    return 'fine'\n")])
        let handlers = HandlerTable([Handler(id: "evil", customer: "a", packages: ["evil"]), Handler(id: "victim", customer: "b", packages: ["fast"])])
        var config = PolicyConfig.presets["all"]!
        config.importCache.threshold = 1
        config.handlerCache.enabled = false
        let w = try fx.worker(handlers: handlers, config: config, handlerSources: sources)
        defer { w.shutdown() }
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 1, startNanos: 1).error, "")   // builds the {evil} zygote
        let (r, result) = try w.serveReturningResult(handler: 0, now: 2)
        XCTAssertEqual(r.error, ""); XCTAssertNotEqual(r.zygote, 0, "forked from the {evil} zygote")
        let out = try XCTUnwrap((result as? [String: Any])?["results"] as? [String: Any])
        XCTAssertNotEqual(out["pid"] as? Int, 1, "the attack ran in the zygote, not in the container")
        for k in ["shadow", "host_secret", "root_cache", "uid_map"] {
            XCTAssertEqual(out[k] as? String, "denied:FileNotFoundError", "\(k): the host's tree is not there")
        }
        for k in ["write_usr", "write_packages"] { XCTAssertEqual(out[k] as? String, "denied:OSError", "\(k): read-only") }
        for k in ["mount_proc", "mount_devtmpfs", "mount_sysfs", "kill_init", "kill_worker", "ptrace_worker", "module"] {
            XCTAssertEqual(out[k] as? String, "denied:PermissionError", "\(k): \(out[k] ?? "-")")
        }
        let top = (out["chroot_escape"] as? String) ?? ""
        XCTAssertFalse(top.contains("'var'") || top.contains("'home'"), "climbed out to the host's root: \(top)")
        XCTAssertEqual(w.serve(handler: 1, arrivalNanos: 3, startNanos: 3).error, "", "the worker goes on")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }

    /// A package starts a thread in its zygote that later sends SIGKILL to every process it may signal
    /// (kill(-1)). Zygotes lack CAP_KILL and containers run under another uid, so it reaches other zygotes
    /// (the runtime notices and rebuilds them), never a container: the victim's paused container answers.
    func testAZygoteCannotSignalContainers() throws {
        try RuntimeFixture.requireRuntime()
        let reaper = "import os, signal, threading, time\ndef _reap():\n    time.sleep(1.5)\n    os.kill(-1, signal.SIGKILL)\nthreading.Thread(target=_reap, daemon=True).start()\n"
        let fx = try RuntimeFixture(extra: [("reaper", reaper)])
        let sources = try fx.writeHandlers([("reaper", "import reaper\ndef f(e):\n    return 'r'\n"),
                                            ("victim", "import fast\ndef f(e):\n    return {'ok': e.get('request')}\n")])
        let handlers = HandlerTable([Handler(id: "reaper", customer: "a", packages: ["reaper"]), Handler(id: "victim", customer: "b", packages: ["fast"])])
        var config = PolicyConfig.presets["all"]!
        config.importCache.threshold = 1
        let w = try fx.worker(handlers: handlers, config: config, handlerSources: sources)
        defer { w.shutdown() }
        XCTAssertEqual(w.serve(handler: 1, arrivalNanos: 1, startNanos: 1).error, "")   // the victim, paused
        let victim = try XCTUnwrap(w.containers[try XCTUnwrap(w.containerIDs.first)])
        XCTAssertEqual(w.serve(handler: 0, arrivalNanos: 2, startNanos: 2).error, "")   // builds the {reaper} zygote
        let root = try XCTUnwrap(w.zygotes[0])
        Sys.sleep(micros: 2_500_000)                                                     // the thread fires
        XCTAssertFalse(w.isAlive(root), "the attack ran: it killed the root zygote (same uid)")
        XCTAssertFalse(victim.cgroup.isEmpty, "the victim's container survived")
        let (r, result) = try w.serveReturningResult(handler: 1, now: 3)
        XCTAssertEqual(r.error, ""); XCTAssertEqual(r.tier, .handler)
        XCTAssertEqual((result as? [String: Any])?["ok"] as? Int64, 3, "and answers correctly")
        w.shutdown()
        try RuntimeFixture.assertNothingLeft(w)
    }
}
