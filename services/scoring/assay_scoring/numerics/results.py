"""Result type of gold scoring."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ERROR_TYPES = ("missing", "extra", "wrong_label", "low_overlap", "wrong_attribute")


@dataclass
class GoldError:
    """One typed error: ``type`` in ERROR_TYPES; indices into gold / answer objects."""

    type: str
    gold_index: int | None = None
    answer_index: int | None = None
    detail: str = ""


@dataclass
class GoldScore:
    """Score in [0, 1] of one answer against its gold answer.

    ``confusion[(gold_label, answer_label)]`` counts matched pairs, plus
    ``(gold_label, None)`` for missing and ``(None, answer_label)`` for extra objects.
    ``metrics`` holds type-specific figures (precision, recall, f1, mean_iou, ...).
    """

    score: float
    errors: list[GoldError] = field(default_factory=list)
    confusion: Counter = field(default_factory=Counter)
    metrics: dict = field(default_factory=dict)

    @property
    def error_counts(self) -> dict[str, int]:
        counts = Counter(e.type for e in self.errors)
        return {t: counts.get(t, 0) for t in ERROR_TYPES}
