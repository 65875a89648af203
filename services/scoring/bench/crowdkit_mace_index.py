"""Why Crowd-Kit 1.4.2's MACE scores .847 on acr_zencrowd_all and ours .79.

    uv run --group bench python services/scoring/bench/crowdkit_mace_index.py

Crowd-Kit's MACE (VB, Beta(.5,.5) on spamming, Dirichlet(10) on strategies, random
start U(1, 2.5) with the same seed on every restart, 50 iterations) factorises workers
and labels in first-appearance order, but its strategy counts come from a pandas
groupby, i.e. in *sorted* worker and label name order, and are then used as if they
were in first-appearance order: every worker is scored with another worker's strategy.
This script re-implements that model in vectorised numpy twice, with the index
mismatch and without it. With it, the per-set figures equal the data README's
Crowd-Kit MACE column; without it they equal ``mace(init="random")``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.special import digamma

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets import CROWD_SETS, load_crowd  # noqa: E402


def _first_appearance(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, first, inv = np.unique(names, return_index=True, return_inverse=True)
    order = np.argsort(first)                      # first-appearance code -> sorted code
    code = np.empty_like(order)
    code[order] = np.arange(order.size)            # sorted code -> first-appearance code
    return code[inv], order                        # codes, sorted rank of each first-appearance code


def _vnorm(x: np.ndarray) -> np.ndarray:
    return np.exp(digamma(x) - digamma(x.sum(axis=1, keepdims=True)))


def crowdkit_like_mace(tasks, workers, labels, *, mismatch: bool, n_iter: int = 50):
    t, _ = _first_appearance(tasks)
    w, w_rank = _first_appearance(workers)
    lab, l_rank = _first_appearance(labels)
    n_t, n_w, k = t.max() + 1, w.max() + 1, lab.max() + 1
    # scipy.stats.uniform(1, 1.5).rvs(random_state=0) draws 1 + 1.5 * U from RandomState(0)
    spam = 1 + 1.5 * np.random.RandomState(0).random_sample((n_w, 2))
    theta = 1 + 1.5 * np.random.RandomState(0).random_sample((n_w, k))
    spam /= spam.sum(axis=1, keepdims=True)
    theta /= theta.sum(axis=1, keepdims=True)
    rows = w_rank[w] if mismatch else w
    cols = l_rank[lab] if mismatch else lab
    for it in range(n_iter + 1):
        st = spam[w, 0] * theta[w, lab]
        kn = spam[w, 1]
        base = np.bincount(t, weights=np.log(st), minlength=n_t)
        bonus = np.bincount(t * k + lab, weights=np.log(st + kn) - np.log(st), minlength=n_t * k)
        z = base[:, None] + bonus.reshape(n_t, k)
        post = np.exp(z - z.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        if it == n_iter:
            return post, lab, l_rank
        know = post[t, lab] * kn / (st + kn)
        counts_sk = np.stack([np.bincount(w, 1 - know, n_w), np.bincount(w, know, n_w)], axis=1)
        counts_t = np.bincount(rows * k + cols, 1 - know, n_w * k).reshape(n_w, k)
        spam, theta = _vnorm(counts_sk + 0.5), _vnorm(counts_t + 10.0)


def main() -> None:
    print(f"{'dataset':18s}{'with mismatch':>15s}{'aligned':>10s}")
    means = {True: [], False: []}
    for name in CROWD_SETS:
        cs = load_crowd(name)
        tasks, workers, labels = cs.raw
        _, t_first = np.unique(tasks, return_index=True)
        line = f"{name:18s}"
        for mismatch in (True, False):
            post, _, _ = crowdkit_like_mace(tasks, workers, labels, mismatch=mismatch)
            t_names = np.unique(tasks)[np.argsort(t_first)]
            l_names = np.unique(labels)[np.argsort(np.unique(labels, return_index=True)[1])]
            pred = dict(zip(t_names, l_names[post.argmax(axis=1)]))
            gold_t = cs.enc.item_names[cs.gold_items]
            gold_l = cs.enc.label_names[cs.gold_labels]
            acc = float(np.mean([pred.get(a) == b for a, b in zip(gold_t, gold_l)]))
            means[mismatch].append(acc)
            line += f"{acc:>15.3f}" if mismatch else f"{acc:>10.3f}"
        print(line, flush=True)
    print(f"{'MEAN':18s}{np.mean(means[True]):>15.4f}{np.mean(means[False]):>10.4f}")


if __name__ == "__main__":
    main()
