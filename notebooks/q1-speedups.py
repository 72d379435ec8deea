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
# # Question 1: how much do the caches speed up start-ups? (single-package microbenchmark)
#
# **Setup (the paper's microbenchmark):** for each measured package, 100 distinct handlers that all import only
# that package, Poisson arrivals at 2 requests/s for 10 minutes, one worker with 2 cores. Five cache
# configurations: `none`; `h` (handler cache alone); `hm` (handler + import cache); `hs` (handler + install
# cache); `all`. Simulated from the costs measured on this machine (`results/speedup.csv`); the first 60
# requests of numpy and pyyaml also measured on the real runtime (`results/speedup-real.csv`).
#
# *Start-up* is a request's latency without queueing and execution: download, install, container, fork, import
# and init. The paper reports 9-2000x start-up speedups of its caches.

# %% tags=["parameters"]
results = "../results"

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd

import pipsqueak_results as pr

sp = pr.read_csv(os.path.join(results, "speedup.csv"))
print(pr.provenance(sp))
allrows = sp[(sp.preset == "all") & sp.startup_speedup_all_over_none.notna()].copy()
print("%d packages" % len(allrows))
if "load" in sp.columns:
    # The load each preset puts on the 2 cores (time on a core over the arrivals' span): above 1 it is
    # saturated and its latency is mostly queueing, so compare start-up times there, not latencies.
    loads = sp.groupby("preset", sort=False).load.agg(median="median", max="max", saturated=lambda x: int((x > 1).sum()))
    display(loads.round(3))

# %% [markdown]
# ## Speedups of `all` over `none` and over `h`, every package

# %%
cols = {"startup_speedup_all_over_none": "start-up, all over none", "startup_speedup_all_over_h": "start-up, all over h",
        "miss_startup_speedup_all_over_h": "miss start-up, all over h"}
summary = pd.DataFrame({label: {"median": pr.quantile(allrows[c], 0.5), "min": allrows[c].min(), "max": allrows[c].max(),
                                "within 9-2000x": "%d of %d" % (allrows[c].between(9, 2000).sum(), allrows[c].notna().sum())}
                        for c, label in cols.items()}).T
summary

# %%
r = allrows.sort_values("startup_speedup_all_over_none", ascending=False).reset_index(drop=True)
fig, ax = plt.subplots(figsize=(14, 5.5))
ax.axhspan(9, 2000, color="grey", alpha=0.12, label="paper: 9-2000x")
ax.scatter(r.index, r.startup_speedup_all_over_none, s=10, label="all over none")
ax.scatter(r.index, r.startup_speedup_all_over_h, s=10, marker="x", label="all over h")
ax.set_yscale("log")
ax.set_xlabel("package (all %d measured, sorted by speedup over none; names in the table below)" % len(r))
ax.set_ylabel("start-up speedup (mean start-up ratio, log)")
ax.set_title("Single-package microbenchmark, simulated: 100 handlers, 2 req/s, 10 min, 2 cores, seed %s"
             % sp.attrs["provenance"].get("seed", "?"))
ax.legend(loc="upper right", framealpha=0.9)
fig.tight_layout()

# %%
r[["package", "startup_mean_ms", "startup_speedup_all_over_none", "startup_speedup_all_over_h", "miss_startup_speedup_all_over_h"]]

# %% [markdown]
# ## Measured on the real runtime (numpy and pyyaml, first 60 requests)

# %%
p = os.path.join(results, "speedup-real.csv")
if os.path.exists(p):
    real = pr.read_csv(p)
    print(pr.provenance(real))
    sim = sp[sp.package.isin(real.package.unique())][["package", "preset", "startup_mean_ms"]]
    both = real[["package", "preset", "requests", "errors", "startup_mean_ms"]].merge(sim, on=["package", "preset"], how="left",
                                                                                        suffixes=("_real", "_sim"))
    display(both)
    fig, axes = plt.subplots(1, len(real.package.unique()), figsize=(11, 4), squeeze=False)
    for ax, (pkg, g) in zip(axes[0], both.groupby("package")):
        x = range(len(g))
        ax.bar([i - 0.2 for i in x], g.startup_mean_ms_real, 0.4, label="measured (first 60 requests)")
        ax.bar([i + 0.2 for i in x], g.startup_mean_ms_sim, 0.4, label="simulated (whole trace)")
        ax.set_xticks(list(x)); ax.set_xticklabels(g.preset); ax.set_yscale("log")
        ax.set_ylabel("mean start-up (ms, log)"); ax.set_title("%s: 100 handlers, 2 req/s at 10x speed" % pkg, fontsize=10)
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
else:
    print("no %s: `pipsqueak reproduce --real` (root) measures it" % p)
