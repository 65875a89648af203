"""Benchmark: wrong final labels found by reviewing the items a model disagrees with, against random review.

Run: uv run python services/review/bench/label_errors.py [--data ../shared/data/crowd] [--seeds 5]

For each crowd dataset (read in place): the current label of a task is the majority vote of its answers (ties to
the smallest label), the truth its gold label, so a wrong final label is one that differs from gold. A model is
simulated at each stated accuracy (70%, 85%, 95%): its top class is the gold label with that probability, else
another class drawn uniformly; its confidence in the top class is drawn uniformly in [0.4, 1], the rest spread over
the other classes (Dirichlet). The product's scorer (`assay_review.numerics.label_errors.class_scores`: cleanlab's
self-confidence label-quality scores and find_label_issues) ranks the tasks; reviewing the lowest-scored 5%, 10%,
20% finds some of the wrong labels. Random review with the same budget finds, in expectation, the budget's share
of them. Printed: per dataset and accuracy, the wrong labels found at each budget, their share of all wrong
labels, and the lift over random (found / expected at random); then the mean lift per accuracy and budget over
datasets and seeds, and pooled (all found over all expected). Goal: lift ≥ 3 at 10% budget. The lift cannot exceed 1 / (the dataset's error rate), nor
budget-limited recall (a 10% budget finds at most 10% of the tasks).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assay_review.numerics.label_errors import class_scores  # noqa: E402

ACCURACIES = (0.70, 0.85, 0.95)
BUDGETS = (0.05, 0.10, 0.20)


def dataset(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """(majority-vote labels, gold labels, classes) of the tasks that have gold."""
    votes: dict[str, Counter] = defaultdict(Counter)
    with open(folder / "answers.csv", newline="") as f:
        for row in csv.DictReader(f):
            votes[row["task"]][row["label"]] += 1
    gold: dict[str, str] = {}
    with open(folder / "gold.csv", newline="") as f:
        for row in csv.DictReader(f):
            gold[row["task"]] = row["label"]
    tasks = sorted(t for t in gold if t in votes)
    current = []
    for t in tasks:
        top = max(votes[t].values())
        current.append(min(label for label, n in votes[t].items() if n == top))
    classes = sorted({*gold.values(), *current})
    return current, [gold[t] for t in tasks], classes


def simulated_predictions(gold: list[str], classes: list[str], *, accuracy: float, rng) -> list[dict[str, float]]:
    k = len(classes)
    out = []
    for truth in gold:
        top = truth if rng.random() < accuracy else rng.choice([c for c in classes if c != truth])
        confidence = rng.uniform(0.4, 1.0)
        rest = rng.dirichlet(np.ones(k - 1)) * (1 - confidence)
        others = [c for c in classes if c != top]
        out.append({top: confidence, **{c: float(p) for c, p in zip(others, rest)}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[4] / "shared" / "data" / "crowd"))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    root = Path(args.data)
    lifts: dict[tuple[float, float], list[float]] = defaultdict(list)
    pooled: dict[tuple[float, float], list[float]] = defaultdict(lambda: [0.0, 0.0])  # found, expected at random
    recall_flagged: dict[float, list[tuple[float, float]]] = defaultdict(list)
    print(f"{'dataset':18} {'tasks':>6} {'wrong':>6} {'acc':>5} " + " ".join(
        f"{f'top {b:.0%}: found share lift':>28}" for b in BUDGETS) + "  find_label_issues P/R   s")
    for folder in sorted(p for p in root.iterdir() if (p / "gold.csv").exists()):
        current, gold, classes = dataset(folder)
        wrong = np.array([c != g for c, g in zip(current, gold)])
        n, errors = len(current), int(wrong.sum())
        if errors == 0:
            print(f"{folder.name:18} {n:6} {errors:6}  no wrong labels: skipped")
            continue
        for accuracy in ACCURACIES:
            cells = {b: [] for b in BUDGETS}
            pr, took = [], 0.0
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                predictions = simulated_predictions(gold, classes, accuracy=accuracy, rng=rng)
                started = time.perf_counter()
                scored = class_scores(labels=current, probabilities=predictions, classes=classes)
                took += time.perf_counter() - started
                order = np.lexsort((rng.random(n), scored.scores))  # lowest score first, ties at random
                for b in BUDGETS:
                    k = max(1, int(round(b * n)))
                    found = int(wrong[order[:k]].sum())
                    lift = found / (errors * k / n)
                    cells[b].append((found, found / errors, lift))
                    lifts[(accuracy, b)].append(lift)
                    pooled[(accuracy, b)][0] += found
                    pooled[(accuracy, b)][1] += errors * k / n
                flagged = scored.issues
                hits = int((flagged & wrong).sum())
                pr.append((hits / max(1, int(flagged.sum())), hits / errors))
            recall_flagged[accuracy].extend(pr)
            row = " ".join(f"{np.mean([c[0] for c in cells[b]]):9.1f} {np.mean([c[1] for c in cells[b]]):8.1%} "
                           f"{np.mean([c[2] for c in cells[b]]):8.2f}x" for b in BUDGETS)
            p, r = np.mean([x[0] for x in pr]), np.mean([x[1] for x in pr])
            print(f"{folder.name:18} {n:6} {errors:6} {accuracy:5.0%} {row}   {p:5.1%} / {r:5.1%}  "
                  f"{took / args.seeds:.3f}")
    print("\nmean lift over random (datasets x seeds):")
    for accuracy in ACCURACIES:
        cells = "  ".join(f"top {b:.0%}: {np.mean(lifts[(accuracy, b)]):.2f}x" for b in BUDGETS)
        p = np.mean([x[0] for x in recall_flagged[accuracy]])
        r = np.mean([x[1] for x in recall_flagged[accuracy]])
        print(f"  model accuracy {accuracy:.0%}: {cells}   find_label_issues precision {p:.1%} recall {r:.1%}")
    print("pooled lift (all wrong labels found / all expected at random; a dataset with few errors weighs little):")
    for accuracy in ACCURACIES:
        cells = "  ".join(f"top {b:.0%}: {pooled[(accuracy, b)][0] / pooled[(accuracy, b)][1]:.2f}x" for b in BUDGETS)
        print(f"  model accuracy {accuracy:.0%}: {cells}")
    at10 = {a: pooled[(a, 0.10)][0] / pooled[(a, 0.10)][1] for a in ACCURACIES}
    print("goal (>= 3x random at 10%, pooled): " + ", ".join(f"{a:.0%} {'met' if v >= 3 else 'NOT met'} ({v:.2f}x)"
                                                      for a, v in at10.items()))


if __name__ == "__main__":
    main()
