"""Turn raw (item, worker, label) identifiers into dense integer indices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EncodedAnswers:
    """Dense indices plus the names they stand for (``item_names[items[j]]`` etc.).

    Names are sorted (``np.unique`` order), so "lowest label index" tie rules mean
    "first label name in sorted order".
    """

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    item_names: np.ndarray
    worker_names: np.ndarray
    label_names: np.ndarray

    @property
    def n_items(self) -> int:
        return int(self.item_names.shape[0])

    @property
    def n_workers(self) -> int:
        return int(self.worker_names.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.label_names.shape[0])

    def label_index(self, *, names: Sequence | np.ndarray) -> np.ndarray:
        """Indices of the given label names; -1 for names never seen."""
        return _lookup(self.label_names, np.asarray(names))

    def item_index(self, *, names: Sequence | np.ndarray) -> np.ndarray:
        """Indices of the given item names; -1 for names never seen."""
        return _lookup(self.item_names, np.asarray(names))


def encode_answers(
    *,
    items: Sequence | np.ndarray,
    workers: Sequence | np.ndarray,
    labels: Sequence | np.ndarray,
    label_names: Sequence | None = None,
) -> EncodedAnswers:
    """Factorise parallel sequences of identifiers.

    ``label_names`` fixes the label set and order (for example a project schema); an
    answer whose label is not in it raises ``ValueError`` naming the label.
    """
    item_names, item_idx = np.unique(np.asarray(items), return_inverse=True)
    worker_names, worker_idx = np.unique(np.asarray(workers), return_inverse=True)
    raw_labels = np.asarray(labels)
    if label_names is None:
        names, label_idx = np.unique(raw_labels, return_inverse=True)
    else:
        names = np.asarray(label_names)
        label_idx = _lookup(names, raw_labels)
        if (label_idx < 0).any():
            bad = raw_labels[np.argmax(label_idx < 0)]
            raise ValueError(f"labels[{int(np.argmax(label_idx < 0))}]: unknown label {bad!r}")
    return EncodedAnswers(
        items=item_idx.astype(np.int64).ravel(),
        workers=worker_idx.astype(np.int64).ravel(),
        labels=label_idx.astype(np.int64).ravel(),
        item_names=item_names,
        worker_names=worker_names,
        label_names=names,
    )


def _lookup(names: np.ndarray, values: np.ndarray) -> np.ndarray:
    if names.size == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    order = np.argsort(names, kind="stable")
    sorted_names = names[order]
    pos = np.clip(np.searchsorted(sorted_names, values), 0, names.size - 1)
    found = sorted_names[pos] == values
    return np.where(found, order[pos], -1).astype(np.int64)
