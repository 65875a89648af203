"""Gold scoring of single choice, multi choice, text spans and free text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import AnswerValidationError
from .results import GoldError, GoldScore
from .validation import validate_free_text, validate_multi_choice, validate_single_choice, validate_spans


def score_single_choice(
    *,
    answer: Any,
    gold: Any,
    labels: frozenset[str] | None = None,
    cost: Mapping[tuple[str, str], float] | None = None,
) -> GoldScore:
    """1 if the label equals gold, else 0 — or ``1 - cost[(gold, answer)]`` with a
    per-project cost matrix (missing pairs cost 1, costs must lie in [0, 1])."""
    a = validate_single_choice(answer=answer, labels=labels)
    g = validate_single_choice(answer=gold, labels=labels)
    if a == g:
        score = 1.0
    elif cost is None:
        score = 0.0
    else:
        c = float(cost.get((g, a), 1.0))
        if not 0.0 <= c <= 1.0:
            raise AnswerValidationError(path="cost", reason=f"cost[({g!r}, {a!r})] must lie in [0, 1]")
        score = 1.0 - c
    errors = [] if a == g else [GoldError(type="wrong_label", detail=f"{g} -> {a}")]
    return GoldScore(score=score, errors=errors, confusion=Counter({(g, a): 1}))


def score_multi_choice(
    *, answer: Any, gold: Any, labels: frozenset[str] | None = None, metric: str = "jaccard"
) -> GoldScore:
    """Set overlap of selected labels: ``metric`` "jaccard" or "f1" is the score; both
    are in ``metrics``. Two empty selections score 1. Labels in gold but not selected
    are ``missing``, selected but not in gold ``extra``."""
    if metric not in ("jaccard", "f1"):
        raise ValueError(f"metric must be 'jaccard' or 'f1', got {metric!r}")
    a = set(validate_multi_choice(answer=answer, labels=labels))
    g = set(validate_multi_choice(answer=gold, labels=labels))
    inter, union = len(a & g), len(a | g)
    jac = inter / union if union else 1.0
    f1 = 2 * inter / (len(a) + len(g)) if (a or g) else 1.0
    errors = [GoldError(type="missing", detail=x) for x in sorted(g - a)]
    errors += [GoldError(type="extra", detail=x) for x in sorted(a - g)]
    conf = Counter({(x, x): 1 for x in a & g})
    conf.update({(x, None): 1 for x in g - a})
    conf.update({(None, x): 1 for x in a - g})
    return GoldScore(score=jac if metric == "jaccard" else f1, errors=errors, confusion=conf,
                     metrics={"jaccard": jac, "f1": f1})


def score_spans(
    *, answer: Any, gold: Any, mode: str = "exact", min_overlap: float = 0.5,
    text_length: int | None = None, labels: frozenset[str] | None = None,
) -> GoldScore:
    """Span F1. ``mode="exact"``: a pair matches when start and end are equal;
    ``mode="overlap"``: when character IoU >= ``min_overlap`` (optimal one-to-one
    matching). Matched pairs with different labels are wrong_label errors and do not
    count as true positives. Both empty scores 1."""
    from .geometry import match_pairs

    if mode not in ("exact", "overlap"):
        raise ValueError(f"mode must be 'exact' or 'overlap', got {mode!r}")
    a = validate_spans(answer=answer, text_length=text_length, labels=labels)
    g = validate_spans(answer=gold, text_length=text_length, labels=labels)
    if not a and not g:
        return GoldScore(score=1.0, metrics={"precision": 1.0, "recall": 1.0, "f1": 1.0})
    ga = np.array([[s["start"], s["end"]] for s in g], dtype=float).reshape(-1, 2)
    aa = np.array([[s["start"], s["end"]] for s in a], dtype=float).reshape(-1, 2)
    inter = np.clip(np.minimum(ga[:, None, 1], aa[None, :, 1]) - np.maximum(ga[:, None, 0], aa[None, :, 0]), 0, None)
    union = (ga[:, 1] - ga[:, 0])[:, None] + (aa[:, 1] - aa[:, 0])[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    if mode == "exact":
        sim = ((ga[:, None, 0] == aa[None, :, 0]) & (ga[:, None, 1] == aa[None, :, 1])).astype(float)
        gi, ai = match_pairs(similarity=sim, threshold=1.0)
    else:
        gi, ai = match_pairs(similarity=iou, threshold=min_overlap)
    return _object_score(g_labels=[s["label"] for s in g], a_labels=[s["label"] for s in a],
                         gi=gi, ai=ai, sim=iou, low=None)


def _object_score(*, g_labels: list[str], a_labels: list[str], gi: np.ndarray, ai: np.ndarray,
                  sim: np.ndarray, low: tuple[np.ndarray, float] | None) -> GoldScore:
    """Common P/R/F1 bookkeeping for matched object lists."""
    errors: list[GoldError] = []
    conf: Counter = Counter()
    tp = 0
    for g, a in zip(gi.tolist(), ai.tolist()):
        conf[(g_labels[g], a_labels[a])] += 1
        if g_labels[g] == a_labels[a]:
            tp += 1
        else:
            errors.append(GoldError(type="wrong_label", gold_index=g, answer_index=a,
                                    detail=f"{g_labels[g]} -> {a_labels[a]}"))
    matched_g, matched_a = set(gi.tolist()), set(ai.tolist())
    for g in range(len(g_labels)):
        if g not in matched_g:
            conf[(g_labels[g], None)] += 1
            errors.append(GoldError(type="missing", gold_index=g))
    for a in range(len(a_labels)):
        if a not in matched_a:
            conf[(None, a_labels[a])] += 1
            errors.append(GoldError(type="extra", answer_index=a))
    if low is not None:
        lsim, thr = low
        for g, a in zip(*np.nonzero((lsim > 0) & (lsim < thr))):
            if g not in matched_g and a not in matched_a:
                errors.append(GoldError(type="low_overlap", gold_index=int(g), answer_index=int(a),
                                        detail=f"{lsim[g, a]:.3f}"))
    prec = tp / len(a_labels) if a_labels else (1.0 if not g_labels else 0.0)
    rec = tp / len(g_labels) if g_labels else (1.0 if not a_labels else 0.0)
    f1 = 2 * tp / (len(a_labels) + len(g_labels)) if (a_labels or g_labels) else 1.0
    mean_sim = float(sim[gi, ai].mean()) if gi.size else 0.0
    return GoldScore(score=f1, errors=errors, confusion=conf,
                     metrics={"precision": prec, "recall": rec, "f1": f1, "mean_iou": mean_sim,
                              "matched": int(gi.size), "true_positives": tp})


def normalized_edit_distance(*, a: str, b: str) -> float:
    """Levenshtein distance divided by max(len(a), len(b)); 0 for two empty strings.
    One numpy row per character of ``a`` (O(n m) work, O(m) memory)."""
    if not a and not b:
        return 0.0
    if not a or not b:
        return 1.0
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    m = bb.size
    prev = np.arange(m + 1, dtype=np.int64)
    for ch in np.frombuffer(a.encode("utf-32-le"), dtype=np.uint32):
        sub = prev[:-1] + (bb != ch)
        dele = prev[1:] + 1
        best = np.minimum(sub, dele)
        # insertion chain: cur[j] = min(best[j], cur[j-1] + 1) == min over k<=j of best[k] + (j-k)
        cur = np.empty(m + 1, dtype=np.int64)
        cur[0] = prev[0] + 1
        cand = np.minimum.accumulate(np.concatenate([[cur[0]], best]) - np.arange(m + 1)) + np.arange(m + 1)
        cur[1:] = cand[1:]
        prev = cur
    return float(prev[-1]) / max(len(a), len(b))


def score_free_text(*, answer: Any, gold: Any, normalize: bool = True) -> GoldScore:
    """1 - normalised edit distance. With ``normalize`` both texts are case-folded and
    runs of whitespace collapsed before comparing."""
    a, g = validate_free_text(answer=answer), validate_free_text(answer=gold)
    if normalize:
        a, g = " ".join(a.casefold().split()), " ".join(g.casefold().split())
    d = normalized_edit_distance(a=a, b=g)
    errors = [] if d == 0 else [GoldError(type="wrong_label", detail=f"edit distance {d:.3f}")]
    return GoldScore(score=1.0 - d, errors=errors, metrics={"normalized_edit_distance": d})
