"""Sequential exam against the fixed exam at equal error rates (seeded simulation; numerics only, no services).

For each setting: the fixed exam is the shortest (n, pass mark c) with P(pass | p0) ≤ alpha and
P(fail | p1) ≤ beta (exact binomial); the sequential exam is `numerics.sprt` as the service runs it,
truncated at the smallest max_count the API accepts. Simulated annotators answer right with probability p0,
p1 and the test's indifference accuracy (its longest case). Printed: mean and p95 answers needed, and the
observed share passed at p0 (alpha) and failed at p1 (beta), then both tests' exact error rates.

    uv run python services/metrics/bench/sprt.py [--annotators 20000] [--seed 7]
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import binom

from assay_metrics.numerics.sprt import CONTINUE, PASS, Plan, decide, required_max_count, truncated_errors

SETTINGS = [(0.7, 0.9, 0.05, 0.05), (0.8, 0.95, 0.05, 0.10), (0.6, 0.8, 0.01, 0.05)]


def fixed_exam(p0: float, p1: float, alpha: float, beta: float) -> tuple[int, int]:
    """The shortest fixed exam (n answers, pass at c or more right) meeting both error rates."""
    for n in range(1, 2_000):
        c = np.arange(0, n + 1)
        ok = (binom.sf(c - 1, n, p0) <= alpha) & (binom.cdf(c - 1, n, p1) <= beta)
        if ok.any():
            return n, int(c[ok][0])
    raise ValueError("no fixed exam under 2000 answers")


def sequential_run(plan: Plan, accuracy: float, annotators: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Answers needed and whether each simulated annotator passed."""
    right = rng.random((annotators, plan.max_count)) < accuracy
    needed, passed = np.zeros(annotators, dtype=int), np.zeros(annotators, dtype=bool)
    for i in range(annotators):
        total = 0
        for n in range(1, plan.max_count + 1):
            total += int(right[i, n - 1])
            outcome = decide(plan, count=n, total=total)
            if outcome != CONTINUE:
                needed[i], passed[i] = n, outcome == PASS
                break
    return needed, passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{args.annotators} simulated annotators per row, seed {args.seed}\n")
    print(f"{'p0':>5} {'p1':>5} {'alpha':>6} {'beta':>5} {'true acc':>8} | {'fixed n':>7} {'pass at':>7} "
          f"{'err':>6} | {'SPRT mean':>9} {'p95':>4} {'max':>4} {'err':>6} | {'saved':>6}")
    for p0, p1, alpha, beta in SETTINGS:
        n, c = fixed_exam(p0, p1, alpha, beta)
        plan = Plan(p0, p1, alpha, beta, required_max_count(p0=p0, p1=p1, alpha=alpha, beta=beta))
        for accuracy, label in ((p0, "p0"), (p1, "p1"), (plan.indifference, "indiff")):
            fixed_passed = rng.binomial(n, accuracy, size=args.annotators) >= c
            needed, passed = sequential_run(plan, accuracy, args.annotators, rng)
            # the error at p0 is a pass, at p1 a fail; at the indifference point either verdict is acceptable
            err = {"p0": (fixed_passed.mean(), passed.mean()), "p1": (1 - fixed_passed.mean(), 1 - passed.mean())}
            fe, se = (f"{x:6.3f}" for x in err[label]) if label in err else ("     -", "     -")
            print(f"{p0:5.2f} {p1:5.2f} {alpha:6.2f} {beta:5.2f} {label:>4} {accuracy:.2f} | {n:7d} {c:7d} {fe} | "
                  f"{needed.mean():9.2f} {int(np.percentile(needed, 95)):4d} {plan.max_count:4d} {se} | "
                  f"{1 - needed.mean() / n:6.1%}")
        a, b, _ = truncated_errors(plan, up_to=plan.max_count)[-1]
        print(f"{'':>28} exact: fixed alpha {binom.sf(c - 1, n, p0):.4f} beta {binom.cdf(c - 1, n, p1):.4f}; "
              f"SPRT alpha {a:.4f} beta {b:.4f}")
    print("\nerr: observed share passed at p0 (target ≤ alpha) or failed at p1 (target ≤ beta); "
          "saved: 1 − SPRT mean / fixed n")


if __name__ == "__main__":
    main()
