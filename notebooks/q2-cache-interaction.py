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
# **Setup:** handler cache alone (`h`) against handler + import cache (`hm`) at the same handler-cache budget,
# simulated on the project's default mixed trace (`traces/mixed.csv`), per minute (`results/cache-interaction.csv`,
# made by `pipsqueak reproduce`). With the import cache, containers are forked from zygotes that already hold
# their packages, so each paused container is smaller and more of them fit in the same budget.
#
# **Caveat:** the paper answered this on its microbenchmark (one worker, 2 random requests/s, 100 handlers all
# importing numpy). The default mixed trace offers more work than two cores can do, so its latencies are
# dominated by queueing (see the miss latencies below); reproducing the paper's setup on the real worker is
# part of the fidelity issue. Read the hit ratios and memory, not the absolute latencies.

# %% tags=["parameters"]
results = "../results"

# %%
import os

import matplotlib.pyplot as plt

import pipsqueak_results as pr

ci = pr.read_csv(os.path.join(results, "cache-interaction.csv"))
print(pr.provenance(ci))
ci.groupby("config")[["requests", "handler_hit_ratio", "miss_mean_ms", "memory_mb", "handler_cache_mb"]].agg(
    {"requests": "sum", "handler_hit_ratio": "mean", "miss_mean_ms": "median", "memory_mb": "max", "handler_cache_mb": "max"})

# %%
fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
for cfg, g in ci.groupby("config"):
    label = {"h": "h: handler cache alone", "hm": "hm: handler + import cache"}.get(cfg, cfg)
    axes[0].plot(g.minute, g.handler_hit_ratio, marker="o", ms=3, label=label)
    axes[1].plot(g.minute, g.miss_mean_ms / 1000, marker="o", ms=3, label=label)
    axes[2].plot(g.minute, g.memory_mb, marker="o", ms=3, label="%s, total" % cfg)
    axes[2].plot(g.minute, g.handler_cache_mb, ls="--", label="%s, paused containers" % cfg)
axes[0].set_ylabel("handler-cache hit ratio")
axes[1].set_ylabel("mean miss latency (s, log)"); axes[1].set_yscale("log")
axes[2].set_ylabel("peak memory (MB)"); axes[2].set_xlabel("minute of the trace")
axes[0].legend(loc="lower right", fontsize=8); axes[2].legend(loc="lower right", fontsize=7, ncol=2)
axes[0].set_title("h vs hm, same handler-cache budget: default mixed trace, 2 cores, seed %s (simulated)"
                  % ci.attrs["provenance"].get("seed", "?"), fontsize=10)
fig.tight_layout()

# %% [markdown]
# ## Import-cache size (same trace)

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
    ax.set_title("Tiers against import-cache size: default mixed trace, 2 cores (simulated)", fontsize=10)
    ax.legend(loc="center right"); fig.tight_layout()
