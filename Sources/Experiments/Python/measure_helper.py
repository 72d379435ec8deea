"""Helper for `pipsqueak measure`: the parts of measuring that must run inside Python.

Modes (argv[1]):
  resolve OUT_JSON REPORT_JSON       summarise pip's --report (written by the caller) into OUT_JSON
  download URL DEST                  fetch URL into DEST, print "ms bytes"
  makewheel OUTDIR NAME VERSION REQUIRES SRCDIR   write a wheel of SRCDIR's files (REQUIRES comma-separated)
  toplevel DIR                       print the importable top-level modules installed in DIR, one per line
  import PATHS DEPS MODULES          (run with -S) put PATHS (os.pathsep-separated) on sys.path, import DEPS
                                     (comma-separated, failures ignored), then time importing MODULES;
                                     print "ms rss_before rss_after failed_modules". The collector is off
                                     throughout, as the worker's is while it imports packages
  shared PATHS DEPS MODULES          the import mode again under `-X importtime` (in a child): print the
                                     standard-library modules importing MODULES loaded, each with its own
                                     (self) import time, and the self time of everything it loaded:
                                     "total_ms name:ms;name:ms..." ("-" for none)
  probe                              (run with -S -I) time importing PROBE_MODULES, a fixed set of
                                     standard-library modules (pure Python and C, no package): print "ms".
                                     How fast this machine imports now; `measure` records it beside the
                                     import figures and `compare` scales them by the ratio of now to then
The import mode imports nothing beyond builtins before measuring, so the figure is the package's own.
"""
import sys


def rss_bytes():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4096


MARKER = "pipsqueak-measure: timed imports begin"


# The speed probe's modules: a fixed mix of what package imports do (unmarshal and run module bodies, load
# C extensions, compile regular expressions, build classes). Changing it makes earlier probes incomparable.
PROBE_MODULES = ("email.mime.text", "json", "decimal", "http.client", "xml.dom.minidom", "argparse", "asyncio",
                 "logging.handlers", "unittest", "dataclasses", "typing", "inspect", "ast", "zipfile", "tarfile",
                 "csv", "statistics", "fractions", "sqlite3", "urllib.request")


def mode_probe():
    import time
    t0 = time.perf_counter_ns()
    for m in PROBE_MODULES:
        __import__(m)
    t1 = time.perf_counter_ns()
    sys.stdout.write("%.3f\n" % ((t1 - t0) / 1e6))


def mode_import(paths, deps, modules, traced=False):
    import time
    import gc
    gc.disable()  # as the worker imports: its collector is paused while a zygote or a handler imports packages
    for p in [p for p in paths.split(":") if p]:
        sys.path.append(p)  # after the standard library, as the worker puts them
    for d in [d for d in deps.split(",") if d]:
        try:
            __import__(d)
        except BaseException:
            pass
    mods = [m for m in modules.split(",") if m]
    # A dependency may have imported the measured package itself (a cycle: soupsieve imports bs4, which
    # depends on soupsieve). Its own import would then time as free: drop it, so it is imported (and
    # timed) again, its dependencies already loaded.
    for m in mods:
        for k in [k for k in sys.modules if k == m or k.startswith(m + ".")]:
            del sys.modules[k]
    failed = []
    loaded = set(sys.modules)
    if traced:
        sys.stderr.write(MARKER + "\n")
        sys.stderr.flush()
    before = rss_bytes()
    t0 = time.perf_counter_ns()
    for m in mods:
        try:
            __import__(m)
        except ModuleNotFoundError as e:  # say which module was missing: it may be a cycle partner's
            failed.append("%s(ModuleNotFoundError:%s)" % (m, (e.name or "?").split(".")[0]))
        except BaseException as e:  # record and go on: one bad submodule must not hide the rest
            failed.append("%s(%s)" % (m, type(e).__name__))
    t1 = time.perf_counter_ns()
    after = rss_bytes()
    sys.stdout.write("%.3f %d %d %s\n" % ((t1 - t0) / 1e6, before, after, ";".join(failed) or "-"))
    if traced:
        new = sorted(m for m in sys.modules if m not in loaded and m.split(".")[0] in sys.stdlib_module_names)
        sys.stdout.write("stdlib: %s\n" % (" ".join(new) or "-"))


def mode_shared(paths, deps, modules):
    """Which standard-library modules importing MODULES loads (its dependencies imported first, as the import
    mode does) and what each costs itself: what a zygote that already holds them does not pay again."""
    import subprocess
    r = subprocess.run([sys.executable, "-S", "-I", "-X", "importtime", __file__, "import-traced", paths, deps, modules],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit("traced import failed: %s" % (r.stderr.strip().splitlines() or ["?"])[-1])
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    std = set(lines[-1].split()[1:]) - {"-"} if lines and lines[-1].startswith("stdlib:") else set()
    self_us, total_us, timed = {}, 0, False
    for l in r.stderr.splitlines():
        if l == MARKER:
            timed = True
            continue
        if not timed or not l.startswith("import time:"):
            continue
        f = l[len("import time:"):].split("|")
        if len(f) != 3 or not f[0].strip().isdigit():
            continue  # the column header
        us, name = int(f[0]), f[2].strip()
        total_us += us
        if name in std:
            self_us[name] = self_us.get(name, 0) + us
    parts = ["%s:%.3f" % (n, self_us[n] / 1000) for n in sorted(self_us)]
    sys.stdout.write("%.3f %s\n" % (total_us / 1000, ";".join(parts) or "-"))


def canonical(name):
    import re
    return re.sub(r"[-_.]+", "-", name).lower()


def mode_resolve(out_path, report_path):
    import json, re
    with open(report_path) as f:
        report = json.load(f)
    items = report.get("install", [])
    names = {canonical(i["metadata"]["name"]) for i in items}
    out = []
    for i in items:
        md = i["metadata"]
        requires = []
        for r in md.get("requires_dist", []) or []:
            spec, _, marker = r.partition(";")
            if "extra" in marker:
                continue
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
            if m and canonical(m.group(1)) in names and canonical(m.group(1)) != canonical(md["name"]):
                requires.append(canonical(m.group(1)))
        url = (i.get("download_info") or {}).get("url", "")
        out.append({"name": canonical(md["name"]), "version": md["version"], "url": url,
                    "requested": bool(i.get("requested")), "requires": sorted(set(requires))})
    with open(out_path, "w") as f:
        for o in out:
            f.write("%s %s %s %s %s\n" % (o["name"], o["version"], o["url"] or "-",
                                          "1" if o["requested"] else "0", ",".join(o["requires"]) or "-"))


def mode_download(url, dest):
    import time, urllib.request
    t0 = time.perf_counter_ns()
    if url.startswith("file://"):
        with open(url[7:], "rb") as f:
            data = f.read()
    else:
        with urllib.request.urlopen(url, timeout=120) as r:
            data = r.read()
    t1 = time.perf_counter_ns()
    tmp = dest + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    import os
    os.replace(tmp, dest)
    sys.stdout.write("%.3f %d\n" % ((t1 - t0) / 1e6, len(data)))


SKIP = {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "bin", "scripts"}


def mode_toplevel(d):
    import os
    found = set()
    dist_infos = [e for e in os.listdir(d) if e.endswith(".dist-info")]
    for e in os.listdir(d):
        p = os.path.join(d, e)
        if e.endswith(".dist-info") or e.endswith(".data") or e.startswith(".") or e == "__pycache__":
            continue
        if os.path.isdir(p):
            if e.isidentifier():
                found.add(e)
        elif e.endswith(".py"):
            found.add(e[:-3])
        elif e.endswith(".so") or e.endswith(".pyd"):
            found.add(e.split(".")[0])
    declared = set()
    for di in dist_infos:
        tl = os.path.join(d, di, "top_level.txt")
        if os.path.exists(tl):
            with open(tl) as f:
                declared |= {l.strip().split("/")[0] for l in f if l.strip()}
    names = (declared & found) or found
    names = {n for n in names if n.isidentifier() and n not in SKIP}
    public = {n for n in names if not n.startswith("_")}
    for n in sorted(public or names):
        p = os.path.join(d, n)
        if os.path.isdir(p) and not os.path.exists(os.path.join(p, "__init__.py")):
            # A namespace package (google, for protobuf): what users import is the package inside it.
            subs = sorted(e[:-3] if e.endswith(".py") else e for e in os.listdir(p)
                          if (e.endswith(".py") and e[:-3].isidentifier()) or (e.isidentifier() and os.path.isdir(os.path.join(p, e))))
            subs = [s for s in subs if not s.startswith("_") and s not in SKIP]
            if subs:
                for s in subs:
                    print(n + "." + s)
                continue
        print(n)


def mode_makewheel(outdir, name, version, requires, srcdir):
    """Writes NAME-VERSION-py3-none-any.whl holding every file under SRCDIR, with METADATA, WHEEL, RECORD."""
    import base64, hashlib, os, zipfile
    dist = name.replace("-", "_")
    info = "%s-%s.dist-info" % (dist, version)
    files = []
    for root, _, names in os.walk(srcdir):
        for n in sorted(names):
            full = os.path.join(root, n)
            with open(full, "rb") as f:
                files.append((os.path.relpath(full, srcdir), f.read()))
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
    for r in [r for r in requires.split(",") if r]:
        meta += "Requires-Dist: %s\n" % r
    files.append((info + "/METADATA", meta.encode()))
    files.append((info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: pipsqueak\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    record = ""
    for path, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
    record += info + "/RECORD,,\n"
    files.append((info + "/RECORD", record.encode()))
    out = os.path.join(outdir, "%s-%s-py3-none-any.whl" % (dist, version))
    with zipfile.ZipFile(out + ".part", "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            z.writestr(path, data)
    os.replace(out + ".part", out)
    print(out)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "import":
        mode_import(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "import-traced":
        mode_import(sys.argv[2], sys.argv[3], sys.argv[4], traced=True)
    elif mode == "shared":
        mode_shared(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "probe":
        mode_probe()
    elif mode == "resolve":
        mode_resolve(sys.argv[2], sys.argv[3])
    elif mode == "download":
        mode_download(sys.argv[2], sys.argv[3])
    elif mode == "makewheel":
        mode_makewheel(*sys.argv[2:7])
    elif mode == "toplevel":
        mode_toplevel(sys.argv[2])
    else:
        sys.exit("unknown mode %r" % mode)
