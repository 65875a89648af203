"""Gold scoring of one answer, per answer type, through the numerical core."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay_scoring.core.compute.answers import answer_normalise, keypoint_sigmas
from assay_scoring.core.compute.config import ScoringConfig
from assay_scoring.numerics.errors import AnswerValidationError
from assay_scoring.numerics.gold_objects import score_boxes, score_keypoints, score_polygons
from assay_scoring.numerics.gold_simple import score_free_text, score_multi_choice, score_single_choice, score_spans
from assay_scoring.numerics.results import GoldScore


@dataclass(frozen=True)
class GoldOutcome:
    score: float
    passed: bool
    error_counts: dict[str, int]
    errors: list[dict]
    confusion: list[dict]
    metrics: dict


def _score(*, config: ScoringConfig, answer: Any, gold: Any) -> GoldScore:
    labels = config.label_set
    kind = config.answer_type
    if kind == "single_choice":
        return score_single_choice(answer=answer, gold=gold, labels=labels, cost=config.cost_pairs())
    if kind == "multi_choice":
        return score_multi_choice(answer=answer, gold=gold, labels=labels, metric=config.multi_choice_metric)
    if kind == "bbox":
        return score_boxes(answer=answer, gold=gold, iou_threshold=config.overlap_threshold, labels=labels)
    if kind == "polygon":
        return score_polygons(answer=answer, gold=gold, iou_threshold=config.overlap_threshold, labels=labels)
    if kind == "keypoints":
        return score_keypoints(answer=answer, gold=gold, sigmas=keypoint_sigmas(config=config, answer=gold),
                               oks_threshold=config.overlap_threshold, labels=labels)
    if kind == "text_span":
        return score_spans(answer=answer, gold=gold, mode="overlap", min_overlap=config.overlap_threshold,
                           labels=labels)
    if kind == "free_text":
        return score_free_text(answer=answer, gold=gold)
    raise AnswerValidationError(path="answer_type", reason=f"unknown answer type {kind!r}")


def _plain(value: Any) -> Any:
    """numpy scalars to Python numbers, for JSON columns."""
    if hasattr(value, "item"):
        return value.item()
    return value


def gold_outcome_compute(*, config: ScoringConfig, answer: Any, gold: Any) -> GoldOutcome:
    """Score `answer` against `gold`; raises AnswerValidationError when either is malformed."""
    result = _score(config=config, answer=answer_normalise(config=config, answer=answer),
                    gold=answer_normalise(config=config, answer=gold))
    score = min(1.0, max(0.0, float(result.score)))
    return GoldOutcome(
        score=score,
        passed=score >= config.gold_pass_threshold,
        error_counts=result.error_counts,
        errors=[{"type": e.type, "gold_index": e.gold_index, "answer_index": e.answer_index, "detail": e.detail}
                for e in result.errors],
        confusion=sorted(
            ({"gold": g, "answer": a, "count": int(n)} for (g, a), n in result.confusion.items()),
            key=lambda row: (str(row["gold"]), str(row["answer"])),
        ),
        metrics={k: _plain(v) for k, v in result.metrics.items()},
    )
