"""Stress-set table: every method on every scenario of ``stress.py`` (accuracy against the truth)."""

from __future__ import annotations

import numpy as np
from stress import SCENARIOS, stress_set

from assay_scoring.numerics.categorical import (
    categorical_consensus,
    dawid_skene,
    glad,
    mace,
    majority_vote,
    one_coin_dawid_skene,
)

METHODS = {
    "MV": majority_vote,
    "DS": dawid_skene,
    "OneCoinDS": one_coin_dawid_skene,
    "GLAD": glad,
    "MACE": mace,
    "default": categorical_consensus,
}
TOLERANCE = 0.002


def _crowdkit_columns(with_peers: bool):
    try:
        import crowdkit.aggregation as ck
        import pandas as pd
    except ImportError:
        return None, []
    models = [("ck.MV", ck.MajorityVote), ("ck.DS", lambda: ck.DawidSkene(n_iter=100))]
    if with_peers:
        models += [("ck.GLAD", ck.GLAD), ("ck.MACE", ck.MACE)]
    return pd, models


def stress_table(*, seeds: tuple[int, ...] = (0,), with_peers: bool = False) -> dict:
    """Print the table; returns {scenario: {method: accuracy}} averaged over ``seeds``."""
    pd, peers = _crowdkit_columns(with_peers)
    cols = list(METHODS) + [c for c, _ in peers]
    print(f"\n== Stress sets (stress.py; seeds {', '.join(map(str, seeds))}): accuracy against the truth ==")
    print(f"{'scenario':28s}" + "".join(f"{c:>10s}" for c in cols) + "  default model            vs DS")
    table: dict = {}
    for name in SCENARIOS:
        acc = {c: [] for c in cols}
        chosen = []
        for seed in seeds:
            s = stress_set(name, seed=seed)
            kw = dict(items=s.items, workers=s.workers, labels=s.labels, n_classes=s.n_classes)
            for m, fn in METHODS.items():
                r = fn(**kw)
                acc[m].append(float((r.labels == s.truth).mean()))
                if m == "default":
                    chosen.append(r.extra["model"])
            if peers:
                df = pd.DataFrame({"task": s.items, "worker": s.workers, "label": s.labels})
                for c, make in peers:
                    lab = make().fit_predict(df).reindex(np.arange(s.truth.size))
                    acc[c].append(float((lab.to_numpy() == s.truth).mean()))
        row = {c: float(np.mean(v)) for c, v in acc.items()}
        table[name] = row
        gap = row["default"] - row["DS"]
        verdict = "ok" if gap >= -TOLERANCE - 1e-9 else "MISS"
        print(f"{name:28s}" + "".join(f"{row[c]:10.3f}" for c in cols)
              + f"  {'/'.join(sorted(set(chosen))):24s} {gap:+.3f} {verdict}", flush=True)
    means = {c: float(np.mean([table[n][c] for n in table])) for c in cols}
    print(f"{'MEAN':28s}" + "".join(f"{means[c]:10.4f}" for c in cols))
    single = {c: v for c, v in means.items() if c != "default"}
    best = max(single, key=single.get)
    misses = [n for n in table if table[n]["default"] < table[n]["DS"] - TOLERANCE - 1e-9]
    print(f"default {means['default']:.4f} vs best single method {best} {single[best]:.4f}; "
          f"sets where default < DS - {TOLERANCE}: {len(misses)} {misses if misses else ''}")
    return table

