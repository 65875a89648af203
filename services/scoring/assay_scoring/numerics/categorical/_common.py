"""Shared pieces of the categorical aggregators: input checks, sparse designs, results."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import AggregationInputError

EPS = 1e-10


@dataclass(frozen=True)
class CategoricalData:
    """Validated answers: parallel int arrays plus the sizes of each index space."""

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    n_items: int
    n_workers: int
    n_classes: int

    @property
    def n_answers(self) -> int:
        return int(self.items.shape[0])

    def item_label_counts(self, weights: np.ndarray | None = None) -> np.ndarray:
        """(n_items, n_classes) matrix of (weighted) votes."""
        flat = self.items * self.n_classes + self.labels
        out = np.bincount(flat, weights=weights, minlength=self.n_items * self.n_classes)
        return out.reshape(self.n_items, self.n_classes).astype(float)

    def answers_per_item(self) -> np.ndarray:
        return np.bincount(self.items, minlength=self.n_items)

    def item_design(self) -> sp.csr_matrix:
        """Sparse (n_items, n_workers*n_classes) matrix with one 1 per answer."""
        cols = self.workers * self.n_classes + self.labels
        return sp.csr_matrix(
            (np.ones(self.n_answers), (self.items, cols)),
            shape=(self.n_items, self.n_workers * self.n_classes),
        )


@dataclass
class ConsensusResult:
    """Outcome of a categorical aggregation.

    ``labels[i]`` is the consensus label index of item ``i`` (-1 when the item has no
    answers and no gold), ``confidence[i]`` the posterior probability of that label,
    ``posteriors`` the full (n_items, n_classes) matrix, ``agreement[i]`` the share of
    the item's answers equal to the consensus label (NaN without answers).
    ``worker_confusion[w, t, o]`` is P(worker w answers o | truth t) when the model has
    one; ``worker_skill[w]`` is the model's scalar skill (expected accuracy for
    confusion-matrix models).
    """

    method: str
    labels: np.ndarray
    confidence: np.ndarray
    posteriors: np.ndarray
    agreement: np.ndarray
    worker_skill: np.ndarray
    worker_confusion: np.ndarray | None = None
    class_priors: np.ndarray | None = None
    n_iter: int = 0
    extra: dict = field(default_factory=dict)


def check_answers(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int | None = None,
    n_workers: int | None = None,
    n_classes: int | None = None,
) -> CategoricalData:
    """Validate parallel answer arrays and infer index-space sizes when not given."""
    items = np.asarray(items)
    workers = np.asarray(workers)
    labels = np.asarray(labels)
    if not (items.ndim == workers.ndim == labels.ndim == 1):
        raise AggregationInputError("items, workers and labels must be 1-d arrays")
    if not (items.shape == workers.shape == labels.shape):
        raise AggregationInputError(
            f"items, workers and labels must have equal length, got "
            f"{items.shape[0]}, {workers.shape[0]}, {labels.shape[0]}"
        )
    for name, arr in (("items", items), ("workers", workers), ("labels", labels)):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise AggregationInputError(f"{name} must be integer indices, got {arr.dtype}")
        if arr.size and arr.min() < 0:
            raise AggregationInputError(f"{name} contains a negative index")
    items = items.astype(np.int64, copy=False)
    workers = workers.astype(np.int64, copy=False)
    labels = labels.astype(np.int64, copy=False)

    def size(arr: np.ndarray, given: int | None, name: str) -> int:
        need = int(arr.max()) + 1 if arr.size else 0
        if given is None:
            return need
        if need > given:
            raise AggregationInputError(f"{name} index {need - 1} is out of range (size {given})")
        return int(given)

    k = size(labels, n_classes, "labels")
    if k < 1:
        raise AggregationInputError("n_classes must be at least 1 (no answers and no n_classes given)")
    return CategoricalData(
        items=items,
        workers=workers,
        labels=labels,
        n_items=size(items, n_items, "items"),
        n_workers=size(workers, n_workers, "workers"),
        n_classes=k,
    )


def gold_matrix(
    *, data: CategoricalData, gold_items: np.ndarray | None, gold_labels: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Validate clamped gold and return (item indices, one-hot rows) or None."""
    if gold_items is None and gold_labels is None:
        return None
    if gold_items is None or gold_labels is None:
        raise AggregationInputError("gold_items and gold_labels must be given together")
    gi = np.asarray(gold_items, dtype=np.int64)
    gl = np.asarray(gold_labels, dtype=np.int64)
    if gi.shape != gl.shape or gi.ndim != 1:
        raise AggregationInputError("gold_items and gold_labels must be 1-d and equally long")
    if gi.size and (gi.min() < 0 or gi.max() >= data.n_items):
        raise AggregationInputError("gold_items contains an item index out of range")
    if gl.size and (gl.min() < 0 or gl.max() >= data.n_classes):
        raise AggregationInputError("gold_labels contains an unknown label index")
    onehot = np.zeros((gi.size, data.n_classes))
    onehot[np.arange(gi.size), gl] = 1.0
    return gi, onehot


def clamp(posteriors: np.ndarray, gold: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Overwrite the posterior rows of gold items with their one-hot gold label."""
    if gold is not None and gold[0].size:
        posteriors[gold[0]] = gold[1]
    return posteriors


def vote_posteriors(data: CategoricalData, weights: np.ndarray | None = None) -> np.ndarray:
    """Normalised (weighted) vote shares per item; items without answers are uniform."""
    counts = data.item_label_counts(weights)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.full_like(counts, 1.0 / data.n_classes), where=totals > 0)


def argmax_lowest(posteriors: np.ndarray, *, tol: float = 0.0) -> np.ndarray:
    """Row argmax; among values within ``tol`` of the maximum the lowest index wins."""
    if tol <= 0.0:
        return np.argmax(posteriors, axis=1)
    top = posteriors.max(axis=1, keepdims=True)
    return np.argmax(posteriors >= top - tol, axis=1)


def finish(
    *,
    method: str,
    data: CategoricalData,
    posteriors: np.ndarray,
    worker_skill: np.ndarray,
    gold: tuple[np.ndarray, np.ndarray] | None = None,
    worker_confusion: np.ndarray | None = None,
    class_priors: np.ndarray | None = None,
    n_iter: int = 0,
    tie_tol: float = 1e-12,
    extra: dict | None = None,
) -> ConsensusResult:
    """Build a ConsensusResult: labels, confidences, agreement; unanswered items get -1."""
    posteriors = clamp(posteriors, gold)
    n_ans = data.answers_per_item()
    labels = argmax_lowest(posteriors, tol=tie_tol)
    known = n_ans > 0
    if gold is not None:
        known[gold[0]] = True
    labels = np.where(known, labels, -1)
    conf = np.where(known, posteriors[np.arange(data.n_items), np.maximum(labels, 0)], 0.0)
    counts = data.item_label_counts()
    agree_n = counts[np.arange(data.n_items), np.maximum(labels, 0)]
    agreement = np.divide(agree_n, n_ans, out=np.full(data.n_items, np.nan), where=(n_ans > 0) & (labels >= 0))
    return ConsensusResult(
        method=method,
        labels=labels,
        confidence=conf,
        posteriors=posteriors,
        agreement=agreement,
        worker_skill=worker_skill,
        worker_confusion=worker_confusion,
        class_priors=class_priors,
        n_iter=n_iter,
        extra=extra or {},
    )


def answered_mask(data: CategoricalData, gold: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Items that carry information: at least one answer or a clamped gold label."""
    mask = data.answers_per_item() > 0
    if gold is not None:
        mask[gold[0]] = True
    return mask


def accuracy_vs_posteriors(data: CategoricalData, posteriors: np.ndarray) -> np.ndarray:
    """Expected accuracy of each worker under the given item posteriors."""
    hit = posteriors[data.items, data.labels]
    num = np.bincount(data.workers, weights=hit, minlength=data.n_workers)
    den = np.bincount(data.workers, minlength=data.n_workers)
    return np.divide(num, den, out=np.full(data.n_workers, np.nan), where=den > 0)
