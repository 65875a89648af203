"""Validation of answers per answer type, raising AnswerValidationError(path, reason)."""
from __future__ import annotations

from typing import Any

import numpy as np

from assay_scoring.core.compute.config import ScoringConfig
from assay_scoring.numerics.errors import AnswerValidationError
from assay_scoring.numerics.validation import (
    validate_boxes,
    validate_free_text,
    validate_keypoints,
    validate_multi_choice,
    validate_polygons,
    validate_single_choice,
    validate_spans,
)

DEFAULT_KEYPOINT_SIGMA = 0.05


def answer_normalise(*, config: ScoringConfig, answer: Any) -> Any:
    """Task assignment's keypoint objects carry "points" ([x, y] or [x, y, v]); the numerical core
    reads "keypoints" as [x, y, v] with v = 2 (visible) when absent. Other shapes pass unchanged."""
    if config.answer_type != "keypoints" or not isinstance(answer, dict) or not isinstance(answer.get("objects"), list):
        return answer
    objects = []
    for obj in answer["objects"]:
        if isinstance(obj, dict) and "keypoints" not in obj and isinstance(obj.get("points"), list):
            points = [list(p) + [2] if isinstance(p, list) and len(p) == 2 else p for p in obj["points"]]
            obj = {**{k: v for k, v in obj.items() if k != "points"}, "keypoints": points}
        objects.append(obj)
    return {**answer, "objects": objects}


def keypoint_sigmas(*, config: ScoringConfig, answer: Any) -> np.ndarray:
    """The project's per-keypoint sigmas; without them, a uniform sigma for as many keypoints as
    the answer's first object has."""
    if config.keypoint_sigmas:
        return np.asarray(config.keypoint_sigmas, dtype=float)
    n = 0
    if isinstance(answer, dict) and isinstance(answer.get("objects"), list) and answer["objects"]:
        first = answer["objects"][0]
        if isinstance(first, dict) and isinstance(first.get("keypoints"), list):
            n = len(first["keypoints"])
    return np.full(n, DEFAULT_KEYPOINT_SIGMA)


def answer_validate(*, config: ScoringConfig, answer: Any) -> Any:
    """The validated, normalised form of `answer` for the project's answer type."""
    answer = answer_normalise(config=config, answer=answer)
    labels = config.label_set
    kind = config.answer_type
    if kind == "single_choice":
        return validate_single_choice(answer=answer, labels=labels)
    if kind == "multi_choice":
        return validate_multi_choice(answer=answer, labels=labels)
    if kind == "bbox":
        return validate_boxes(answer=answer, labels=labels)
    if kind == "polygon":
        return validate_polygons(answer=answer, labels=labels)
    if kind == "keypoints":
        return validate_keypoints(answer=answer, n_keypoints=keypoint_sigmas(config=config, answer=answer).size,
                                  labels=labels)
    if kind == "text_span":
        return validate_spans(answer=answer, labels=labels)
    if kind == "free_text":
        return validate_free_text(answer=answer)
    raise AnswerValidationError(path="answer_type", reason=f"unknown answer type {kind!r}")
