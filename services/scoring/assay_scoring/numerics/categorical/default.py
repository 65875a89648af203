"""The default categorical consensus and per-label consensus for multi-choice answers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import AggregationInputError
from ._common import CategoricalData, ConsensusResult, check_answers, gold_matrix
from .dawid_skene import dawid_skene, one_coin_dawid_skene
from .mace import mace
from .selection import Candidate, choose_model

DEFAULT_METHOD = "default"
# Four models of how annotators answer, each learning class priors, from the most flexible to the
# most rigid; the project's own answers choose among them (held-out answer likelihood).
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("dawid_skene_map", dawid_skene, {"smoothing": 0.1, "diagonal_prior": 1.0}),
    Candidate("dawid_skene_map_strong", dawid_skene, {"smoothing": 1.0, "diagonal_prior": 2.0}),
    Candidate("one_coin_dawid_skene", one_coin_dawid_skene, {}),
    Candidate("mace", mace, {"init": "majority", "knowing_prior": (1.0, 1.0), "strategy_prior": 1.0,
                             "n_iter": 50, "learn_class_priors": True}),
)
FALLBACK = "dawid_skene_map_strong"
DEFAULT_CONFIG: dict = {"candidates": [c.name for c in CANDIDATES], "criterion": "heldout_answer_loglik",
                        "folds": 5, "seed": 0, "min_answers": 30, "max_choice_answers": 200_000,
                        "fallback": FALLBACK}


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
    folds: int = 5,
    seed: int = 0,
) -> ConsensusResult:
    """Default consensus for single-choice answers: the candidate model (``CANDIDATES``) that best
    predicts held-out answers of this very data, refitted on all of it.

    Candidates: Dawid-Skene with a weak and a strong Dirichlet prior on each confusion row
    (pseudo-counts ``smoothing`` on every cell plus ``diagonal_prior`` on the diagonal), one-coin
    Dawid-Skene, and MACE started from majority vote; all learn class priors. The criterion is the
    mean log predictive probability of each answer under the model fitted without it (``folds``-fold
    split of the answers, seeded; gold clamped). With fewer than ``min_answers`` (30) answers the
    split says little and ``FALLBACK`` is used; above ``max_choice_answers`` (200,000) the choice is made
    on the answers of a seeded random subset of items holding about that many answers, and the chosen
    model is then fitted on all of them. ``result.method`` is ``"default"``;
    ``result.extra`` holds ``model`` (the chosen candidate), ``heldout_loglik`` (every candidate's
    score) and ``folds``.
    """
    data = check_answers(items=items, workers=workers, labels=labels, n_items=n_items,
                         n_workers=n_workers, n_classes=n_classes)
    if folds < 2:
        raise AggregationInputError("folds must be at least 2")
    gold_matrix(data=data, gold_items=gold_items, gold_labels=gold_labels)  # refuses bad gold before any fit
    by_name = {c.name: c for c in CANDIDATES}
    scores: dict[str, float] = {}
    chosen = FALLBACK
    if data.n_answers >= DEFAULT_CONFIG["min_answers"] and data.n_classes > 1:
        sample, s_gold_items, s_gold_labels = _choice_sample(data=data, gold_items=gold_items,
                                                             gold_labels=gold_labels, seed=seed)
        choice = choose_model(candidates=CANDIDATES, data=sample, gold_items=s_gold_items,
                              gold_labels=s_gold_labels, folds=folds, seed=seed)
        chosen, scores = choice.chosen, choice.scores
    candidate = by_name[chosen]
    result = candidate.fit(items=data.items, workers=data.workers, labels=data.labels, n_items=data.n_items,
                           n_workers=data.n_workers, n_classes=data.n_classes, gold_items=gold_items,
                           gold_labels=gold_labels, **candidate.settings)
    return replace(result, method="default",
                   extra={**result.extra, "model": chosen, "heldout_loglik": scores, "folds": folds})


def _choice_sample(*, data: CategoricalData, gold_items: np.ndarray | None, gold_labels: np.ndarray | None,
                   seed: int) -> tuple[CategoricalData, np.ndarray | None, np.ndarray | None]:
    """All the answers, or those of a seeded random subset of items holding about
    ``max_choice_answers`` of them (items renumbered; gold restricted to the subset)."""
    limit = DEFAULT_CONFIG["max_choice_answers"]
    if data.n_answers <= limit:
        return data, gold_items, gold_labels
    order = np.random.default_rng(seed).permutation(data.n_items)
    per_item = data.answers_per_item()[order]
    chosen = order[np.cumsum(per_item) <= limit]
    new_index = np.full(data.n_items, -1, dtype=np.int64)
    new_index[chosen] = np.arange(chosen.size)
    keep = new_index[data.items] >= 0
    sample = CategoricalData(items=new_index[data.items[keep]], workers=data.workers[keep],
                             labels=data.labels[keep], n_items=int(chosen.size), n_workers=data.n_workers,
                             n_classes=data.n_classes)
    if gold_items is None or gold_labels is None:
        return sample, None, None
    gi = new_index[np.asarray(gold_items, dtype=np.int64)]
    return sample, gi[gi >= 0], np.asarray(gold_labels, dtype=np.int64)[gi >= 0]


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
