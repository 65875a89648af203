"""Choosing a project's annotator model from its own answers: held-out likelihood of answers.

Each candidate is a model of how annotators answer that learns class priors. The answers are split
into ``folds`` seeded folds; each fold is left out in turn, the candidate is fitted on the rest
(gold clamped), and every left-out answer (item i, worker w, label l) is scored by the fitted
model's predictive probability ``sum_t P(t | i's other answers) * P(l | t, w)``. An annotator
absent from the training part gets the mean confusion matrix of the others. The candidate with the
highest mean log predictive probability per answer wins, and is refitted on all answers.

The criterion rewards a model for predicting answers it has not seen, so an over-flexible model
(a full confusion matrix per annotator with few answers each) loses to a simpler one unless the
data support it, and a too-rigid one (one accuracy per annotator) loses when annotators confuse
classes systematically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._common import CategoricalData, ConsensusResult

PREDICTIVE_FLOOR = 1e-6


@dataclass(frozen=True)
class Candidate:
    name: str
    fit: Callable[..., ConsensusResult]
    settings: dict


@dataclass(frozen=True)
class Choice:
    chosen: str
    scores: dict[str, float]
    folds: int


def heldout_answer_loglik(
    *,
    candidate: Candidate,
    data: CategoricalData,
    gold_items: np.ndarray | None,
    gold_labels: np.ndarray | None,
    folds: int,
    seed: int,
) -> float:
    """Mean log predictive probability of each answer under ``candidate`` fitted without its fold."""
    rng = np.random.default_rng(seed)
    fold = rng.permutation(np.arange(data.n_answers) % folds)
    total = 0.0
    for f in range(folds):
        test = fold == f
        train = ~test
        if not test.any():
            continue
        result = candidate.fit(items=data.items[train], workers=data.workers[train], labels=data.labels[train],
                               n_items=data.n_items, n_workers=data.n_workers, n_classes=data.n_classes,
                               gold_items=gold_items, gold_labels=gold_labels, **candidate.settings)
        conf = _confusion_or_one_coin(result, data.n_classes)
        seen = np.bincount(data.workers[train], minlength=data.n_workers) > 0
        if seen.any():
            conf = np.where(seen[:, None, None], conf, conf[seen].mean(axis=0)[None])
        post = np.nan_to_num(result.posteriors, nan=1.0 / data.n_classes)
        it, wk, lb = data.items[test], data.workers[test], data.labels[test]
        p = (post[it] * conf[wk, :, lb]).sum(axis=1)
        total += float(np.log(np.maximum(p, PREDICTIVE_FLOOR)).sum())
    return total / max(data.n_answers, 1)


def choose_model(
    *,
    candidates: tuple[Candidate, ...],
    data: CategoricalData,
    gold_items: np.ndarray | None,
    gold_labels: np.ndarray | None,
    folds: int,
    seed: int,
) -> Choice:
    """Score every candidate by held-out answer likelihood; ties keep the earlier candidate."""
    scores = {c.name: heldout_answer_loglik(candidate=c, data=data, gold_items=gold_items,
                                            gold_labels=gold_labels, folds=folds, seed=seed)
              for c in candidates}
    best = max(candidates, key=lambda c: (scores[c.name], -candidates.index(c)))
    return Choice(chosen=best.name, scores=scores, folds=folds)


def _confusion_or_one_coin(result: ConsensusResult, k: int) -> np.ndarray:
    if result.worker_confusion is not None:
        return np.nan_to_num(np.asarray(result.worker_confusion, dtype=float), nan=1.0 / k)
    skill = np.clip(np.nan_to_num(result.worker_skill, nan=1.0 / k), 0.0, 1.0)
    cube = np.repeat(((1.0 - skill) / max(k - 1, 1))[:, None, None], k, axis=1).repeat(k, axis=2)
    cube[:, np.arange(k), np.arange(k)] = skill[:, None]
    return cube
