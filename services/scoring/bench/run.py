"""Scoring numerics benchmark.

    uv run --group bench python services/scoring/bench/run.py [--with-peers] [--stress-seeds 0,1,2]

Reads the shared data (env ASSAY_DATA_DIR, default ../shared/data beside the repo);
without it, runs on generated data only. Prints the shared-set table, the stress-set
table (stress.py, generated, seeded), speed, Krippendorff's alpha and the box figures.
Crowd-Kit's GLAD and MACE are run live only with --with-peers (they take minutes);
otherwise the data README's figures are quoted on the shared sets.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets import CROWD_SETS, data_dir, generate_dawid_skene, load_crowd  # noqa: E402
from stress_bench import TOLERANCE, stress_table  # noqa: E402

from assay_scoring.numerics.agreement import krippendorff_alpha  # noqa: E402
from assay_scoring.numerics.categorical import (  # noqa: E402
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
README_REF = {  # Crowd-Kit 1.4.2 figures from data/README.md: MV, DS, GLAD, MACE
    "acr_cf_amt": (.847, .840, .853, .867), "acr_ms": (.707, .769, .789, .794),
    "acr_sp_amt": (.944, .944, .946, .944), "acr_zencrowd_all": (.826, .803, .830, .847),
    "gal_adult": (.766, .766, .760, .763), "gal_barzan": (.696, .709, .694, .693),
    "snow_rte": (.875, .928, .925, .925), "snow_temp": (.939, .942, .935, .939),
    "snow_wsd": (.994, .994, .994, .994),
}


def _crowdkit():
    try:
        import crowdkit.aggregation as ck  # noqa: F401
        import pandas as pd  # noqa: F401
        return ck
    except ImportError:
        return None


def _timed(fn, **kw):
    t = time.perf_counter()
    r = fn(**kw)
    return r, time.perf_counter() - t


def crowd_table(with_peers: bool) -> None:
    ck = _crowdkit()
    import pandas as pd  # noqa: F401 - pandas ships with crowd-kit only
    head = f"{'dataset':18s}" + "".join(f"{m:>17s}" for m in METHODS)
    peer_cols = ["ck.MV", "ck.DS", "ck.GLAD", "ck.MACE"]
    print("\n== Categorical consensus: accuracy on gold items (fit seconds) ==")
    print(head + "".join(f"{c:>16s}" for c in peer_cols) + "  default model           vs DS")
    acc = {m: [] for m in METHODS}
    peer = {c: [] for c in peer_cols}
    clamped = {m: [] for m in ("DS", "MACE", "default")}
    unclamped = {m: [] for m in clamped}
    for name in CROWD_SETS:
        cs = load_crowd(name)
        e = cs.enc
        kw = dict(items=e.items, workers=e.workers, labels=e.labels, n_classes=e.n_classes)
        line = f"{name:18s}"
        chosen = ""
        for m, fn in METHODS.items():
            r, s = _timed(fn, **kw)
            a = float((r.labels[cs.gold_items] == cs.gold_labels).mean())
            acc[m].append(a)
            line += f"  {a:.3f} ({s:6.3f}s)"
            chosen = r.extra.get("model", chosen)
        # clamped gold: 10% of gold items, fixed seed, accuracy on the other 90%
        rng = np.random.default_rng(42)
        sel = rng.random(cs.gold_items.size) < 0.10
        for m in clamped:
            r = METHODS[m](**kw, gold_items=cs.gold_items[sel], gold_labels=cs.gold_labels[sel])
            r0 = METHODS[m](**kw)
            clamped[m].append(float((r.labels[cs.gold_items[~sel]] == cs.gold_labels[~sel]).mean()))
            unclamped[m].append(float((r0.labels[cs.gold_items[~sel]] == cs.gold_labels[~sel]).mean()))
        ref = README_REF[name]
        if ck is not None:
            df = pd.DataFrame({"task": cs.raw[0], "worker": cs.raw[1], "label": cs.raw[2]})
            gold = pd.Series(e.label_names[cs.gold_labels], index=e.item_names[cs.gold_items])
            models = [("ck.MV", ck.MajorityVote()), ("ck.DS", ck.DawidSkene(n_iter=100))]
            if with_peers:
                models += [("ck.GLAD", ck.GLAD()), ("ck.MACE", ck.MACE())]
            for c, model in models:
                t = time.perf_counter()
                lab = model.fit_predict(df)
                s = time.perf_counter() - t
                a = float((lab.reindex(gold.index) == gold).mean())
                peer[c].append(a)
                line += f"  {a:.3f} ({s:6.2f}s)"
            if not with_peers:
                for c, v in (("ck.GLAD", ref[2]), ("ck.MACE", ref[3])):
                    peer[c].append(v)
                    line += f"  {v:.3f} (README)"
        else:
            for c, v in zip(peer_cols, ref):
                peer[c].append(v)
                line += f"  {v:.3f} (README)"
        gap = acc["default"][-1] - acc["DS"][-1]
        print(line + f"  {chosen:24s}{gap:+.3f} {'ok' if gap >= -TOLERANCE - 1e-9 else 'MISS'}", flush=True)
    print(f"{'MEAN':18s}" + "".join(f"  {np.mean(acc[m]):.4f}{'':10s}" for m in METHODS)
          + "".join(f"  {np.mean(peer[c]):.4f}{'':9s}" for c in peer_cols))
    best = np.mean([max(v) for v in README_REF.values()])
    print(f"Crowd-Kit per-dataset best (README) averages {best:.4f}")
    single = {m: float(np.mean(v)) for m, v in acc.items() if m != "default"}
    top = max(single, key=single.get)
    misses = [n for n, a, b in zip(CROWD_SETS, acc["default"], acc["DS"]) if a < b - TOLERANCE - 1e-9]
    print(f"default {np.mean(acc['default']):.4f} vs best single method {top} {single[top]:.4f}; "
          f"sets where default < DS - {TOLERANCE}: {len(misses)} {misses if misses else ''}")
    print("\n== Gold clamped for a random 10% of gold items (seed 42); accuracy on the other 90% ==")
    for m in clamped:
        print(f"{m:8s} unsupervised {np.mean(unclamped[m]):.4f}  clamped {np.mean(clamped[m]):.4f}  "
              + " ".join(f"{a:.3f}/{b:.3f}" for a, b in zip(unclamped[m], clamped[m])))


def speed(with_peers: bool) -> None:
    ck = _crowdkit()
    print("\n== Speed: 1M answers generated from a Dawid-Skene model ==")
    print("model: 100k items x 10 answers, 2,000 workers, 4 classes; priors ~ Dirichlet(2); "
          "worker accuracy ~ Beta(4, 1.5), errors ~ Dirichlet(1) per true class")
    items, workers, labels, truth = generate_dawid_skene(n_items=100_000, n_workers=2_000, n_classes=4,
                                                         answers_per_item=10, seed=7)
    kw = dict(items=items, workers=workers, labels=labels, n_classes=4)
    tracemalloc.start()
    r, s = _timed(dawid_skene, **kw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"assay DS   {s:7.2f}s  peak traced memory {peak / 2**20:7.1f} MiB  iterations {r.n_iter}  "
          f"accuracy {(r.labels == truth).mean():.4f}")
    for name, fn in (("MV", majority_vote), ("default", categorical_consensus), ("GLAD", glad)):
        r2, s2 = _timed(fn, **kw)
        print(f"assay {name:8s}{s2:7.2f}s  accuracy {(r2.labels == truth).mean():.4f}")
    if ck is not None:
        import pandas as pd
        df = pd.DataFrame({"task": items, "worker": workers, "label": labels})
        t = time.perf_counter()
        lab = ck.DawidSkene(n_iter=100).fit_predict(df)
        s_ck = time.perf_counter() - t
        print(f"crowd-kit DS {s_ck:7.2f}s  accuracy {(lab.sort_index().to_numpy() == truth).mean():.4f}  "
              f"speed-up x{s_ck / s:.1f}")
    if data_dir().joinpath("crowd", "gal_adult").exists():
        cs = load_crowd("gal_adult")
        e = cs.enc
        kw = dict(items=e.items, workers=e.workers, labels=e.labels, n_classes=e.n_classes)
        for name, fn, ref in (("GLAD", glad, 128.0), ("MACE", mace, 48.0), ("default", categorical_consensus, 48.0)):
            _, s = _timed(fn, **kw)
            print(f"gal_adult assay {name:8s}{s:7.2f}s  vs Crowd-Kit {'GLAD' if name == 'GLAD' else 'MACE'} "
                  f"{ref:.0f}s (README) x{ref / s:.0f}")


def kripp() -> None:
    try:
        import krippendorff
    except ImportError:
        print("\n(krippendorff not installed: skipping the alpha comparison)")
        return
    print("\n== Krippendorff's alpha vs the krippendorff package ==")
    worst = 0.0
    ours_t = theirs_t = 0.0
    for name in CROWD_SETS:
        e = load_crowd(name).enc
        key = e.items * e.n_workers + e.workers
        _, last = np.unique(key[::-1], return_index=True)
        keep = e.items.size - 1 - last
        mat = np.full((e.n_workers, e.n_items), np.nan)
        mat[e.workers[keep], e.items[keep]] = e.labels[keep]
        row = f"{name:18s}"
        for lvl in ("nominal", "ordinal", "interval"):
            t = time.perf_counter()
            a = krippendorff_alpha(items=e.items, workers=e.workers, labels=e.labels, level=lvl, n_classes=e.n_classes)
            ours_t += time.perf_counter() - t
            t = time.perf_counter()
            b = krippendorff.alpha(reliability_data=mat, level_of_measurement=lvl, value_domain=np.arange(e.n_classes))
            theirs_t += time.perf_counter() - t
            worst = max(worst, abs(a - b))
            row += f"  {lvl} {a:.6f}"
        print(row)
    print(f"max |diff| {worst:.2e}; total time assay {ours_t:.3f}s vs krippendorff {theirs_t:.3f}s")


def boxes_bench() -> None:
    folder = data_dir() / "bbox" / "pedestrians"
    if not folder.exists():
        print(f"\n(no {folder}: skipping the box benchmark)")
        return
    import boxes
    r = boxes.run(folder)
    print("\n== Pedestrian boxes (IoU 0.5 vs expert boxes) ==")
    print(f"images with expert boxes {r['images']}, worker answers {r['answers']}")
    print(f"single answers: F1 (micro) {r['answer_f1_micro']:.3f}, mean per answer {r['answer_f1_mean']:.3f}, "
          f"median worker {r['worker_f1_median']:.3f}")
    print(f"consensus (no expert boxes): F1 {r['consensus_f1']:.3f}, mean IoU {r['consensus_mean_iou']:.3f}, "
          f"{r['consensus_seconds']:.1f}s for all images")
    for link, (f1, miou, secs) in r["variants"].items():
        if link is not None:
            print(f"consensus with cluster_iou={link}: F1 {f1:.3f}, mean IoU {miou:.3f}, {secs:.1f}s")


def generated_only() -> None:
    print("\n== Generated data (Dawid-Skene model, 20k items x 5 answers, 200 workers, 3 classes) ==")
    items, workers, labels, truth = generate_dawid_skene(n_items=20_000, n_workers=200, n_classes=3,
                                                         answers_per_item=5, seed=1)
    for m, fn in METHODS.items():
        r, s = _timed(fn, items=items, workers=workers, labels=labels, n_classes=3)
        print(f"{m:10s} accuracy {(r.labels == truth).mean():.4f}  {s:.3f}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--with-peers", action="store_true", help="also run Crowd-Kit GLAD and MACE live (slow)")
    ap.add_argument("--stress-seeds", default="0", help="comma-separated seeds of the stress sets (default 0)")
    args = ap.parse_args()
    seeds = tuple(int(x) for x in args.stress_seeds.split(","))
    root = data_dir()
    t0 = time.perf_counter()
    if not (root / "crowd").exists():
        print(f"Shared data not found at {root} (set ASSAY_DATA_DIR); running on generated data only.")
        stress_table(seeds=seeds, with_peers=args.with_peers)
        generated_only()
        speed(False)
        return 0
    crowd_table(args.with_peers)
    stress_table(seeds=seeds, with_peers=args.with_peers)
    speed(args.with_peers)
    kripp()
    boxes_bench()
    print(f"\ntotal {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
