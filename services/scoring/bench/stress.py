"""Seeded stress sets for categorical consensus: data nobody tuned the default to.

Each scenario is a recipe of the generative story below with one or more knobs pushed to
an extreme; ``stress_set(name, seed=...)`` draws it. The same name and seed give the same
answers on every machine (numpy's PCG64 ``default_rng``). docs/scoring-numerics.md
("Stress sets") describes the story and lists the scenarios.

Story, per set:

1. Truth: ``n_items`` labels drawn from the class balance (``major`` share on class 0 and
   the rest spread evenly, or a Dirichlet(``dirichlet``) draw when ``major`` is None).
2. Workers: a pool of ``n_workers``. A share ``spammers`` answers uniformly at random; a
   share ``adversaries`` answers through a fixed permutation of the labels (class c is
   always reported as c+1 mod K with probability ``adversary_rate``, else correctly); a
   share ``biased`` answers class 0 with probability ``bias_rate`` whatever the truth and
   is otherwise a normal worker; the rest are honest: a base accuracy ~ Beta(``acc_a``,
   ``acc_b``), moved per true class by N(0, ``class_jitter``) on the logit scale, and
   errors spread over the other labels by a per-worker, per-class Dirichlet(1) row
   (confusions are asymmetric).
3. Activity: each item gets a number of distinct workers drawn uniformly from
   ``answers`` (lo, hi). Workers are picked with probability proportional to an activity
   weight: 1 for ``activity="even"``, a Zipf-like 1/rank^1.2 for ``"long_tail"`` (most
   workers answer only a few items).
4. Difficulty: a share ``hard`` of the items is hard: on them every honest worker's
   accuracy is multiplied by ``hard_factor``; half of the lost mass goes to the item's
   "confusable" label (true+1 mod K), half is spread evenly over the other labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Recipe:
    n_items: int = 2000
    n_classes: int = 2
    major: float | None = 0.5
    dirichlet: float = 2.0
    answers: tuple[int, int] = (5, 5)
    n_workers: int = 100
    activity: str = "even"
    acc_a: float = 4.0
    acc_b: float = 1.5
    class_jitter: float = 0.5
    spammers: float = 0.0
    adversaries: float = 0.0
    adversary_rate: float = 0.8
    biased: float = 0.0
    bias_rate: float = 0.5
    hard: float = 0.0
    hard_factor: float = 0.5


BASE = Recipe()
SCENARIOS: dict[str, Recipe] = {
    "balanced_2c_r5": BASE,
    "imbalanced_88_12_r3": replace(BASE, major=0.88, answers=(3, 3)),
    "imbalanced_95_5_r3": replace(BASE, major=0.95, answers=(3, 3)),
    "imbalanced_70_30_r5": replace(BASE, major=0.70),
    "imbalanced_90_10_r10": replace(BASE, major=0.90, answers=(10, 10), acc_a=2.5, acc_b=1.5),
    "classes_5_r3": replace(BASE, n_classes=5, major=None, answers=(3, 3)),
    "classes_10_r5": replace(BASE, n_classes=10, major=None, dirichlet=1.0),
    "classes_20_r7": replace(BASE, n_classes=20, major=None, dirichlet=1.0, answers=(7, 7), acc_a=2.0, acc_b=2.0),
    "spammers_30pct_r5": replace(BASE, n_classes=3, major=None, spammers=0.3),
    "spammers_50pct_r7": replace(BASE, n_classes=4, major=None, spammers=0.5, answers=(7, 7)),
    "adversaries_15pct_r5": replace(BASE, n_classes=3, major=None, adversaries=0.15),
    "biased_30pct_88_12_r5": replace(BASE, major=0.88, biased=0.3, bias_rate=0.6),
    "hard_items_40pct_r5": replace(BASE, n_classes=3, major=None, hard=0.4, hard_factor=0.45),
    "long_tail_workers_r3_6": replace(BASE, n_classes=4, major=None, answers=(3, 6), n_workers=600,
                                      activity="long_tail"),
    "mixed_imbalanced_hard_spam": replace(BASE, n_classes=3, major=0.80, answers=(3, 10), n_workers=300,
                                          activity="long_tail", spammers=0.15, adversaries=0.05, hard=0.3),
}


@dataclass(frozen=True)
class StressSet:
    name: str
    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    truth: np.ndarray
    n_classes: int


def class_balance(recipe: Recipe, rng: np.random.Generator) -> np.ndarray:
    k = recipe.n_classes
    if recipe.major is None:
        return rng.dirichlet(np.full(k, recipe.dirichlet))
    if k == 1:
        return np.ones(1)
    return np.concatenate([[recipe.major], np.full(k - 1, (1.0 - recipe.major) / (k - 1))])


def worker_confusions(recipe: Recipe, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n_workers, K, K) P(answer | truth) for easy items and a per-worker kind code
    (0 honest, 1 spammer, 2 adversary, 3 biased)."""
    k, n = recipe.n_classes, recipe.n_workers
    eye = np.eye(k, dtype=bool)
    base = rng.beta(recipe.acc_a, recipe.acc_b, size=n)
    logit = np.log(np.clip(base, 1e-6, 1 - 1e-6) / np.clip(1 - base, 1e-6, 1))
    acc = 1.0 / (1.0 + np.exp(-(logit[:, None] + rng.normal(0.0, recipe.class_jitter, size=(n, k)))))
    off = rng.dirichlet(np.ones(max(k - 1, 1)), size=(n, k))
    conf = np.zeros((n, k, k))
    for t in range(k):
        others = [c for c in range(k) if c != t]
        if others:
            conf[:, t, others] = off[:, t, : k - 1] * (1.0 - acc[:, t])[:, None]
        conf[:, t, t] = acc[:, t] if others else 1.0
    kind = rng.choice(4, size=n, p=_kind_shares(recipe))
    conf[kind == 1] = 1.0 / k
    perm = (np.arange(k) + 1) % k
    adv = np.where(eye, 1.0 - recipe.adversary_rate, 0.0)
    adv[np.arange(k), perm] += recipe.adversary_rate
    conf[kind == 2] = adv
    to_zero = np.zeros((k, k))
    to_zero[:, 0] = 1.0
    conf[kind == 3] = recipe.bias_rate * to_zero + (1.0 - recipe.bias_rate) * conf[kind == 3]
    return conf, kind


def _kind_shares(recipe: Recipe) -> np.ndarray:
    honest = 1.0 - recipe.spammers - recipe.adversaries - recipe.biased
    if honest < 0:
        raise ValueError("spammers + adversaries + biased must be at most 1")
    return np.array([honest, recipe.spammers, recipe.adversaries, recipe.biased])


def generate(recipe: Recipe, *, seed: int = 0, name: str = "custom") -> StressSet:
    """Draw one set from ``recipe`` (see the module docstring for the story)."""
    rng = np.random.default_rng(seed)
    k, n_items, n_w = recipe.n_classes, recipe.n_items, recipe.n_workers
    truth = rng.choice(k, size=n_items, p=class_balance(recipe, rng))
    conf, kind = worker_confusions(recipe, rng)
    lo, hi = recipe.answers
    if not 1 <= lo <= hi <= n_w:
        raise ValueError("answers must satisfy 1 <= lo <= hi <= n_workers")
    per_item = rng.integers(lo, hi + 1, size=n_items)
    if recipe.activity == "even":
        weight = np.ones(n_w)
    elif recipe.activity == "long_tail":
        weight = 1.0 / np.arange(1, n_w + 1) ** 1.2
        rng.shuffle(weight)
    else:
        raise ValueError(f"activity must be 'even' or 'long_tail', got {recipe.activity!r}")
    # distinct workers per item: Gumbel top-k over log weights
    keys = np.log(weight)[None, :] + rng.gumbel(size=(n_items, n_w))
    order = np.argsort(-keys, axis=1)
    take = np.arange(n_w)[None, :] < per_item[:, None]
    items = np.repeat(np.arange(n_items), per_item)
    workers = order[take]
    rows = conf[workers, truth[items]].copy()
    hard = rng.random(n_items) < recipe.hard
    on_hard = hard[items] & (kind[workers] == 0)
    if on_hard.any() and k > 1:
        t = truth[items][on_hard]
        r = rows[on_hard]
        idx = np.arange(t.size)
        lost = r[idx, t] * (1.0 - recipe.hard_factor)
        r[idx, t] -= lost
        r += np.where(np.arange(k)[None, :] == t[:, None], 0.0, (lost / 2 / (k - 1))[:, None])
        r[idx, (t + 1) % k] += lost / 2
        rows[on_hard] = r
    cum = np.cumsum(rows, axis=1)
    u = rng.random(items.size)[:, None] * cum[:, -1:]
    labels = np.minimum((u > cum).sum(axis=1), k - 1)
    return StressSet(name=name, items=items.astype(np.int64), workers=workers.astype(np.int64),
                     labels=labels.astype(np.int64), truth=truth.astype(np.int64), n_classes=k)


def stress_set(name: str, *, seed: int = 0) -> StressSet:
    """The named scenario (a key of ``SCENARIOS``) drawn with ``seed``."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown stress scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return generate(SCENARIOS[name], seed=seed, name=name)
