"""Figures from pipsqueak's result CSVs: speedup bars per package (log axis), latency CDFs per preset,
the cache-interaction timeline, and sweep heatmaps. Usage: figures.py RESULTS_DIR OUT_DIR"""
import csv, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


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
    by = {}
    for x in rows(p):
        by.setdefault(x["preset"], []).append((float(x["latency_ms"]), float(x["quantile"])))
    for k, v in by.items():
        v.sort()
        ax.plot([a for a, _ in v], [b for _, b in v], label=k)
    ax.set_xscale("log"); ax.set_xlabel("latency (ms, log)"); ax.set_ylabel("fraction of requests")
    ax.set_title("Mixed workload: latency CDF per preset"); ax.legend(); fig.tight_layout()
    fig.savefig(os.path.join(out, "latency-cdf.png"), dpi=110); plt.close(fig)


def interaction(res, out):
    p = os.path.join(res, "cache-interaction.csv")
    if not os.path.exists(p):
        return
    r = rows(p)
    fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    for cfg in ["h", "hm"]:
        xs = [int(x["minute"]) for x in r if x["config"] == cfg]
        axes[0].plot(xs, [float(x["handler_hit_ratio"]) for x in r if x["config"] == cfg], label=cfg)
        axes[1].plot(xs, [float(x["miss_mean_ms"]) for x in r if x["config"] == cfg], label=cfg)
        axes[2].plot(xs, [float(x["memory_mb"]) for x in r if x["config"] == cfg], label=cfg)
    axes[0].set_ylabel("handler-cache hit ratio"); axes[1].set_ylabel("miss latency (ms)"); axes[1].set_yscale("log")
    axes[2].set_ylabel("peak memory (MB)"); axes[2].set_xlabel("minute"); axes[0].legend()
    axes[0].set_title("Handler cache alone (h) vs handler + import cache (hm), same handler-cache budget")
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


if __name__ == "__main__":
    res, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for fn in (speedup, cdf, interaction, sweeps):
        fn(res, out)
    print("figures in", out)
