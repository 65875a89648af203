"""Plain-Python helpers of the metrics service (never Django): answer comparison, medians, rule checks."""
from __future__ import annotations

from statistics import median
from typing import Any


def comparable_answer(answer: Any) -> tuple | None:
    """A single- or multiple-choice answer in a form that compares by value; None for anything richer.

    "cat", {"label": "cat"} → ("label", "cat"); ["a", "b"], {"labels": [...]} → ("labels", ("a", "b")).
    """
    if isinstance(answer, str):
        return ("label", answer)
    if isinstance(answer, dict) and set(answer) == {"label"} and isinstance(answer["label"], str):
        return ("label", answer["label"])
    labels = answer.get("labels") if isinstance(answer, dict) and set(answer) == {"labels"} else answer
    if isinstance(labels, list) and all(isinstance(x, str) for x in labels):
        return ("labels", tuple(sorted(set(labels))))
    return None


def median_or_none(values: list[float]) -> float | None:
    return float(median(values)) if values else None
