"""The Python side of the pipsqueak runtime: zygote fork server, cold starts, handler serving, sandboxed pip.

Run with `python -S pipsqueak_worker.py MODE CONFIG_JSON`:
  zygote   import a package set, then serve fork requests on a Unix socket (CONFIG: socket, paths, imports).
           With CONFIG view, a root zygote first enters its sandbox (own mount namespace pivoted into the
           view, then a user namespace the worker maps to an unprivileged uid; see enter_zygote_sandbox).
           A fork request carries a container description; the child joins the container's cgroups, enters
           new mount/uts/ipc/pid namespaces, builds its read-only root with bind mounts, chroots, hardens
           itself (descriptors, capabilities, seccomp: see harden), imports what the zygote lacked, loads the
           handler and serves requests on the connection it was forked on.
  cold     the same relocation and serving for a fresh interpreter (CONFIG: container); speaks on stdin/stdout.
  install  relocate into an install sandbox and run pip there (CONFIG: container, pip arguments).
  bare     serve a handler (CONFIG: handler_dir) from a plain interpreter, no container: bench-serve's floor.

Protocol: one JSON object per line. Every timing is time.monotonic_ns() on this machine's monotonic clock,
the same clock the Swift side reads, so phases can be stitched together.
Python 3.11 has no os.unshare: namespaces are entered with ctypes.
"""
import sys, os, gc, json, time, socket, signal, ctypes

# The protocol's operations (a request's "op"); the same names as WorkerProtocol.Operation on the Swift side,
# where the protocol is documented (Sources/Runtime/WorkerProtocol.swift).
OP_FORK, OP_FORK_ZYGOTE, OP_PREPARE, OP_PING = "fork", "fork-zygote", "prepare", "ping"
OP_INVOKE, OP_MODULES, OP_EXIT = "invoke", "modules", "exit"

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x04000000, 0x08000000, 0x20000000
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
# By soname: ctypes.util.find_library runs ldconfig in a subprocess (tens of ms on every cold start).
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
now = time.monotonic_ns


def _check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def unshare(flags):
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(src, target, fstype, flags, data=None):
    _check(_libc.mount(src.encode() if src else None, target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), "mount %s on %s" % (src, target))


def join_cgroups(procs_files):
    """Moves this process into the groups whose `cgroup.procs` files are given (one per hierarchy)."""
    for procs in procs_files:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))


def enter(c, t=None):
    """Join the container's cgroups and unshare new mount/uts/ipc/pid namespaces, and with `new_net` a new
    network namespace (loopback only: no route to the worker's API or anything else on the host). On cgroup
    v1, joining waits for an RCU grace period (often 10-30 ms), which is why zygotes prepare a standby child
    ahead."""
    join_cgroups(c.get("cgroup_procs", []))
    if t is not None:
        t["joined"] = now()
    unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | (CLONE_NEWNET if c.get("new_net") else 0))
    if t is not None:
        t["unshared"] = now()


def fork_into_pid_namespace(wait_child=False):
    """The new pid namespace applies to children: fork; the child (pid 1 there) returns, the parent exits
    (after reporting the child's exit status when `wait_child`)."""
    pid = os.fork()
    if pid != 0:
        if wait_child:  # report the child's outcome (the installer's exit status) to whoever started us
            _, status = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        os._exit(0)


def bind(host, target, writable, ro_flags):
    """Bind-mounts `host` (recursively) on `target`, creating the mount point if it is missing (it may lie
    in a tmpfs just mounted), then remounts it read-only with `ro_flags` unless `writable`."""
    if not os.path.lexists(target):
        if os.path.isdir(host):
            os.makedirs(target)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
    mount(host, target, None, MS_BIND | MS_REC)
    if not writable:
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | ro_flags)


def build_root(c, t=None):
    """Private mount propagation, the container's read-only root with its bind mounts and a tmpfs /tmp,
    then chroot into it."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = c["root"]
    # A shared base root carries the read-only system mounts: one recursive bind brings them all.
    mount(root, root, None, MS_BIND | (MS_REC if c.get("base") else 0))
    # /tmp first: a mount below /tmp (a state directory under /tmp) must not be hidden by it.
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=1777" % c.get("tmp_mb", 16))
    for host, inside, writable in c.get("mounts", []):
        bind(host, root + inside, writable, MS_NOSUID | MS_NODEV)
    mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    if t is not None:
        t["mounted"] = now()
    os.chroot(root)
    os.chdir("/")
    try:
        _libc.sethostname(c.get("hostname", "sandbox").encode(), len(c.get("hostname", "sandbox")))
    except Exception:
        pass


def relocate(c, wait_child=False, t=None):
    """Move the calling (single-threaded) process into container `c`; returns in the new pid namespace as
    pid 1 of a fresh child (the caller's original process exits). c: cgroup_procs (list of paths), root,
    base, mounts ([host, inside, writable]), tmp_mb, hostname."""
    enter(c, t)
    build_root(c, t)
    fork_into_pid_namespace(wait_child)


# Calls a handler (or a package it imports) never needs once its container is built, x86-64 numbers:
# ptrace, syslog, uselib, vhangup, pivot_root, chroot, acct, settimeofday, mount, umount2, swapon, swapoff,
# reboot, sethostname, setdomainname, iopl, ioperm, init/delete_module, quotactl, lookup_dcookie,
# clock_settime, kexec_load, add_key, request_key, keyctl, unshare, perf_event_open, name_to_handle_at,
# open_by_handle_at, clock_adjtime, setns, process_vm_readv/writev, kcmp, finit_module, kexec_file_load,
# bpf, userfaultfd, and the new mount API (open_tree, move_mount, fsopen, fsconfig, fsmount, fspick,
# mount_setattr). They fail with EPERM; clone3 fails with ENOSYS (glibc then falls back to clone), and
# clone with any namespace flag fails with EPERM.
DENIED_SYSCALLS_X86_64 = [101, 103, 134, 153, 155, 161, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173,
                          175, 176, 179, 212, 227, 246, 248, 249, 250, 272, 298, 303, 304, 305, 308, 310, 311,
                          312, 313, 320, 321, 323, 428, 429, 430, 431, 432, 433, 442]
SYS_CLONE, SYS_CLONE3 = 56, 435
CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
# Capabilities a container keeps (root inside its own read-only world): chown, dac_override, fowner, fsetid,
# kill (its pid namespace only), setgid, setuid, net_bind_service. All others leave the bounding set too.
KEPT_CAPS = (0, 1, 3, 4, 5, 6, 7, 10)
CAP_KILL = 5
PR_SET_KEEPCAPS, PR_SET_SECCOMP, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 8, 22, 24, 38
# In a sandboxed zygote's user namespace: zygotes are its root (uid 0) without CAP_KILL; every container
# forked from them runs as this uid, so no zygote (whatever a package imported there does) can signal a
# container, and a container, in its own pid namespace, sees no zygote. None outside a sandboxed zygote.
_container_uid = None
_kept_caps = KEPT_CAPS
EPERM, ENOSYS = 1, 38


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# A zygote's own filter (inherited by everything it forks): what it never needs, though it must still
# mount, chroot, unshare and set hostnames for the containers it forks.
ZYGOTE_ALLOWED = {155, 161, 165, 166, 170, 272}  # pivot_root, chroot, mount, umount2, sethostname, unshare
DENIED_SYSCALLS_ZYGOTE_X86_64 = [n for n in DENIED_SYSCALLS_X86_64 if n not in ZYGOTE_ALLOWED] + [438]  # + pidfd_getfd


def seccomp_program(denied=DENIED_SYSCALLS_X86_64, filter_clone_namespaces=True):
    """The BPF filter as (code, jt, jf, k) tuples: a wrong architecture kills; x32 calls, the denied list and
    (with `filter_clone_namespaces`) namespace-creating clones get EPERM; clone3 gets ENOSYS; everything else
    is allowed."""
    LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, KILL, ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
    prog = [(LD_W_ABS, 0, 0, 4), (JEQ, 1, 0, 0xC000003E), (RET, 0, 0, KILL), (LD_W_ABS, 0, 0, 0)]
    # The checks, then the tail [ALLOW] [load clone flags] [test namespace flags] [ALLOW] [EPERM] [ENOSYS];
    # a BPF jump offset counts from the instruction after the jump.
    body = [("x32",)] + [("nr", nr) for nr in denied] + [("clone3",)] + ([("clone",)] if filter_clone_namespaces else [])
    tail_start = len(prog) + len(body)
    _, ld_args, jset, _, deny, enosys = range(tail_start, tail_start + 6)
    for b in body:
        here = len(prog)
        if b[0] == "x32":
            prog.append((JGE, deny - here - 1, 0, 0x40000000))
        elif b[0] == "nr":
            prog.append((JEQ, deny - here - 1, 0, b[1]))
        elif b[0] == "clone3":
            prog.append((JEQ, enosys - here - 1, 0, SYS_CLONE3))
        else:
            prog.append((JEQ, ld_args - here - 1, 0, SYS_CLONE))
    prog += [(RET, 0, 0, ALLOW), (LD_W_ABS, 0, 0, 16), (JSET, deny - jset - 1, 0, CLONE_NS_FLAGS),
             (RET, 0, 0, ALLOW), (RET, 0, 0, ERRNO | EPERM), (RET, 0, 0, ERRNO | ENOSYS)]
    assert all(0 <= jt < 256 for _, jt, _, _ in prog)
    return prog


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_prepared = None  # (/dev/null fd, seccomp program, capset header and data, kept mask), built once; forks inherit it
_bounding_dropped = False


def prepare_hardening():
    """Builds the seccomp program and capability sets once (a zygote does it before it forks anything)."""
    global _prepared
    if _prepared is None:
        kept = sum(1 << c for c in _kept_caps)
        fprog = build_filter(seccomp_program()) if os.uname().machine == "x86_64" else None
        # /dev/null opened once here: a forked child dup2()s it onto stdin/stdout instead of opening its own.
        _prepared = (os.open("/dev/null", os.O_RDWR), fprog, _CapHeader(0x20080522, 0), (_CapData * 2)(_CapData(kept, kept, 0), _CapData(0, 0, 0)), kept)
    return _prepared


def drop_bounding_set():
    """Removes every capability but KEPT_CAPS from the bounding set: no later exec can gain them. The
    effective set is untouched, so a zygote keeps what it needs to build containers."""
    global _bounding_dropped
    if _bounding_dropped:
        return
    for cap in range(64):
        if cap in _kept_caps:
            continue
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the kernel's last capability
                break
            _check(-1, "prctl(CAPBSET_DROP %d)" % cap)
    _bounding_dropped = True


def build_filter(prog):
    """A `sock_fprog` for `prog` (its instruction array stays alive as an attribute of it)."""
    arr = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), ctypes.cast(arr, ctypes.POINTER(_SockFilter)))
    fprog._instructions = arr
    return fprog


def install_filter(fprog):
    """Forbids gaining privileges, then installs the seccomp filter `fprog` (None: none on this
    architecture); a filter stacks on any installed before."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    if fprog is not None:
        _check(_libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0), "prctl(SECCOMP)")


SYS_PIVOT_ROOT, MNT_DETACH = 155, 2


def enter_zygote_sandbox(view, t=None):
    """Moves a root zygote, before it imports anything, into its sandbox. It gets its own mount namespace
    whose whole tree is `view` (read-only system directories, the interpreter, the install cache, handler
    code and the containers' base root; writable only its socket directory and the `pipsqueak` cgroups;
    a private /tmp): pivot_root into it and detach the host's tree, so nothing else of the host is reachable
    even by chroot tricks. Then a user namespace: the worker maps its root to an unprivileged host uid (it
    writes the maps when told, on stdout, and answers on stdin), so the zygote keeps the capabilities to build
    containers inside namespaces it owns, but none over the host (no device or proc mounts, no host files
    beyond what any user may read, no signals to host processes). Finally a filter for what it never needs."""
    unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = view["root"]
    mount(root, root, None, MS_BIND | MS_REC)
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    for host, inside, writable in view["mounts"]:
        bind(host, root + inside, writable, 0)
    os.makedirs(root + "/.oldroot", exist_ok=True)
    os.chdir(root)
    _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b".oldroot"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.oldroot", MNT_DETACH), "umount the host's tree")
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    if t is not None:
        t["view"] = now()
    unshare(CLONE_NEWUSER)
    sys.stdout.write(json.dumps({"userns": os.getpid()}) + "\n")
    sys.stdout.flush()
    if not sys.stdin.readline():
        os._exit(1)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    # No CAP_KILL for zygotes (nor, inherited, for containers): a zygote can then signal only processes of
    # its own uid, the other zygotes, never a container (those switch to _container_uid in harden).
    # (The bounding set loses it with the rest when zygote_main calls drop_bounding_set next.)
    global _container_uid, _kept_caps
    hdr, cur = _CapHeader(0x20080522, 0), (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(hdr), cur), "capget")
    cur[0].effective &= ~(1 << CAP_KILL)
    cur[0].permitted &= ~(1 << CAP_KILL)
    cur[0].inheritable &= ~(1 << CAP_KILL)
    _check(_libc.capset(ctypes.byref(hdr), cur), "capset")
    _container_uid = 1
    _kept_caps = tuple(c for c in KEPT_CAPS if c != CAP_KILL)  # prepare_hardening, called next, uses it
    if os.uname().machine == "x86_64":
        install_filter(build_filter(seccomp_program(DENIED_SYSCALLS_ZYGOTE_X86_64, filter_clone_namespaces=False)))


def harden(keep_fds):
    """The last step of entering a container, before any handler or package code runs in it: close every
    descriptor but `keep_fds` and stderr (stdin/stdout inherited from a zygote become /dev/null), drop the
    capabilities a handler never needs from the bounding, effective and permitted sets, forbid gaining
    privileges, and install the seccomp filter. Returns what was applied (the ready message reports it)."""
    null, fprog, hdr, data, kept = prepare_hardening()
    keep = set(keep_fds) | {2}
    for fd in (0, 1):
        if fd not in keep:
            os.dup2(null, fd)
            keep.add(fd)
    lo = 0
    for fd in sorted(keep) + [1 << 20]:  # close the gaps between kept descriptors (/proc is not mounted)
        if fd > lo:
            os.closerange(lo, fd)
        lo = fd + 1
    drop_bounding_set()
    if _container_uid is not None:  # leave the zygotes' uid, keeping the capabilities through the switch
        _check(_libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(KEEPCAPS)")
        os.setresgid(_container_uid, _container_uid, _container_uid)
        os.setresuid(_container_uid, _container_uid, _container_uid)
    _check(_libc.capset(ctypes.byref(hdr), data), "capset")
    install_filter(fprog)
    applied = {"caps": kept}
    if fprog is not None:
        applied["seccomp"] = len(DENIED_SYSCALLS_X86_64)
    return applied


def import_all(paths, modules):
    # Package directories go after the standard library, as site-packages does: at the front, every
    # standard-library import probed each package directory first (a handler with 40 packages imported
    # jinja2 30% slower).
    #
    # The collector is paused while the packages import (as `measure` times them): with it on, its full
    # collections walk every object the earlier packages left, so a set's import together cost more than its
    # packages' own imports summed (a 55-package set with scikit-learn, pandas and matplotlib: 2313 ms against
    # 1631 paused). A caller settles the heap after (a zygote collects and freezes, a handler freezes).
    for p in paths:
        if p not in sys.path:
            sys.path.append(p)
    was_on = gc.isenabled()
    gc.disable()
    try:
        for m in modules:
            try:
                __import__(m)
            except BaseException as e:  # SystemExit and KeyboardInterrupt included: name the module
                raise ImportFailed(m, e)
    finally:
        if was_on:
            gc.enable()


class ImportFailed(Exception):
    def __init__(self, module, cause):
        super().__init__("importing %s failed: %s: %s" % (module, type(cause).__name__, cause))
        self.module = module


def failure(e):
    """A not-ready reply for exception `e` (naming the module whose import failed, if that was it)."""
    out = {"ready": False, "error": "%s: %s" % (type(e).__name__, e)}
    if isinstance(e, ImportFailed):
        out["module"] = e.module
    return json.dumps(out) + "\n"


def serve(rfile, wfile, c, t):
    """Harden the process, import what is missing, load the handler, report ready, then answer invoke
    requests until EOF. A result that is not JSON gets an error reply, not a dead connection."""
    t["sandbox"] = harden({rfile.fileno(), wfile.fileno()})
    t["hardened"] = now()
    # The process's CPU time beside each wall stamp: an import or init whose wall is well over it waited (for
    # a core, or for the disk), one whose CPU time is over an import alone did more work.
    c0 = time.process_time_ns()
    imports = c.get("imports", [])
    import_all(c.get("paths", []), imports)
    if imports:
        # Not collected: the objects the imports made go to the permanent generation as they are, so the
        # handler's collections never walk them, and the paused collector's pending count does not make the
        # next allocation walk them all at once.
        gc.freeze()
    t["imported"] = now()
    c1 = time.process_time_ns()
    sys.path.insert(0, "/handler")
    import f as h  # noqa: the handler's own module (OpenLambda's layout: f.py defining f(event)); its body is its init
    t["initialized"] = now()
    t["import_cpu_ns"], t["init_cpu_ns"] = c1 - c0, time.process_time_ns() - c1
    reply(wfile, {"ready": True, "pid": os.getpid(), "t": t})
    serve_requests(rfile, wfile, h)


def serve_requests(rfile, wfile, h):
    """Answers invoke (and modules, exit) requests on the connection until EOF, calling `h.f(event)`."""
    for line in rfile:
        req = json.loads(line)
        op = req.get("op")
        if op == OP_INVOKE:
            t0 = now()
            tb = None
            try:
                result, err = h.f(req.get("event")), None
            except Exception as e:
                import traceback
                result, err, tb = None, "%s: %s" % (type(e).__name__, e), traceback.format_exc()
            t1 = now()
            try:
                out = {"result": result, "error": err, "t_exec_start": t0, "t_exec_end": t1}
                if tb is not None:
                    out["raised"], out["traceback"] = True, tb
                line = json.dumps(out)
            except Exception as e:  # not JSON-serialisable: say so
                line = json.dumps({"result": None, "error": "the handler's result is not JSON: %s: %s" % (type(e).__name__, e),
                                   "t_exec_start": t0, "t_exec_end": t1})
            wfile.write((line + "\n").encode())
            wfile.flush()
        elif op == OP_MODULES:
            reply(wfile, {"modules": sorted(sys.modules.keys())})
        elif op == OP_EXIT:
            break
    os._exit(0)


def reply(wfile, obj):
    wfile.write((json.dumps(obj) + "\n").encode())
    wfile.flush()


def child_after_fork(conn, req, t):
    """In the forked child of a zygote: relocate into the container, then serve on the same connection."""
    try:
        relocate(req["container"], t=t)
        t["relocated"] = now()
        rfile, wfile = conn.makefile("rb"), conn.makefile("wb")
        serve(rfile, wfile, req, t)
    except BaseException as e:
        try:
            conn.sendall(failure(e).encode())
        finally:
            os._exit(1)


REQUEST_LINE_TIMEOUT = 10.0  # seconds for a client of a zygote to send its request line
MAX_REQUEST_BYTES = 16 << 20


def prepare_standby(srv, cgroup_procs, new_net, path):
    """Fork a child ahead of need that joins `cgroup_procs` (a pooled container cgroup), unshares its
    namespaces (with `new_net`, a network namespace too) and waits, as pid 1 of its pid namespace, on its own
    socket at `path` for the one fork request the worker sends it directly: the zygote is not on that
    request's path at all (it may be busy forking the next standby). The socket is bound before the zygote
    answers, so the worker can connect as soon as it hears `prepared`."""
    lst = _listen(path)
    pid = os.fork()
    if pid == 0:
        srv.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        conn = None
        try:
            enter({"cgroup_procs": cgroup_procs, "new_net": new_net})
            fork_into_pid_namespace()
            warm_import_path()
            ready = now()  # in its group, namespaces made: from here a fork request is served at once
            conn, _ = lst.accept()
            lst.close()
            try:
                os.unlink(path)
            except OSError:
                pass
            line, req = _read_request(conn)
            if req is None or req.get("op") != OP_FORK:
                os._exit(0)  # the worker dropped us, or not a fork request
            t = {"received": now(), "forked": now(), "standby_ready": ready}
            t["joined"] = t["unshared"] = now()
            build_root(req["container"], t)
            t["relocated"] = now()
            serve(conn.makefile("rb"), conn.makefile("wb"), req, t)
        except BaseException as e:
            try:
                if conn is not None:
                    conn.sendall(failure(e).encode())
            except BaseException:
                pass
            os._exit(1)
    lst.close()


WARM_MODULE = "colorsys"  # small, pure Python, imports nothing, rarely imported by packages


def warm_import_path():
    """A standby child imports one small standard-library module (and drops it again) before it says ready,
    so the import machinery's first writes to the zygote's pages happen off the request's path. A child's first
    import copies the pages it writes: the import machinery's own objects, dictionaries and specialised
    bytecode, all the zygote's. Forked from a root that imports the handler's package itself, that import
    takes the copies, so loading the handler's module then costs 0.2 ms; forked from a zygote that holds the
    package, the handler's module was the first import and took them: 0.9-1.0 ms, 160 page faults against 2
    (pyyaml, 1 ms of init work). With this: 0.5 ms, 24 faults."""
    if WARM_MODULE in sys.modules:
        return
    try:
        __import__(WARM_MODULE)
    except ImportError:  # an interpreter without it: the handler's import pays the copies, as before
        return
    sys.modules.pop(WARM_MODULE, None)


def _or_exit(step):
    """Runs a start-up step; on any failure, reports it to the worker (stdout) and exits."""
    try:
        step()
    except BaseException as e:
        sys.stdout.write(failure(e))
        sys.stdout.flush()
        os._exit(1)


def _listen(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv.bind(path)
    srv.listen(64)
    return srv


def _read_request(conn):
    """The request line of a client, as (line, request dict), or (line, None) for anything else. A client
    that connects and says nothing must not stall the zygote: the line has to arrive within
    REQUEST_LINE_TIMEOUT (blocking again afterwards: children inherit the socket)."""
    conn.settimeout(REQUEST_LINE_TIMEOUT)
    try:
        line = conn.makefile("rb").readline(MAX_REQUEST_BYTES)
        conn.settimeout(None)
    except OSError:
        line = b""
    try:
        req = json.loads(line) if line.endswith(b"\n") else None
    except ValueError:
        req = None
    return line, req if isinstance(req, dict) else None


def _on_fork(srv, conn, line, req, t):
    if os.fork() == 0:
        srv.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        t["forked"] = now()
        child_after_fork(conn, req, t)
    conn.close()


def _on_prepare(srv, conn, line, req, t):
    prepare_standby(srv, req["cgroup_procs"], req.get("new_net", False), req["socket"])
    conn.sendall(b'{"prepared": true}\n')
    conn.close()


def _on_fork_zygote(srv, conn, line, req, t):
    """A child zygote: imports more, listens on its own socket, reports on this connection."""
    if os.fork() == 0:
        srv.close()
        try:
            sub = req["zygote"]
            os.setsid()
            join_cgroups(sub.get("cgroup_procs", []))  # its own group before any import runs
            t0, c0 = now(), time.process_time_ns()
            import_all(sub.get("paths", []), sub.get("imports", []))
            conn.sendall((json.dumps({"ready": True, "pid": os.getpid(), "import_ns": now() - t0,
                                      "import_cpu_ns": time.process_time_ns() - c0}) + "\n").encode())
            conn.close()
            c2 = dict(sub)
            c2["already_imported"] = True
            zygote_loop(c2)
        except BaseException as e:
            conn.sendall(failure(e).encode())
            os._exit(1)
    conn.close()


def _on_ping(srv, conn, line, req, t):
    conn.sendall(b'{"pong": true}\n')
    conn.close()


def _on_unknown(srv, conn, line, req, t):
    conn.close()


ZYGOTE_OPS = {OP_FORK: _on_fork, OP_PREPARE: _on_prepare, OP_FORK_ZYGOTE: _on_fork_zygote, OP_PING: _on_ping}


def settle_heap():
    """A zygote, once it has imported, collects its garbage and freezes what is left (CPython's advice for a
    process that forks without exec): its children start with empty generation counts and their collections
    never walk the zygote's objects. Otherwise each child inherits the counts the imports left, and a
    collection early in the handler's load walks the imports' young objects, writing to (so copying) their
    pages: forked from a pyyaml zygote, a 1 ms init took 1.9-2.4 ms, and 1.5-1.6 ms with this (numpy's: 1.6
    either way; a tiny zygote's: 1.1-1.2)."""
    gc.collect()
    gc.freeze()


def zygote_main(c):
    """A zygote: a root enters its sandbox; every zygote hardens, joins its cgroup and imports its packages,
    reports ready on stdout, then serves the protocol's zygote operations on its socket for ever."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked intermediates are reaped by the kernel
    if c.get("view"):
        _or_exit(lambda: enter_zygote_sandbox(c["view"]))
    prepare_hardening()
    drop_bounding_set()
    join_cgroups(c.get("cgroup_procs", []))
    t0, c0 = now(), time.process_time_ns()
    _or_exit(lambda: import_all(c.get("paths", []), c.get("imports", [])))
    settle_heap()
    srv = _listen(c["socket"])
    sys.stdout.write(json.dumps({"ready": True, "pid": os.getpid(), "import_ns": now() - t0,
                                 "import_cpu_ns": time.process_time_ns() - c0}) + "\n")
    sys.stdout.flush()
    while True:
        conn, _ = srv.accept()
        line, req = _read_request(conn)
        if req is None:  # cut short, or not a request: drop the client, keep serving
            conn.close()
            continue
        ZYGOTE_OPS.get(req.get("op"), _on_unknown)(srv, conn, line, req, {"received": now()})


def zygote_loop(c):
    """Serve forks for a zygote that is already imported (a child zygote), already in its cgroup: on v1
    another write to the same `cgroup.procs` waits for an RCU grace period again (6-16 ms once its imports
    have taken a while), for nothing."""
    c = dict(c)
    c["paths"], c["imports"], c["cgroup_procs"] = [], [], []
    sys.stdout = open(os.devnull, "w")
    zygote_main(c)


def cold_main(c):
    t = {"started": now()}
    try:
        relocate(c["container"], t=t)
        t["relocated"] = now()
        serve(sys.stdin.buffer, sys.stdout.buffer, c, t)
    except BaseException as e:
        try:
            sys.stdout.buffer.write(failure(e).encode())
            sys.stdout.buffer.flush()
        finally:
            os._exit(1)


def install_main(c):
    import sysconfig
    purelib = sysconfig.get_paths()["purelib"]  # pip lives in site-packages, which -S leaves off sys.path
    relocate(c["container"], wait_child=True)
    harden({0, 1})
    sys.path.append(purelib)
    import runpy
    sys.argv = ["pip"] + c["pip_args"]
    try:
        runpy.run_module("pip", run_name="__main__", alter_sys=True)
    except SystemExit as e:
        os._exit(e.code if isinstance(e.code, int) else (0 if e.code is None else 1))
    os._exit(0)


def bare_main(c):
    """The benchmarks' floor: the handler in `handler_dir` served on stdin/stdout by a plain interpreter, no
    container, no sandbox, nothing cached (`bench-serve`)."""
    sys.path.insert(0, c["handler_dir"])
    import f as h
    wfile = sys.stdout.buffer
    reply(wfile, {"ready": True, "pid": os.getpid()})
    serve_requests(sys.stdin.buffer, wfile, h)


def main(mode, config_json):
    {"zygote": zygote_main, "cold": cold_main, "install": install_main, "bare": bare_main}[mode](json.loads(config_json))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
