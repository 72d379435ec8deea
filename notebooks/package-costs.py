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
# # What packages cost: download, install and import, measured on this machine
#
# **Setup:** `pipsqueak measure` downloads, installs (pip, in a sandbox) and imports each of the most imported
# PyPI distributions, several times each, on this machine (`traces/packages.csv`; `results/startup-costs.csv`
# puts each beside the paper's averages). The paper (Oakes et al. 2017) reports averages of 1.6 s download,
# 2.3 s install and 107 ms import over its packages. The costs here are each distribution's own (`*_ms`) and
# with all its dependencies (`*_with_deps_ms`).

# %% tags=["parameters"]
results = "../results"

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import pipsqueak_results as pr

sc = pr.read_csv(os.path.join(results, "startup-costs.csv"))
print(pr.provenance(sc))
summary_rows = sc.package.str.contains(r"\(", regex=True)
pk, ref = sc[~summary_rows].copy(), sc[summary_rows].set_index("package")
print("%d packages measured" % len(pk))
ref

# %%
paper = ref.loc["average (paper)"]
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, col in zip(axes, ["download", "install", "import"]):
    v = pk["%s_ms" % col]
    bins = np.logspace(np.log10(max(v[v > 0].min(), 0.01)), np.log10(max(v.max(), paper["%s_ms" % col]) * 1.1), 30)
    ax.hist(v[v > 0], bins=bins, alpha=0.8, label="this machine (%d packages%s)" % (len(v), ", %d at 0" % (v == 0).sum() if (v == 0).any() else ""))
    ax.axvline(v.mean(), color="C1", ls="--", label="our mean %.0f ms" % v.mean())
    ax.axvline(paper["%s_ms" % col], color="C3", ls=":", label="paper's mean %.0f ms" % paper["%s_ms" % col])
    ax.set_xscale("log"); ax.set_xlabel("%s time, own (ms, log)" % col); ax.set_ylabel("packages")
    ax.legend(fontsize=7, loc="upper left")
fig.suptitle("Per-package costs measured here against the paper's averages (every measured package)", fontsize=10)
fig.tight_layout()

# %% [markdown]
# ## The most expensive packages, with their dependencies

# %%
pk["total_with_deps_ms"] = pk.download_with_deps_ms + pk.install_with_deps_ms + pk.import_with_deps_ms
pk.sort_values("total_with_deps_ms", ascending=False).head(20)[
    ["package", "version", "dependencies", "download_with_deps_ms", "install_with_deps_ms", "import_with_deps_ms", "total_with_deps_ms"]]
