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
    labels = config.label_set
    kind = config.answer_type
    if kind == "single_choice":
        return validate_single_choice(answer=answer, labels=labels)
    if kind == "multi_choice":
        return validate_multi_choice(answer=answer, labels=labels)
    if kind == "boxes":
        return validate_boxes(answer=answer, labels=labels)
    if kind == "polygons":
        return validate_polygons(answer=answer, labels=labels)
    if kind == "keypoints":
        return validate_keypoints(answer=answer, n_keypoints=keypoint_sigmas(config=config, answer=answer).size,
                                  labels=labels)
    if kind == "text_spans":
        return validate_spans(answer=answer, labels=labels)
    if kind == "free_text":
        return validate_free_text(answer=answer)
    raise AnswerValidationError(path="answer_type", reason=f"unknown answer type {kind!r}")
