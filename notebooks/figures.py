"""Figures from pipsqueak's result CSVs: speedup bars per package (log axis), latency CDFs per preset,
the cache-interaction timeline, sweep heatmaps, and simulated against measured at realistic load (latency
CDFs per tier, per-phase error). Usage: figures.py RESULTS_DIR OUT_DIR"""
import csv, os, sys
import matplotlib
if __name__ == "__main__":
    matplotlib.use("Agg")  # a script writes files; imported by a notebook, its inline backend stays
import matplotlib.pyplot as plt

import fidelity_table
import pipsqueak_results as pr


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(l for l in f if not l.startswith("#")))


def speedup(res, out):
    p = os.path.join(res, "speedup.csv")
    if not os.path.exists(p):
        return
    r = [x for x in rows(p) if x["preset"] == "all" and x["startup_speedup_all_over_h"]]
    r.sort(key=lambda x: -float(x["startup_speedup_all_over_none"]))
    fig, ax = plt.subplots(figsize=(12, 5))
    xs = range(len(r))
    ax.axhspan(9, 2000, color="grey", alpha=0.12, label="paper: 9-2000x")
    ax.scatter(list(xs), [float(x["startup_speedup_all_over_none"]) for x in r], s=8, label="all over none")
    ax.scatter(list(xs), [float(x["startup_speedup_all_over_h"]) for x in r], s=8, marker="x", label="all over h")
    ax.set_yscale("log"); ax.set_xlabel("package (all %d measured, sorted by speedup over none)" % len(r))
    ax.set_ylabel("start-up speedup (mean, log)")
    ax.set_title("Single-package microbenchmark (100 handlers, 2 req/s, 10 min, 2 cores, simulated): start-up speedup")
    ax.legend(loc="upper right", framealpha=0.9); fig.tight_layout(); fig.savefig(os.path.join(out, "speedup.png"), dpi=110); plt.close(fig)


def cdf(res, out):
    p = os.path.join(res, "latency-cdf.csv")
    if not os.path.exists(p):
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    by, load = {}, {}
    for x in rows(p):
        by.setdefault(x["preset"], []).append((float(x["latency_ms"]), float(x["quantile"])))
        if "load" in x:
            load[x["preset"]] = float(x["load"])
    for k, v in by.items():
        v.sort()
        label = "%s (load %.0f%%%s)" % (k, 100 * load[k], ", saturated" if load[k] > 1 else "") if k in load else k
        ax.plot([a for a, _ in v], [b for _, b in v], label=label)
    ax.set_xscale("log"); ax.set_xlabel("latency (ms, log)"); ax.set_ylabel("fraction of requests")
    ax.set_title("Mixed workload: latency CDF per preset"); ax.legend(); fig.tight_layout()
    fig.savefig(os.path.join(out, "latency-cdf.png"), dpi=110); plt.close(fig)


def interaction(res, out):
    p = os.path.join(res, "cache-interaction.csv")
    if not os.path.exists(p):
        return
    r = rows(p)
    executors = [e for e in ("simulated", "measured") if any(x["executor"] == e for x in r)]
    fig, axes = plt.subplots(3, len(executors), figsize=(6.5 * len(executors), 8.5), sharex=True, squeeze=False)
    for j, ex in enumerate(executors):
        for cfg in ["h", "hm"]:
            g = [x for x in r if x["config"] == cfg and x["executor"] == ex]
            xs = [int(x["minute"]) for x in g]
            axes[0][j].plot(xs, [float(x["handler_hit_ratio"]) for x in g], marker="o", ms=3, label=cfg)
            axes[1][j].plot(xs, [float(x["miss_mean_ms"]) for x in g], marker="o", ms=3, label=cfg)
            axes[2][j].stackplot(xs, [float(x["zygote_mb"]) for x in g], [float(x["handler_cache_mb"]) for x in g],
                                 alpha=0.35 if cfg == "h" else 0.6, labels=["%s: zygotes (shared packages)" % cfg, "%s: paused containers" % cfg])
        axes[0][j].set_title(ex, fontsize=10); axes[0][j].set_ylabel("handler-cache hit ratio"); axes[0][j].legend()
        axes[1][j].set_ylabel("mean miss latency (ms)"); axes[1][j].set_yscale("log")
        axes[2][j].set_ylabel("memory (MB)"); axes[2][j].set_xlabel("minute"); axes[2][j].legend(fontsize=7, loc="lower right")
    fig.suptitle("Handler cache alone (h) vs handler + import cache (hm), same total memory: numpy microbenchmark, one worker", fontsize=10)
    fig.tight_layout(); fig.savefig(os.path.join(out, "cache-interaction.png"), dpi=110); plt.close(fig)


def sweeps(res, out):
    for f in sorted(os.listdir(res)):
        if not (f.startswith("sweep-") and f.endswith(".csv")):
            continue
        r = rows(os.path.join(res, f))
        hs = sorted({int(x["handler_cache_mb"]) for x in r}); im = sorted({int(x["import_cache_mb"]) for x in r})
        groups = sorted({(x["policy"], x["tree"]) for x in r})
        seeds = sorted({x["seed"] for x in r})
        fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3.6), squeeze=False)
        for ax, (pol, tree) in zip(axes[0], groups):
            cells = {}
            for x in r:
                if x["policy"] == pol and (x["tree"] == tree or int(x["import_cache_mb"]) == 0):
                    cells.setdefault((im.index(int(x["import_cache_mb"])), hs.index(int(x["handler_cache_mb"]))), []).append(float(x["mean_ms"]))
            grid = [[float("nan")] * len(hs) for _ in im]
            for (i, j), v in cells.items():
                grid[i][j] = sum(v) / len(v)  # the mean over seeds, not the last seed's value
            m = ax.imshow(grid, origin="lower", cmap="viridis_r", aspect="auto")
            ax.set_xticks(range(len(hs))); ax.set_xticklabels(hs); ax.set_yticks(range(len(im))); ax.set_yticklabels(im)
            ax.set_xlabel("handler cache MB"); ax.set_ylabel("import cache MB"); ax.set_title("%s, %s tree" % (pol, tree), fontsize=9)
            fig.colorbar(m, ax=ax, label="mean latency ms (mean of %d seed%s)" % (len(seeds), "s" if len(seeds) > 1 else ""))
        fig.tight_layout(); fig.savefig(os.path.join(out, f.replace(".csv", ".png")), dpi=110); plt.close(fig)


PHASES = fidelity_table.PHASES


def fidelity_runs(res):
    """The load campaign's comparisons (scripts/fidelity, as fidelity_table.comparisons finds them): (workload,
    cores, load, (served real, served simulated, served by both)), split by fidelity_table.sides."""
    return [(w, cores, load, fidelity_table.sides(pr.read_csv(path))) for w, cores, load, path in fidelity_table.comparisons(res)]


def fidelity(res, out):
    runs = fidelity_runs(res)
    if not runs:
        return
    workloads = sorted({w for w, _, _, _ in runs}, key=lambda w: (["micro-numpy", "micro-pyyaml", "mixed", "azure"] + [w]).index(w))
    tiers = [t for t in ("handler", "import", "cold") if any(((ok.tier_real == t) | (ok.tier_sim == t)).any() for _, _, _, (_, _, ok) in runs)]
    colors = {30: "tab:green", 60: "tab:orange", 90: "tab:red"}
    fig, axes = plt.subplots(len(workloads), len(tiers), figsize=(4.2 * len(tiers), 2.8 * len(workloads)), squeeze=False)
    for i, w in enumerate(workloads):
        for j, t in enumerate(tiers):
            ax = axes[i][j]
            for ww, cores, load, (real, sim, _) in runs:
                if ww != w:
                    continue
                # Each executor's over the requests it served.
                for served, col, tiercol, style, who in [(real, "latency_real_ms", "tier_real", "-", "measured"), (sim, "latency_sim_ms", "tier_sim", "--", "simulated")]:
                    v = sorted(served[served[tiercol] == t][col])
                    if v:
                        ax.plot(v, [(k + 1) / len(v) for k in range(len(v))], style, color=colors.get(load, "k"),
                                label="%d%% %s (%d)" % (load, who, len(v)), linewidth=1.2)
            ax.set_xscale("log"); ax.set_ylim(0, 1.01)
            ax.set_title("%s: %s tier" % (w, t), fontsize=9)
            if i == len(workloads) - 1: ax.set_xlabel("latency (ms, log)")
            if j == 0: ax.set_ylabel("fraction of requests")
            if ax.lines: ax.legend(fontsize=6, loc="lower right")
    fig.suptitle("Simulated (dashed) against measured (solid) on %d cores, per offered load (scripts/fidelity)" % runs[0][1], fontsize=10)
    fig.tight_layout(); fig.savefig(os.path.join(out, "fidelity-cdf.png"), dpi=110); plt.close(fig)
    # Per-phase median relative error, request by request (requests whose tiers agree, measured >= 0.01 ms),
    # against the point simulation where the file has it (fidelity_table.phase_sides).
    labels, grid = [], []
    for w, cores, load, (_, _, ok) in sorted(runs, key=lambda r: (workloads.index(r[0]), r[2])):
        same, sfx = fidelity_table.phase_sides(ok)
        line = []
        for ph in PHASES:
            # As the fidelity table (one rule, fidelity_table.phase_error): too few requests or too small a phase
            # is left blank.
            e = fidelity_table.phase_error(same[ph + "_real_ms"].tolist(), same["%s_%s_ms" % (ph, sfx)].tolist())
            line.append(100 * e[0] if e else float("nan"))
        labels.append("%s %d%%" % (w, load)); grid.append(line)
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(labels) + 1.6))
    m = ax.imshow(grid, cmap="magma_r", vmin=0, vmax=100, aspect="auto")
    for a, line in enumerate(grid):
        for b, v in enumerate(line):
            if v == v:
                ax.text(b, a, "%.0f" % v, ha="center", va="center", fontsize=7, color="white" if v > 60 else "black")
    ax.set_xticks(range(len(PHASES))); ax.set_xticklabels(PHASES); ax.set_yticks(range(len(labels))); ax.set_yticklabels(labels, fontsize=8)
    fig.colorbar(m, ax=ax, label="median |sim - real| / real (%)")
    ax.set_title("Per-phase error, request by request, against the point simulation (goal: under 15%; blank: under 5 requests or a measured median under 0.1 ms)", fontsize=8)
    fig.tight_layout(); fig.savefig(os.path.join(out, "fidelity-phase-error.png"), dpi=110); plt.close(fig)


if __name__ == "__main__":
    res, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for fn in (speedup, cdf, interaction, sweeps, fidelity):
        fn(res, out)
    print("figures in", out)
