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
# # Question 2: how do the caching layers interact?
#
# **Setup, as the paper set it up:** one worker, the numpy microbenchmark (100 distinct handlers all importing
# numpy, Poisson 2 requests/s, 10 minutes), the handler cache alone (`h`) against handler + import cache
# (`hm`) at the **same total memory** (`results/cache-interaction.csv`, made by `pipsqueak reproduce`; the
# `measured` rows by `pipsqueak reproduce --real`, on the real worker, one request at a time). Both have the
# install cache, so a miss is a start, not a pip install. Per minute of the trace: the handler-cache hit
# ratio, misses and their mean latency, and memory at the minute's end split into shared package memory
# (zygotes holding numpy) and handler-specific memory (paused containers).
#
# What the paper found: with the import cache, containers forked from a zygote are smaller (numpy's pages
# stay the zygote's), so more of them fit in the handler cache: handler-cache misses are rarer, and each miss
# is a fork, not a cold start, so it is faster.

# %% tags=["parameters"]
results = "../results"

# %%
import os

import matplotlib.pyplot as plt

import pipsqueak_results as pr

ci = pr.read_csv(os.path.join(results, "cache-interaction.csv"))
print(pr.provenance(ci))
for line in ci.attrs["provenance"].get("notes", []):
    print(line)
ci.groupby(["executor", "config"]).agg(requests=("requests", "sum"), errors=("errors", "sum"), misses=("misses", "sum"),
                                      hit_ratio_mean=("handler_hit_ratio", "mean"), miss_mean_ms_median=("miss_mean_ms", "median"),
                                      zygote_mb_max=("zygote_mb", "max"), handler_cache_mb_max=("handler_cache_mb", "max")).round(3)

# %%
executors = [e for e in ("simulated", "measured") if (ci.executor == e).any()]
fig, axes = plt.subplots(3, len(executors), figsize=(6.5 * len(executors), 8.5), sharex=True, squeeze=False)
for j, ex in enumerate(executors):
    for cfg, g in ci[ci.executor == ex].groupby("config"):
        label = {"h": "h: handler cache alone", "hm": "hm: handler + import cache"}.get(cfg, cfg)
        axes[0][j].plot(g.minute, g.handler_hit_ratio, marker="o", ms=3, label=label)
        axes[1][j].plot(g.minute, g.miss_mean_ms, marker="o", ms=3, label=label)
        axes[2][j].stackplot(g.minute, g.zygote_mb, g.handler_cache_mb, alpha=0.35 if cfg == "h" else 0.6,
                             labels=["%s: shared package memory (zygotes)" % cfg, "%s: handler-specific (paused containers)" % cfg])
    axes[0][j].set_title("%s" % ex, fontsize=10)
    axes[0][j].set_ylabel("handler-cache hit ratio"); axes[0][j].legend(loc="lower right", fontsize=8)
    axes[1][j].set_ylabel("mean miss latency (ms, log)"); axes[1][j].set_yscale("log")
    axes[2][j].set_ylabel("memory at the minute's end (MB)"); axes[2][j].set_xlabel("minute of the trace")
    axes[2][j].legend(loc="lower right", fontsize=7)
fig.suptitle("h vs hm at the same total memory: numpy microbenchmark, one worker (%s)" % ci.attrs["provenance"].get("made by", ""), fontsize=10)
fig.tight_layout()

# %% [markdown]
# ## Import-cache size (the default mixed trace)

# %%
p = os.path.join(results, "import-cache-size.csv")
if os.path.exists(p):
    ics = pr.read_csv(p)
    print(pr.provenance(ics))
    display(ics)
    fig, ax = plt.subplots(figsize=(7, 4))
    for col, label in [("handler_ratio", "handler hits"), ("import_ratio", "import hits"), ("cold_ratio", "cold starts")]:
        ax.plot(ics.import_cache_mb.astype(str), ics[col], marker="o", label=label)
    ax.set_xlabel("import-cache budget (MB)"); ax.set_ylabel("share of requests")
    load = " at %.0f%%-%.0f%% load" % (100 * ics.load.min(), 100 * ics.load.max()) if "load" in ics.columns else ""
    ax.set_title("Tiers against import-cache size: default mixed trace, 2 cores%s (simulated)" % load, fontsize=10)
    ax.legend(loc="center right"); fig.tight_layout()
