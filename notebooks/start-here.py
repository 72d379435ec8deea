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
# # Start here: pipsqueak's results as DataFrames
#
# Every result pipsqueak produces is in one of two places:
#
# - **CSV files in `results/`**, each written by a project command whose full command line, seed, machine and
#   code version are in its `#` header. `pr.read_csv` reads one into a DataFrame and keeps the header in
#   `df.attrs["provenance"]`.
# - **The results store**, a SQLite file (`results/pipsqueak.sqlite` by default) holding every run of
#   `reproduce` and `sweep` with its full configuration. Its schema is in `results/STORE.md`; `pr.Store` reads it.
#
# Change `results` or `store` below (or pass them with papermill's `-p`) to look at another run.

# %% tags=["parameters"]
results = "../results"
store = "../results/pipsqueak.sqlite"

# %%
import os

import pandas as pd

import pipsqueak_results as pr

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)

# %% [markdown]
# ## The CSVs, and what made each

# %%
rows = []
for f in sorted(os.listdir(results)):
    if f.endswith(".csv"):
        df = pr.read_csv(os.path.join(results, f))
        rows.append({"file": f, "rows": len(df), "made by": df.attrs["provenance"].get("made by", "?")})
pd.DataFrame(rows)

# %% [markdown]
# ## The store: every run with its configuration

# %%
if os.path.exists(store):
    st = pr.Store(store)
    runs = st.runs()
    print("%d runs in %s (schema version %d): %s" % (len(runs), store, st.version(),
          ", ".join("%d %s" % (n, k) for k, n in runs.kind.value_counts().sort_index().items())))
else:
    st, runs = None, pd.DataFrame()
    print("no results store at %s: `pipsqueak reproduce` or `pipsqueak sweep` writes one" % store)
runs[["id", "kind", "seed", "config.name", "config.handlerCache.memoryMB", "config.handlerCache.policy",
      "config.importCache.memoryMB", "config.importCache.tree", "code_version"]].head(10) if len(runs) else runs

# %% [markdown]
# ## One row per run, with its latency summary and metrics
#
# `Store.table(kind)` joins each run's per-tier summaries (`p50_ms.all`, `share.handler`, ...) and metrics
# (`peak_memory_mb`, ...). Any SQL works too: `st.sql("SELECT ...")`.

# %%
if st is not None:
    t = st.table()
    cols = ["id", "kind", "seed", "config.handlerCache.memoryMB", "config.importCache.memoryMB", "requests.all",
            "share.handler", "share.import", "mean_ms.all", "p99_ms.all", "peak_memory_mb"]
    display(t[[c for c in cols if c in t.columns]].head(10))

# %% [markdown]
# ## Sweeps stored, and the spread over seeds
#
# A sweep's points differ only by their inputs; grouping by everything but the seed gives each point's mean
# and spread over seeds (a sweep run with one seed has no spread: its `std` is empty).

# %%
if st is not None and len(st.sweeps()):
    display(st.sweeps()[["name", "trace", "command"]])
    s = st.table("sweep")
    keys = ["config.handlerCache.memoryMB", "config.importCache.memoryMB", "config.handlerCache.policy", "config.importCache.tree"]
    display(s.groupby(keys)["mean_ms.all"].agg(["count", "mean", "std"]).reset_index().head(12))
