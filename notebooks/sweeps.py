# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Sweeps: cache budgets × policies × zygote trees × seeds
#
# **Setup:** every `results/sweep-NAME.csv` (one row per point, written by `pipsqueak sweep` or
# `pipsqueak results export`), simulated on the trace its header names, 2 cores. Each cell below is the **mean
# over seeds** of a point, with the spread (standard deviation) beside it; a sweep run with a single seed has no
# spread, and says so.

# %% tags=["parameters"]
results = "../results"

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import pipsqueak_results as pr

sweeps = sorted(f for f in os.listdir(results) if f.startswith("sweep-") and f.endswith(".csv"))
print("sweeps:", ", ".join(sweeps) or "none (pipsqueak sweep writes results/sweep-NAME.csv)")

# %%
keys = ["handler_cache_mb", "import_cache_mb", "policy", "tree"]
for f in sweeps:
    df = pr.read_csv(os.path.join(results, f))
    seeds = sorted(df.seed.unique())
    print("%s: %d points, seeds %s\n  %s" % (f, len(df), ", ".join(map(str, seeds)), pr.provenance(df)))
    agg = df.groupby(keys).agg(mean_ms=("mean_ms", "mean"), mean_ms_std=("mean_ms", "std"), p99_ms=("p99_ms", "mean"),
                               handler_ratio=("handler_ratio", "mean"), import_ratio=("import_ratio", "mean"),
                               peak_memory_mb=("peak_memory_mb", "mean"), seeds=("seed", "count")).reset_index()
    display(agg)
    hs = sorted(df.handler_cache_mb.unique()); im = sorted(df.import_cache_mb.unique())
    groups = sorted({(p, t) for p, t in zip(agg.policy, agg.tree)})
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.8), squeeze=False)
    for ax, (pol, tree) in zip(axes[0], groups):
        grid = np.full((len(im), len(hs)), np.nan)
        for _, x in agg[(agg.policy == pol) & ((agg.tree == tree) | (agg.import_cache_mb == 0))].iterrows():
            grid[im.index(x.import_cache_mb), hs.index(x.handler_cache_mb)] = x.mean_ms / 1000
        m = ax.imshow(grid, origin="lower", cmap="viridis_r", aspect="auto")
        for i in range(len(im)):
            for j in range(len(hs)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, "%.1f" % grid[i, j], ha="center", va="center", fontsize=7, color="white")
        ax.set_xticks(range(len(hs))); ax.set_xticklabels(hs); ax.set_yticks(range(len(im))); ax.set_yticklabels(im)
        ax.set_xlabel("handler-cache budget (MB)"); ax.set_ylabel("import-cache budget (MB)")
        ax.set_title("%s, %s tree" % (pol, tree), fontsize=9)
        fig.colorbar(m, ax=ax, label="mean latency (s), mean of %d seed%s" % (len(seeds), "s" if len(seeds) > 1 else ""))
    fig.suptitle("%s: %s; %s" % (f, "seeds " + ",".join(map(str, seeds)), "no spread: one seed" if len(seeds) == 1 else
                                "spread in the table (mean_ms_std)"), fontsize=10)
    fig.tight_layout()
