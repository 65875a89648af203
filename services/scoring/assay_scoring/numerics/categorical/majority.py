"""Majority vote and skill-weighted vote."""

from __future__ import annotations

import numpy as np

from ..errors import AggregationInputError
from ._common import (
    ConsensusResult,
    accuracy_vs_posteriors,
    check_answers,
    finish,
    gold_matrix,
    vote_posteriors,
)


def majority_vote(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int | None = None,
    n_workers: int | None = None,
    n_classes: int | None = None,
    gold_items: np.ndarray | None = None,
    gold_labels: np.ndarray | None = None,
) -> ConsensusResult:
    """Plain majority vote.

    Ties go to the lowest label index (labels are indexed in sorted order of their
    names by :func:`encode_answers`, so the rule is deterministic).
    Confidence is the winning vote share. Worker skill is accuracy against the vote
    (and against gold where clamped).
    """
    data = check_answers(items=items, workers=workers, labels=labels, n_items=n_items,
                         n_workers=n_workers, n_classes=n_classes)
    gold = gold_matrix(data=data, gold_items=gold_items, gold_labels=gold_labels)
    post = vote_posteriors(data)
    if gold is not None:
        post[gold[0]] = gold[1]
    skill = accuracy_vs_posteriors(data, _hard(post))
    return finish(method="majority_vote", data=data, posteriors=post, worker_skill=skill, gold=gold)


def weighted_vote(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    worker_skill: np.ndarray | None = None,
    weighting: str = "log_odds",
    n_items: int | None = None,
    n_workers: int | None = None,
    n_classes: int | None = None,
    gold_items: np.ndarray | None = None,
    gold_labels: np.ndarray | None = None,
) -> ConsensusResult:
    """Vote where each answer counts by its worker's skill.

    ``worker_skill`` is each worker's accuracy in [0, 1]; when omitted it is estimated
    as Laplace-smoothed accuracy (hits + 1) / (answers + 2) against the majority
    vote (against gold on clamped items). With
    ``weighting="accuracy"`` the weight is the accuracy itself; with ``"log_odds"`` it
    is ``log(s (K-1) / (1-s))`` clipped to >= 0, the Bayes-optimal one-coin weight.
    Posteriors are the normalised weighted vote shares (``"accuracy"``) or the softmax
    of the summed log-odds (``"log_odds"``). Ties go to the lowest label index.
    """
    data = check_answers(items=items, workers=workers, labels=labels, n_items=n_items,
                         n_workers=n_workers, n_classes=n_classes)
    gold = gold_matrix(data=data, gold_items=gold_items, gold_labels=gold_labels)
    if worker_skill is None:
        mv = vote_posteriors(data)
        if gold is not None:
            mv[gold[0]] = gold[1]
        mv_hits = _hard(mv)[data.items, data.labels]
        n = np.bincount(data.workers, minlength=data.n_workers)
        worker_skill = (np.bincount(data.workers, weights=mv_hits, minlength=data.n_workers) + 1.0) / (n + 2.0)
    skill = np.asarray(worker_skill, dtype=float)
    if skill.shape != (data.n_workers,):
        raise AggregationInputError(f"worker_skill must have shape ({data.n_workers},)")
    k = data.n_classes
    if weighting == "accuracy":
        w = np.clip(skill, 0.0, 1.0)
        post = vote_posteriors(data, w[data.workers])
    elif weighting == "log_odds":
        s = np.clip(skill, 1e-3, 1 - 1e-3)
        w = np.maximum(np.log(s * max(k - 1, 1) / (1 - s)), 0.0)
        score = data.item_label_counts(w[data.workers])
        score -= score.max(axis=1, keepdims=True)
        post = np.exp(score)
        post /= post.sum(axis=1, keepdims=True)
    else:
        raise AggregationInputError(f"unknown weighting {weighting!r}; use 'accuracy' or 'log_odds'")
    return finish(method=f"weighted_vote[{weighting}]", data=data, posteriors=post,
                  worker_skill=skill, gold=gold)


def _hard(post: np.ndarray) -> np.ndarray:
    """One-hot of the lowest-index row maximum."""
    out = np.zeros_like(post)
    top = post.max(axis=1, keepdims=True)
    out[np.arange(post.shape[0]), np.argmax(post >= top - 1e-12, axis=1)] = 1.0
    return out
