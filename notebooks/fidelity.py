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
# # Fidelity: simulated against measured, request by request
#
# **Setup:** each `results/compare-NAME.csv` is one trace replayed on the real runtime and simulated with the
# runtime's calibrated costs (`pipsqueak compare`). The ones named `compare-WORKLOAD-Cc-loadL.csv` are the load
# campaign (`scripts/fidelity`): four workloads, each fitted to L% of C cores (`trace fit`), served over HTTP
# by the concurrent worker on C cores and simulated on the same cores with the same queue bound; their header
# says the load measured and how many arrivals each side refused with the queue full. The others are the
# one-core comparisons (one request at a time, the trace sped up as its header says, decisions identical).
# Per tier: latency CDFs simulated against measured, each executor's over the requests it served (a request
# the real worker failed or refused has `error_real` set; one the simulation refused has `tier_sim` `refused`);
# per phase: the per-request error over the requests both served.
#
# Latency is from arrival to end, so where the worker is saturated it is mostly queueing; the queue column shows
# how much.

# %% [markdown]
# ## At realistic load: the campaign's table
#
# Per comparison: load measured, requests joined, refusals, the share whose tier and zygote agree, per tier the
# p50 / p99 error of simulated against measured (and how many requests), and the phase with the largest median
# per-request relative error. Goals (issue 14): at 30% and 60%, agreement ≥ 99%, p50 within 10%, p99 within
# 25%, per-phase median error under 15%. The same table is in the README (`scripts/fidelity --table`).

# %% tags=["parameters"]
results = "../results"

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import fidelity_table
import pipsqueak_results as pr

display(Markdown(fidelity_table.table(results)))

# %% [markdown]
# The campaign's figures, as `scripts/plot` draws them: latency CDFs per workload and tier (each load a colour,
# measured solid, simulated dashed), and each phase's median per-request error per comparison.

# %%
import tempfile

from IPython.display import Image

import figures

with tempfile.TemporaryDirectory(prefix="pipsqueak-fidelity-") as figure_dir:  # the images are embedded, then it goes
    figures.fidelity(results, figure_dir)
    for name in ("fidelity-cdf.png", "fidelity-phase-error.png"):
        if os.path.exists(os.path.join(figure_dir, name)):
            display(Image(filename=os.path.join(figure_dir, name)))

files = sorted(f for f in os.listdir(results) if f.startswith("compare-") and f.endswith(".csv"))
phases = ["queue", "download", "install", "create", "fork", "import", "init", "exec"]
print("comparisons:", ", ".join(files) or "none (pipsqueak compare writes results/compare-NAME.csv)")

# %%
rows = []
for f in files:
    df = pr.read_csv(os.path.join(results, f))
    real, sim, both = fidelity_table.sides(df)
    agree = fidelity_table.agreement(both)
    for tier, g in real.groupby("tier_real"):
        s = sim[sim.tier_sim == tier].latency_sim_ms
        if len(s) == 0:
            continue
        rows.append({"comparison": f, "tier": tier, "requests real": len(g), "requests sim": len(s),
                     "p50 real": pr.quantile(g.latency_real_ms, 0.5), "p50 sim": pr.quantile(s, 0.5),
                     "p50 error %": 100 * (pr.quantile(s, 0.5) / pr.quantile(g.latency_real_ms, 0.5) - 1),
                     "p99 real": pr.quantile(g.latency_real_ms, 0.99), "p99 sim": pr.quantile(s, 0.99),
                     "p99 error %": 100 * (pr.quantile(s, 0.99) / pr.quantile(g.latency_real_ms, 0.99) - 1)})
    print("%s: %d requests, %d failed or refused real, %d refused simulated, tier and zygote agree for %.1f%%; queue median %.0f ms real\n  %s"
          % (f, len(df), len(df) - len(real), len(df) - len(sim), 100 * agree.mean(), pr.quantile(real.queue_real_ms, 0.5), pr.provenance(df)))
pd.DataFrame(rows).round(2)

# %% [markdown]
# ## Latency CDFs per tier

# %%
for f in files:
    df = pr.read_csv(os.path.join(results, f))
    real, sim, _ = fidelity_table.sides(df)
    tiers = sorted(real.tier_real.unique())
    fig, axes = plt.subplots(1, len(tiers), figsize=(4.5 * len(tiers), 3.6), squeeze=False)
    for ax, t in zip(axes[0], tiers):
        for v, label in [(real[real.tier_real == t].latency_real_ms, "measured"), (sim[sim.tier_sim == t].latency_sim_ms, "simulated")]:
            v = np.sort(v.values)
            ax.plot(v, np.arange(1, len(v) + 1) / len(v), label="%s (%d)" % (label, len(v)))
        ax.set_xscale("log"); ax.set_xlabel("latency (ms, log)"); ax.set_ylabel("fraction of requests")
        ax.set_title("%s tier" % t, fontsize=9)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("%s (%s)" % (f, df.attrs["provenance"].get("made by", "")[:110]), fontsize=9)
    fig.tight_layout()

# %% [markdown]
# ## Per-phase error, request by request
#
# Quantiles here are pipsqueak's nearest-rank definition (`pr.quantile`), as in every summary and CSV.
# For every phase, the median and 90th percentile of |simulated - measured| over the requests that spent time in
# it (ms), and the median relative error: against the point simulation (every primitive at its median, the
# simulator's guess of each request) where the file has it, over the requests it started as the real run did;
# else against the first seed's draws.

# %%
rows = []
for f in files:
    df, sfx = fidelity_table.phase_sides(fidelity_table.sides(pr.read_csv(os.path.join(results, f)))[2])
    for ph in phases:
        r, s = df["%s_real_ms" % ph], df["%s_%s_ms" % (ph, sfx)]
        used = (r > 0) | (s > 0)
        if used.sum() == 0:
            continue
        err = (s[used] - r[used]).abs()
        rel = err / r[used].where(r[used] > 0)
        rows.append({"comparison": f, "phase": ph, "requests": int(used.sum()), "median |error| ms": pr.quantile(err, 0.5),
                     "p90 |error| ms": pr.quantile(err, 0.9), "median relative error %": 100 * pr.quantile(rel, 0.5)})
per_phase = pd.DataFrame(rows)
display(per_phase.round(3))
if len(per_phase):
    piv = per_phase.pivot(index="phase", columns="comparison", values="median relative error %").reindex(phases).dropna(how="all")
    ax = piv.plot.barh(figsize=(8, 4.5))
    ax.set_xlabel("median relative error, |simulated - measured| / measured (%)")
    ax.set_title("Per-phase error by comparison (requests that spent time in the phase)", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    plt.tight_layout()
