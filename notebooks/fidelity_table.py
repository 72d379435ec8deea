"""The fidelity table: simulated against measured at realistic load, from results/compare-WORKLOAD-Cc-loadL.csv
(written by scripts/fidelity). Prints Markdown; with --readme FILE, replaces the table between the markers
`<!-- fidelity-table -->` and `<!-- /fidelity-table -->` in FILE instead.

    python notebooks/fidelity_table.py results [--readme README.md]

Per comparison: the load measured (time on a core over the arrivals' span), requests joined, arrivals refused
with the queue full (real / simulated), the share of requests whose tier and zygote agree (a zygote agrees when it
holds the same packages, whatever id each executor gave it), per tier the p50 and
p99 error of the simulated latency against the measured, and the phase with the largest median per-request
relative error |sim - real| / real and how many requests spent time in it (phases with fewer than 5 such
requests, or whose measured median is under 0.1 ms, are left out: their relative errors are noise), judged
against the point simulation (every primitive at its median: the simulator's guess of each request; columns
`PHASE_point_ms`) where the file has it, with the same figure against the first seed's draws after it (a draw per
request each side: the spread counts twice); and, when
compare ran the real side twice (`--repeat-real`), the second real run's p50 and p99 errors against the first's
per tier: how far the real system is from itself; and the p50 and p99 errors per tier after the first burst (as
compare's `# first burst:` line has it: from the first request after the first one that waited 1 ms or more for a
core, in either run, that waited less in both), where the start's queue, which differed up to 5.6x between two
real runs, is over; and, when compare kept every simulated seed's latencies (since `--real-runs N`: columns `latency_realK_ms`
and `latency_simK_ms`), the pooled p50 and p99 errors per tier: every real run's served requests against every
simulation's, each side's runs together (the distribution the trace gives, not one sample path of it; older files
have no `latency_sim2_ms` and show "–"). Each executor's tier latencies are over the requests it served (as
compare's own tier table takes them: where the queue bound refuses different requests on each side, a request one
side refused still counts for the other); agreement, the phases and "requests" are over the requests both
served. A failed or refused request is left out of every latency figure of the side that failed or refused it.
Under the table, one line counts the issue's goals at 30% and 60% load (agreement, and the handler and import
tiers' p50 and p99) from the unrounded errors, twice: by the one-run figures, and by the pooled ones where a
comparison has them (its one-run figures where it has not); and the tier figures where the simulation is as close
to the first real run as the second real run is. And one more line: of the pooled tier figures that miss their goal,
those whose simulated value lies inside the real side's own 90% interval, a bootstrap over requests (every request
of the trace drawn with replacement, each carrying its latencies in all real runs, 1000 draws, seed 1): how far
the real figure moves with another sample of the same requests' process, so a miss inside it is not told apart
from the real side's sampling noise (a bimodal tier whose p50 falls between the modes moves most); and those
inside the range of the real runs' own figures (each run's p50 or p99 of the tier, against the pooled one): how
far the real system moves from one run to the next, which the bootstrap, drawing from one pool, does not see. Last, a small
table of the import tier in its two modes (requests that installed a package on the way, and those that did not),
one run each side, each mode's p50 and p99 error and its count on each side.
"""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipsqueak_results as pr  # noqa: E402

PHASES = ["queue", "download", "install", "create", "fork", "import", "init", "exec"]
NAME = re.compile(r"^compare-(?P<workload>.+)-(?P<cores>\d+)c-load(?P<load>\d+)\.csv$")


def phase_error(real, sim):
    """A phase's median per-request relative error |sim - real| / real over the requests whose measured time
    in it is at least 0.01 ms, and how many: (error, n); None when fewer than 5 such requests or a measured
    median under 0.1 ms (a queue of the HTTP hand-off, an import of nothing: their relative errors are noise)."""
    pairs = [(r, s) for r, s in zip(real, sim) if r >= 0.01]
    if len(pairs) < 5 or pr.quantile([r for r, _ in pairs], 0.5) < 0.1:
        return None
    return pr.quantile([abs(s - r) / r for r, s in pairs], 0.5), len(pairs)


def phase_sides(ok):
    """The requests both served with the same tier, and the suffix of the simulated phase columns to judge them by:
    the point simulation's (`PHASE_point_ms`: every primitive at its median, the simulator's guess of each request;
    compare writes them since campaign AJ) where the file has them, over the requests it started as the real run
    did; else the first seed's draws (`PHASE_sim_ms`). `ok` is `sides(df)[2]`. Returns (rows, suffix)."""
    if "tier_point" in ok:
        return ok[ok.tier_real == ok.tier_point], "point"
    return ok[ok.tier_real == ok.tier_sim], "sim"


def worst_phase(ok, suffix=None):
    """The phase with the largest median relative error (`phase_error`) over `phase_sides(ok)` (or, with
    `suffix` "sim", over the first seed's draws): (phase, error, n), or None."""
    same, sfx = phase_sides(ok) if suffix is None else (ok[ok.tier_real == ok["tier_" + suffix]], suffix)
    worst = None
    for ph in PHASES:
        e = phase_error(same["%s_real_ms" % ph].tolist(), same["%s_%s_ms" % (ph, sfx)].tolist())
        if e is not None and (worst is None or e[0] > worst[1]):
            worst = (ph, e[0], e[1])
    return worst


def sides(df):
    """The rows each executor served, and those both served: (real, sim, both). The real worker failed or refused
    a request where `error_real` is set; the simulation refused one where `tier_sim` is `refused` (compare writes
    such rows since campaign Q; older files have no row for them)."""
    real = df.error_real.isna() | (df.error_real.astype(str) == "")
    sim = df.tier_sim.astype(str) != "refused"
    return df[real], df[sim], df[real & sim]


def agreement(both):
    """Per request both served (`both`, from `sides`), whether its tier and zygote agree (a zygote agrees when it
    holds the same packages, whatever id each executor gave it): a Series of booleans, whose mean is the share."""
    same_zygote = (both.zygote_real == both.zygote_sim) | (both.zygote_real.isna() & both.zygote_sim.isna())
    if "zygote_packages_real" in both:
        same_zygote |= both.zygote_packages_real.notna() & (both.zygote_packages_real == both.zygote_packages_sim)
    return (both.tier_real == both.tier_sim) & same_zygote


def comparisons(results):
    out = []
    for f in sorted(os.listdir(results)):
        m = NAME.match(f)
        if m:
            out.append((m.group("workload"), int(m.group("cores")), int(m.group("load")), os.path.join(results, f)))
    order = {"micro-numpy": 0, "micro-pyyaml": 1, "mixed": 2, "azure": 3}
    return sorted(out, key=lambda c: (order.get(c[0], 9), c[0], c[1], c[2]))


def pct(x):
    return "–" if x is None or np.isnan(x) else "%+.0f%%" % (100 * x)


def relative(real, other):
    """p50 and p99 of `other`'s latencies against `real`'s, as fractions ([p50, p99]), or None when either has
    none."""
    if len(real) == 0 or len(other) == 0:
        return None
    return [pr.quantile(other, q) / pr.quantile(real, q) - 1 for q in (0.5, 0.99)]


def show(e, n=None):
    """Errors from `relative` as "p50 / p99" (with the count `n` when given), or "–" for none."""
    if e is None:
        return "–"
    return "%s / %s" % (pct(e[0]), pct(e[1])) + (" (%d)" % n if n is not None else "")


def errors(real, other):
    """p50 and p99 of `other`'s latencies against `real`'s, as "p50 / p99 (real's count)", or "–"."""
    return show(relative(real, other), len(real))


# The goals at 30% and 60% load: tier and zygote agree for at least this share; per tier, p50 within
# the first and p99 within the second (relative error).
AGREE_GOAL, P50_GOAL, P99_GOAL = 0.99, 0.10, 0.25


def goals(agree, sim, again):
    """One comparison against the goals: (met, of) over agreement and the handler and import tiers' p50 and p99,
    and (as close as the second real run, of): the tier figures where the simulation's error is no larger than
    the second real run's (`again`: per tier [p50, p99] or None)."""
    met, of = int(agree >= AGREE_GOAL), 1
    close = n = 0
    for e, r in zip(sim, again or [None, None]):
        for k, bound in enumerate((P50_GOAL, P99_GOAL)):
            of += 1
            met += int(e is not None and abs(e[k]) <= bound)
            if e is not None and r is not None:
                n += 1
                close += int(abs(e[k]) <= abs(r[k]))
    return met, of, close, n


def pooled(df, served_real, served_sim, tier):
    """Every real run's latencies of `tier` (the first run's served requests and each further run's,
    `latency_realK_ms` where `tier_realK` is the tier) and every simulation's (`latency_simK_ms`), as two lists,
    and how many runs of each: (real, sim, runs_real, runs_sim); None when the file kept no further simulated
    seed (made before compare wrote them)."""
    reals = sorted(int(c[len("tier_real"):]) for c in df.columns if re.fullmatch(r"tier_real\d+", c))
    sims = sorted(int(c[len("tier_sim"):]) for c in df.columns if re.fullmatch(r"tier_sim\d+", c))
    if not sims:
        return None
    real = served_real[served_real.tier_real == tier].latency_real_ms.tolist()
    for k in reals:
        real += df[df["tier_real%d" % k] == tier]["latency_real%d_ms" % k].tolist()
    sim = served_sim[served_sim.tier_sim == tier].latency_sim_ms.tolist()
    for k in sims:
        sim += df[df["tier_sim%d" % k] == tier]["latency_sim%d_ms" % k].tolist()
    return real, sim, 1 + len(reals), 1 + len(sims)


BOOT_DRAWS, BOOT_LEVEL, BOOT_SEED = 1000, 0.90, 1


def real_pool_rows(df, served_real, tier):
    """The pooled real latencies of `tier` (as `pooled` takes them) and, for each, the position of its request's
    row in `df`: (latencies, rows)."""
    lat, rows = [], []
    sel = served_real[served_real.tier_real == tier]
    lat += sel.latency_real_ms.tolist()
    rows += df.index.get_indexer(sel.index).tolist()
    for k in sorted(int(c[len("tier_real"):]) for c in df.columns if re.fullmatch(r"tier_real\d+", c)):
        sel = df[df["tier_real%d" % k] == tier]
        lat += sel["latency_real%d_ms" % k].tolist()
        rows += df.index.get_indexer(sel.index).tolist()
    return np.asarray(lat, dtype=float), np.asarray(rows, dtype=int)


def bootstrap_interval(lat, rows, nrows, p):
    """The real side's `BOOT_LEVEL` interval of its pooled p-quantile (nearest rank, as `pr.quantile`): the
    trace's `nrows` requests drawn with replacement `BOOT_DRAWS` times (seeded), each drawn request bringing its
    latencies in every real run; (low, high), or None without latencies."""
    if len(lat) == 0:
        return None
    order = np.argsort(lat, kind="stable")
    v, o = lat[order], rows[order]
    rng = np.random.default_rng(BOOT_SEED)
    qs = []
    for start in range(0, BOOT_DRAWS, 100):
        counts = rng.multinomial(nrows, np.full(nrows, 1.0 / nrows), size=min(100, BOOT_DRAWS - start))
        cw = np.cumsum(counts[:, o], axis=1)
        total = cw[:, -1]
        k = np.maximum(1, np.ceil(p * total)).astype(int)
        qs += v[(cw >= k[:, None]).argmax(axis=1)][total > 0].tolist()
    tail = (1 - BOOT_LEVEL) / 2
    return pr.quantile(qs, tail), pr.quantile(qs, 1 - tail)


def run_range(df, served_real, tier, q):
    """Each real run's own q-quantile of `tier` (run 1 over its served requests, run K over the rows whose
    `tier_realK` is the tier): (lowest, highest), or None with fewer than two runs that served the tier. Between
    runs the machine and the first burst differ (a run's start refused 28 arrivals, the next two 104 and 110), which
    a bootstrap over one set of requests does not see."""
    runs = [served_real[served_real.tier_real == tier].latency_real_ms.tolist()]
    for k in sorted(int(c[len("tier_real"):]) for c in df.columns if re.fullmatch(r"tier_real\d+", c)):
        runs.append(df[df["tier_real%d" % k] == tier]["latency_real%d_ms" % k].tolist())
    qs = [pr.quantile(r, q) for r in runs if len(r)]
    return (min(qs), max(qs)) if len(qs) >= 2 else None


def import_modes(served_real, served_sim):
    """The import tier in its two modes, one run each side (the first real run against simulation seed 1; further
    runs keep no phases): the requests that installed a package on the way (`install_*_ms` > 0) and those that did
    not, each side's own. Per mode: (p50 / p99 errors as `relative` gives them, real count, simulated count), without
    first. The tier is bimodal (a few hundred ms against seconds) and its p50 can fall between the modes, where a
    small change in the share of installs moves it far; this shows each mode's own error and the two shares."""
    out = []
    real = served_real[served_real.tier_real == "import"]
    sim = served_sim[served_sim.tier_sim == "import"]
    for installed in (False, True):
        r = real[(real.install_real_ms > 0) == installed].latency_real_ms
        s = sim[(sim.install_sim_ms > 0) == installed].latency_sim_ms
        out.append((relative(r, s), len(r), len(s)))
    return out


def row(workload, cores, load, path):
    df = pr.read_csv(path)
    served_real, served_sim, ok = sides(df)
    agree = agreement(ok).mean() if len(ok) else float("nan")
    prov = df.attrs["provenance"]
    m = re.match(r"([\d.]+)% real.*refused with the queue full: (\d+) real, (\d+) simulated", prov.get("load", ""))
    measured_load = "%s%%" % m.group(1) if m else "?"
    refused = "%s / %s" % (m.group(2), m.group(3)) if m else "?"
    real = {t: served_real[served_real.tier_real == t].latency_real_ms for t in ("handler", "import", "cold")}
    sim = [relative(real[t], served_sim[served_sim.tier_sim == t].latency_sim_ms) for t in ("handler", "import", "cold")]
    tiers = [show(e, len(real[t])) for e, t in zip(sim, ("handler", "import", "cold"))]
    # A second real run (compare --repeat-real): its errors against the first, as the simulation's are
    # computed: the real system's own repeatability.
    again, real2 = "–", None
    if "latency_real2_ms" in df:
        real2 = [relative(real[t], df[df.tier_real2 == t].latency_real2_ms) for t in ("handler", "import")]
        again = "; ".join(show(e) for e in real2)
    # After the first burst (compare's definition): the tiers once the start's queue is over.
    waited = (ok.queue_real_ms >= 1) | (ok.queue_sim_ms >= 1)
    after = "–"
    if waited.any():
        start = int(np.argmax(waited.to_numpy()))
        calm = ((ok.queue_real_ms < 1) & (ok.queue_sim_ms < 1)).to_numpy()
        ends = [i for i in range(start + 1, len(ok)) if calm[i]]
        if ends:
            rest = ok.iloc[ends[0]:]
            after = "; ".join(errors(rest[rest.tier_real == t].latency_real_ms, rest[rest.tier_sim == t].latency_sim_ms)
                              for t in ("handler", "import"))
    # Every real run against every simulation, each tier's latencies together (compare --real-runs).
    pools = [pooled(df, served_real, served_sim, t) for t in ("handler", "import")]
    pool_errors, pool_cell, intervals, spans = None, "–", None, None
    if pools[0] is not None:
        pool_errors = [relative(np.array(p[0]), np.array(p[1])) for p in pools]
        # The real side's own interval for each pooled figure, relative to its point (as the errors are).
        intervals, spans = [], []
        for t, p in zip(("handler", "import"), pools):
            lat, rows = real_pool_rows(df, served_real, t)
            per, span = [], []
            for q in (0.5, 0.99):
                b, point = bootstrap_interval(lat, rows, len(df), q), pr.quantile(p[0], q)
                per.append(None if b is None or not point else (b[0] / point - 1, b[1] / point - 1))
                r = run_range(df, served_real, t, q)
                span.append(None if r is None or not point else (r[0] / point - 1, r[1] / point - 1))
            intervals.append(per)
            spans.append(span)
        pool_cell = "%d × %d: %s" % (pools[0][2], pools[0][3], "; ".join(show(e, len(p[0])) for e, p in zip(pool_errors, pools)))
    worst = worst_phase(ok)
    worst_cell = "%s %.0f%% (%d)" % (worst[0], 100 * worst[1], worst[2]) if worst else "–"
    if "tier_point" in ok:
        # The first seed's draws beside it: one draw per request each side, so the spread counts twice.
        drawn = worst_phase(ok, "sim")
        worst_cell += "; draws: %s" % ("%s %.0f%%" % (drawn[0], 100 * drawn[1]) if drawn else "–")
    line = "| %s | %d%% of %d | %s | %d | %s | %.1f%% | %s | %s | %s | %s | %s | %s | %s |" % (
        workload, load, cores, measured_load, len(ok), refused, 100 * agree, tiers[0], tiers[1], tiers[2],
        worst_cell, again, after, pool_cell)
    # The pooled figures that miss their goal: (what, error, the real side's interval, the real runs' range), for the line under the table.
    misses = []
    for t, e, iv, sp in zip(("handler", "import"), pool_errors or [], intervals or [], spans or []):
        for k, (q, bound) in enumerate((("p50", P50_GOAL), ("p99", P99_GOAL))):
            if e is not None and abs(e[k]) > bound:
                misses.append(("%s %d%% %s %s" % (workload, load, t, q), e[k], iv[k], sp[k]))
    modes = "| %s | %d%% of %d | %s |" % (workload, load, cores, " | ".join(
        "%s (%d real, %d sim)" % (show(e), nr, ns) for e, nr, ns in import_modes(served_real, served_sim)))
    return line, goals(agree, sim[:2], real2), goals(agree, pool_errors or sim[:2], None), pool_errors is not None, misses, modes


def table(results):
    lines = ["| workload | fitted to | load measured | requests | refused real / sim | tier & zygote agree | handler p50 / p99 err (n) | import p50 / p99 err (n) | cold p50 / p99 err (n) | worst phase: median rel. err (n), point simulation; draws | a second real run: handler; import p50 / p99 | after the first burst: handler; import p50 / p99 err (n) | pooled, real runs × simulations: handler; import p50 / p99 err (n real) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    met = of = close = n = pmet = pof = with_pool = count = 0
    misses, modes = [], []
    for c in comparisons(results):
        line, g, p, has_pool, m, mode = row(*c)
        lines.append(line)
        modes.append(mode)
        if c[2] in (30, 60):
            met, of, close, n = met + g[0], of + g[1], close + g[2], n + g[3]
            pmet, pof, with_pool, count = pmet + p[0], pof + p[1], with_pool + int(has_pool), count + 1
            misses += m
    lines += ["", "Goals at 30%% and 60%% load (tier and zygote agree for ≥ %.0f%%; handler and import p50 within %.0f%%, p99 "
              "within %.0f%%): by the one-run figures %d of %d met; by the pooled figures where the comparison has them "
              "(%d of %d comparisons; the one-run figures elsewhere) %d of %d; the simulation as close to the first real run "
              "as the second real run is: %d of %d tier figures." % (100 * AGREE_GOAL, 100 * P50_GOAL, 100 * P99_GOAL, met, of,
                                                                    with_pool, count, pmet, pof, close, n)]
    if misses:
        def within(e, iv):
            return iv is not None and iv[0] <= e <= iv[1]
        inside = [m for m in misses if within(m[1], m[2])]
        between = [m for m in misses if within(m[1], m[3])]
        lines += ["", "Pooled tier figures that miss, at 30%% and 60%%: %d; the simulation inside the real side's own %.0f%% interval "
                  "(a bootstrap over requests, %d draws): %d of them; inside the range of the real runs' own figures (each "
                  "run's, against the pooled: between runs the machine and the first burst differ, which the bootstrap does "
                  "not see): %d. Each: error (the real side's interval; the runs' range): %s." % (
                      len(misses), 100 * BOOT_LEVEL, BOOT_DRAWS, len(inside), len(between),
                      "; ".join("%s %s (%s..%s; runs %s..%s)%s" % (
                          what, pct(e), pct(iv[0]) if iv else "–", pct(iv[1]) if iv else "–",
                          pct(sp[0]) if sp else "–", pct(sp[1]) if sp else "–",
                          ", " + " and ".join(w for w, yes in (("inside", within(e, iv)), ("between runs", within(e, sp))) if yes)
                          if within(e, iv) or within(e, sp) else "")
                                for m in misses for what, e, iv, sp in [m]))]
    lines += ["", "The import tier in its two modes, one run each side (the first real run against simulation seed 1): the "
              "requests that installed a package on the way and those that did not, each side's own; a p50 between the "
              "modes moves with their shares.", "",
              "| workload | fitted to | import, no install: p50 / p99 err (n) | import with an install: p50 / p99 err (n) |",
              "|---|---|---|---|"] + modes
    return "\n".join(lines) + "\n"


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    t = table(argv[0])
    if len(argv) >= 3 and argv[1] == "--readme":
        path = argv[2]
        text = open(path, encoding="utf-8").read()
        start, end = "<!-- fidelity-table -->\n", "<!-- /fidelity-table -->"
        if start not in text or end not in text:
            print("%s: no %s ... %s markers to put the table between" % (path, start.strip(), end), file=sys.stderr)
            return 1
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(head + start + t + end + tail)
        os.replace(tmp, path)
        print("fidelity table written into %s" % path)
    else:
        sys.stdout.write(t)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
