"""pipsqueak's results as pandas DataFrames: the CSVs in results/ (with the provenance in their `#` header) and
the SQLite results store (schema: results/STORE.md). Imported by every notebook in notebooks/.

    import pipsqueak_results as pr
    df = pr.read_csv("../results/speedup.csv")      # df.attrs["provenance"]: the header lines, as a dict
    st = pr.Store("../results/pipsqueak.sqlite")
    st.runs()                                         # one row per run: kind, key, config (parsed), seed, machine, ...
    st.table(kind="sweep")                            # runs with their per-tier summaries and metrics, one row each
"""
import json
import os
import sqlite3

import numpy as np
import pandas as pd


def quantile(values, p):
    """pipsqueak's one quantile definition, as in every summary and CSV: the nearest rank, the ceil(p*n)-th
    smallest value (NaN for no values). pandas' own .quantile() interpolates; use this instead."""
    v = np.sort(np.asarray(values, dtype=float))
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan")
    k = min(len(v), max(1, int(np.ceil(min(max(p, 0.0), 1.0) * len(v)))))
    return float(v[k - 1])


def read_csv(path):
    """A pipsqueak CSV as a DataFrame; its `# key: value` header lines go to df.attrs["provenance"]."""
    prov, lines = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                k, _, v = line[1:].strip().partition(":")
                if v:
                    prov[k.strip()] = prov[k.strip()] + "; " + v.strip() if k.strip() in prov else v.strip()
                else:
                    prov.setdefault("notes", []).append(line[1:].strip())
            else:
                lines.append(line)
    from io import StringIO
    df = pd.read_csv(StringIO("".join(lines)))
    df.attrs["provenance"] = prov
    df.attrs["path"] = path
    return df


def provenance(df):
    """A one-line caption: the command, seed and machine that made a CSV."""
    p = df.attrs.get("provenance", {})
    parts = [p.get("made by", "made by: unknown")]
    for k in ("seed", "machine", "code", "date"):
        if k in p:
            parts.append("%s %s" % (k, p[k]))
    return "; ".join(parts)


class Store:
    """The results store (SQLite, read-only here). Tables: runs, summaries, metrics, sweeps (results/STORE.md)."""

    def __init__(self, path):
        if not os.path.exists(path):
            raise FileNotFoundError("no results store at %s (pipsqueak reproduce, sweep and results merge write one)" % path)
        self.path = path
        self.db = sqlite3.connect("file:%s?mode=ro" % os.path.abspath(path), uri=True)

    def sql(self, query, params=()):
        """Any SQL query, as a DataFrame."""
        return pd.read_sql_query(query, self.db, params=params)

    def version(self):
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def runs(self, kind=None):
        """One row per run, with its config parsed into columns (config.handlerCache.memoryMB, ...)."""
        q = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        df = self.sql(q, (kind,) if kind else ())
        if len(df):
            cfg = pd.json_normalize(df["config"].map(json.loads)).add_prefix("config.")
            df = pd.concat([df.reset_index(drop=True), cfg], axis=1)
        return df

    def summaries(self):
        return self.sql("SELECT * FROM summaries")

    def metrics(self):
        return self.sql("SELECT * FROM metrics")

    def sweeps(self):
        """The sweeps the store holds: name, trace, cost fingerprint, grid (parsed) and command."""
        if not self.sql("SELECT name FROM sqlite_master WHERE type='table' AND name='sweeps'").shape[0]:
            return pd.DataFrame(columns=["name", "trace", "costs", "grid", "command"])
        df = self.sql("SELECT * FROM sweeps ORDER BY name")
        df["grid"] = df["grid"].map(json.loads)
        return df

    def table(self, kind=None):
        """Runs with every tier's summary (columns like p50_ms.all, share.handler) and every metric, one row per run."""
        runs = self.runs(kind)
        if not len(runs):
            return runs
        s = self.summaries()
        s = s[s.run_id.isin(runs.id)]
        wide = s.pivot(index="run_id", columns="tier", values=["requests", "share", "mean_ms", "p50_ms", "p90_ms", "p99_ms"])
        wide.columns = ["%s.%s" % (a, b) for a, b in wide.columns]
        m = self.metrics()
        m = m[m.run_id.isin(runs.id)].pivot(index="run_id", columns="name", values="value")
        return runs.merge(wide, left_on="id", right_index=True, how="left").merge(m, left_on="id", right_index=True, how="left")
