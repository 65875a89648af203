"""The default categorical consensus and per-label consensus for multi-choice answers."""

from __future__ import annotations

import numpy as np

from ..errors import AggregationInputError
from ._common import ConsensusResult
from .mace import mace

DEFAULT_METHOD = "mace"
DEFAULT_CONFIG: dict = {"init": "majority", "knowing_prior": (1.0, 1.0), "strategy_prior": 1.0, "n_iter": 50}


def categorical_consensus(
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
    """Default consensus for single-choice answers: MACE started from majority vote,
    Beta(1, 1) prior on knowing, Dirichlet(1) prior on spam strategies, 50 VB-EM
    iterations (``DEFAULT_CONFIG``); one fixed configuration for every project.
    """
    return mace(items=items, workers=workers, labels=labels, n_items=n_items, n_workers=n_workers,
                n_classes=n_classes, gold_items=gold_items, gold_labels=gold_labels, **DEFAULT_CONFIG)


def multi_choice_consensus(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    selections: np.ndarray,
    n_items: int | None = None,
    n_workers: int | None = None,
    gold_items: np.ndarray | None = None,
    gold_selections: np.ndarray | None = None,
) -> list[ConsensusResult]:
    """Consensus per option of a multi-choice question.

    ``selections`` is an (N, L) 0/1 matrix: row j says which of the L options answer j
    ticked (one row per submitted answer, so unticked options are explicit "no" votes).
    Each option is aggregated as its own binary question with
    :func:`categorical_consensus`; ``result[l].labels[i] == 1`` means option l is in
    item i's consensus set, with its own confidence and agreement.
    """
    sel = np.asarray(selections)
    if sel.ndim != 2 or sel.shape[0] != np.asarray(items).shape[0]:
        raise AggregationInputError("selections must be an (n_answers, n_options) matrix")
    if sel.size and not np.isin(sel, (0, 1)).all():
        raise AggregationInputError("selections must contain only 0 and 1")
    gold_sel = None if gold_selections is None else np.asarray(gold_selections)
    out = []
    for option in range(sel.shape[1]):
        out.append(categorical_consensus(
            items=items, workers=workers, labels=sel[:, option].astype(np.int64), n_items=n_items,
            n_workers=n_workers, n_classes=2, gold_items=gold_items,
            gold_labels=None if gold_sel is None else gold_sel[:, option].astype(np.int64),
        ))
    return out
