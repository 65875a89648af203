"""Plain-Python helpers of the metrics service (never Django): answer comparison, medians, rule checks."""
from __future__ import annotations

from statistics import median
from typing import Any


def comparable_answer(answer: Any) -> tuple | None:
    """A single- or multiple-choice answer in a form that compares by value; None for anything richer.

    "cat", {"label": "cat"} → ("label", "cat"); ["a", "b"], {"labels": [...]} → ("labels", ("a", "b")).
    An `attributes` object beside the label(s) is left out: a choice consensus is a vote on the labels only, so
    {"label": "cat", "attributes": {}} compares as {"label": "cat"}.
    """
    if isinstance(answer, dict) and isinstance(answer.get("attributes"), dict) and len(answer) > 1:
        answer = {k: v for k, v in answer.items() if k != "attributes"}
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
