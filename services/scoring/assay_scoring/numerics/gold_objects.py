"""Gold scoring of boxes, polygons and keypoints: optimal matching, P/R/F1, typed errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from .geometry import box_iou_matrix, match_pairs, oks_matrix, polygon_from_points, polygon_iou_matrix, xywh_to_xyxy
from .gold_simple import _object_score
from .results import GoldError, GoldScore
from .validation import validate_boxes, validate_keypoints, validate_polygons


def _attribute_errors(score: GoldScore, gold: list[dict], ans: list[dict], gi: np.ndarray, ai: np.ndarray) -> None:
    """Append wrong_attribute errors for matched pairs; attributes_accuracy in metrics."""
    checked = wrong = 0
    for g, a in zip(gi.tolist(), ai.tolist()):
        ga, aa = gold[g].get("attributes", {}), ans[a].get("attributes", {})
        for key in sorted(ga):
            checked += 1
            if aa.get(key) != ga[key]:
                wrong += 1
                score.errors.append(GoldError(type="wrong_attribute", gold_index=g, answer_index=a,
                                              detail=f"{key}: {ga[key]!r} -> {aa.get(key)!r}"))
    score.metrics["attributes_accuracy"] = 1.0 - wrong / checked if checked else 1.0


def _finish(gold: list[dict], ans: list[dict], sim: np.ndarray, threshold: float) -> GoldScore:
    gi, ai = match_pairs(similarity=sim, threshold=threshold)
    score = _object_score(g_labels=[o["label"] for o in gold], a_labels=[o["label"] for o in ans],
                          gi=gi, ai=ai, sim=sim, low=(sim, threshold))
    _attribute_errors(score, gold, ans, gi, ai)
    return score


def score_boxes(*, answer: Any, gold: Any, iou_threshold: float = 0.5,
                labels: frozenset[str] | None = None) -> GoldScore:
    """Boxes matched one-to-one by IoU (Hungarian, pairs below ``iou_threshold``
    dropped). Score = F1, where a true positive is a matched pair with equal labels;
    a matched pair with different labels is a wrong_label error; unmatched gold boxes
    are missing, unmatched answer boxes extra (and low_overlap when they touch an
    unmatched gold box with 0 < IoU < threshold). Both empty score 1."""
    g = validate_boxes(answer=gold, labels=labels)
    a = validate_boxes(answer=answer, labels=labels)
    sim = box_iou_matrix(xywh_to_xyxy(np.array([o["bbox"] for o in g]).reshape(-1, 4)),
                         xywh_to_xyxy(np.array([o["bbox"] for o in a]).reshape(-1, 4)))
    return _finish(g, a, sim, iou_threshold)


def score_polygons(*, answer: Any, gold: Any, iou_threshold: float = 0.5,
                   labels: frozenset[str] | None = None) -> GoldScore:
    """As :func:`score_boxes` with polygon IoU. Self-intersecting polygons are repaired
    with shapely ``make_valid``; zero-area polygons are refused with
    AnswerValidationError (path ``objects[i].points``)."""
    g = validate_polygons(answer=gold, labels=labels)
    a = validate_polygons(answer=answer, labels=labels)
    gp = [polygon_from_points(points=o["points"], path=f"objects[{i}].points") for i, o in enumerate(g)]
    ap = [polygon_from_points(points=o["points"], path=f"objects[{i}].points") for i, o in enumerate(a)]
    return _finish(g, a, polygon_iou_matrix(gp, ap), iou_threshold)


def score_keypoints(
    *,
    answer: Any,
    gold: Any,
    sigmas: np.ndarray,
    width: float | None = None,
    height: float | None = None,
    oks_threshold: float = 0.5,
    labels: frozenset[str] | None = None,
) -> GoldScore:
    """Keypoint objects matched one-to-one by OKS with per-keypoint ``sigmas``.

    The object scale is the area of the gold keypoints' bounding box (at least 1 px²).
    Keypoints outside the image (when width/height are given) count as not labelled
    (see :func:`oks_matrix`). Score = F1 over objects; ``metrics["mean_iou"]`` is the
    mean OKS of matched pairs.
    """
    sig = np.asarray(sigmas, dtype=float)
    g = validate_keypoints(answer=gold, n_keypoints=sig.size, labels=labels)
    a = validate_keypoints(answer=answer, n_keypoints=sig.size, labels=labels)
    gk = np.array([o["keypoints"] for o in g], dtype=float).reshape(-1, sig.size, 3)
    ak = np.array([o["keypoints"] for o in a], dtype=float).reshape(-1, sig.size, 3)
    areas = np.array([_kp_area(k) for k in gk])
    sim = oks_matrix(gold=gk, pred=ak, sigmas=sig, areas=areas, width=width, height=height)
    score = _finish(g, a, sim, oks_threshold)
    score.metrics["mean_oks"] = score.metrics["mean_iou"]
    return score


def _kp_area(k: np.ndarray) -> float:
    vis = k[k[:, 2] > 0]
    if vis.shape[0] == 0:
        return 1.0
    span = vis[:, :2].max(axis=0) - vis[:, :2].min(axis=0)
    return float(max(span[0] * span[1], 1.0))
