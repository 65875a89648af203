"""Label-issue scores from a model's predictions, by cleanlab (confident learning); numpy only, no Django.

Classes: `get_label_quality_scores` (self-confidence: the model's probability of the current label; low means
likely wrong) and `find_label_issues` (pruned by the estimated noise rates; it needs a few examples of a class to
estimate them, so with too few it flags nothing rather than guessing). Boxes: cleanlab's object-detection
`get_label_quality_scores` and `find_label_issues` on the current boxes against the model's scored boxes.
The "model disagrees" rule picks the items scoring under a threshold, or the worst share of them.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

PROBABILITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Scored:
    """Per item: the label-quality score in [0, 1] (low: likely wrong) and whether cleanlab calls it an issue."""

    scores: np.ndarray
    issues: np.ndarray


def probabilities_problem(probabilities: dict[str, float], labels: Sequence[str] | None) -> dict[str, str]:
    """What is wrong with a class-probability map (path → reason); empty when it is usable."""
    problems: dict[str, str] = {}
    if not probabilities:
        return {"probabilities": "at least one class is needed"}
    for name, p in probabilities.items():
        if labels and name not in labels:
            problems[f"probabilities.{name}"] = "is not a label of the project's schema"
        elif not isinstance(p, (int, float)) or isinstance(p, bool) or not math.isfinite(p) or not 0 <= p <= 1:
            problems[f"probabilities.{name}"] = "must be a number in [0, 1]"
    if not problems:
        total = sum(probabilities.values())
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            problems["probabilities"] = f"must sum to 1 (they sum to {total:.6g})"
    return problems


def class_scores(*, labels: Sequence[str], probabilities: Sequence[dict[str, float]], classes: Sequence[str]) -> Scored:
    """Score each item's current label against its predicted class probabilities.

    `classes` fixes the columns (the project's labels, or the union seen); a label outside them scores 0 and is an
    issue (the model cannot have predicted it).
    """
    index = {c: i for i, c in enumerate(classes)}
    n, k = len(labels), len(classes)
    pred = np.zeros((n, k))
    for row, probs in enumerate(probabilities):
        for name, p in probs.items():
            if name in index:
                pred[row, index[name]] = p
    sums = pred.sum(axis=1, keepdims=True)
    pred = np.divide(pred, sums, out=np.full_like(pred, 1.0 / max(k, 1)), where=sums > 0)
    known = np.array([label in index for label in labels], dtype=bool)
    given = np.array([index.get(label, 0) for label in labels], dtype=int)
    scores = np.zeros(n)
    issues = ~known
    if known.any():
        from cleanlab.rank import get_label_quality_scores

        scores[known] = get_label_quality_scores(given[known], pred[known])
        issues[known] = _class_issues(given[known], pred[known])
    return Scored(scores=scores, issues=issues)


def _class_issues(given: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """cleanlab's find_label_issues, when every class in the columns has enough examples to estimate noise."""
    from cleanlab.filter import find_label_issues

    counts = np.bincount(given, minlength=pred.shape[1])
    if len(given) < 10 or (counts < 2).any():
        # too few examples of some class to estimate the noise rates: flag only what the model contradicts outright
        return pred.argmax(axis=1) != given
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(find_label_issues(given, pred, n_jobs=1), dtype=bool)


def _xyxy(box: Sequence[float]) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y + h]


def box_scores(*, labels: Sequence[list[dict]], predictions: Sequence[list[dict]], classes: Sequence[str]) -> Scored:
    """Score each item's current boxes ({label, bbox [x, y, w, h]}) against the model's scored boxes
    ({label, bbox, score}) with cleanlab's object-detection module."""
    from cleanlab.object_detection.filter import find_label_issues
    from cleanlab.object_detection.rank import get_label_quality_scores

    index = {c: i for i, c in enumerate(classes)}
    given, predicted = [], []
    for objects, preds in zip(labels, predictions):
        kept = [o for o in objects if o.get("label") in index]
        given.append({"bboxes": np.array([_xyxy(o["bbox"]) for o in kept], dtype=float).reshape(-1, 4),
                      "labels": np.array([index[o["label"]] for o in kept], dtype=int)})
        per_class = [np.zeros((0, 5)) for _ in classes]
        for p in preds:
            if p.get("label") in index:
                per_class[index[p["label"]]] = np.vstack([per_class[index[p["label"]]], [*_xyxy(p["bbox"]), p["score"]]])
        predicted.append(per_class)
    if not given:
        return Scored(scores=np.zeros(0), issues=np.zeros(0, dtype=bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = get_label_quality_scores(given, predicted, verbose=False)
        issues = find_label_issues(given, predicted)
    return Scored(scores=np.asarray(scores, dtype=float), issues=np.asarray(issues, dtype=bool))


def model_disagrees(scores: np.ndarray, *, threshold: float | None = None, worst_share: float | None = None) -> np.ndarray:
    """The items the rule raises into review: score under `threshold`, or the worst `worst_share` (at least one
    item when the share is positive and there are items). Ties at the cut are broken by position."""
    chosen = np.zeros(len(scores), dtype=bool)
    if threshold is not None:
        chosen |= scores < threshold
    if worst_share is not None and worst_share > 0 and len(scores):
        k = max(1, int(round(worst_share * len(scores))))
        chosen[np.argsort(scores, kind="stable")[:k]] = True
    return chosen


def boxes_problems(boxes: list, image: dict | None, labels: Sequence[str] | None) -> dict[str, str]:
    """What is wrong with scored boxes ({label, bbox [x, y, w, h], score}) on an image {width, height}."""
    problems: dict[str, str] = {}
    if not isinstance(image, dict) or not all(_positive(image.get(k)) for k in ("width", "height")):
        return {"image": "width and height (positive numbers) are needed to check the boxes"}
    for i, box in enumerate(boxes):
        at = f"objects[{i}]"
        if not isinstance(box, dict):
            problems[at] = "must be an object with label, bbox and score"
            continue
        if not isinstance(box.get("label"), str) or (labels and box["label"] not in labels):
            problems[f"{at}.label"] = "is not a label of the project's schema"
        score = box.get("score")
        if not _number(score) or not 0 <= score <= 1:
            problems[f"{at}.score"] = "must be a number in [0, 1]"
        bbox = box.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_number(v) for v in bbox):
            problems[f"{at}.bbox"] = "must be [x, y, width, height]"
        elif bbox[2] <= 0 or bbox[3] <= 0:
            problems[f"{at}.bbox"] = "width and height must be positive"
        elif bbox[0] < 0 or bbox[1] < 0 or bbox[0] + bbox[2] > image["width"] or bbox[1] + bbox[3] > image["height"]:
            problems[f"{at}.bbox"] = f"is outside the image ({image['width']:g} x {image['height']:g})"
    return problems


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(value) -> bool:
    return _number(value) and value > 0
