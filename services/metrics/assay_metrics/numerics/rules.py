"""When a quality rule fires, as pure functions of the evidence and the standing's flags (never Django).

A run of events is evaluated once per (annotator, rule), yet each rule fires exactly where it would have
fired had the events been applied one by one: `Evidence` starts from what was committed before the run
and takes the run's new rows in order; the verdict is asked after each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from assay_metrics.numerics import median_or_none

GOLD_ACCURACY, FAST_ANSWERS, REVIEW_REJECTION, QUALIFICATION = (
    "gold_accuracy", "fast_answers", "review_rejection", "qualification")


@dataclass
class Flags:
    suspended: bool
    flagged: bool
    qualified: bool


@dataclass(frozen=True)
class Fired:
    change: str  # suspended | flagged | qualified
    reason: str
    value: float
    count: int


@dataclass
class Evidence:
    """What one rule counts for one annotator: a count and a sum (gold scores, rejections), or recent durations.

    `recent` holds (submitted_at, row id, duration_ms) of the latest answers with a duration, at most
    `window` of them: the committed ones, then each new one as it is added.
    """

    count: int = 0
    total: float = 0.0
    window: int = 0
    recent: list[tuple[datetime, int, int]] = field(default_factory=list)

    def add(self, *, value: float = 0.0, recent: tuple[datetime, int, int] | None = None) -> None:
        self.count += 1
        self.total += value
        if recent is not None:
            self.recent = sorted([*self.recent, recent], reverse=True)[: self.window]


def verdict(*, kind: str, threshold: float, min_count: int, evidence: Evidence, flags: Flags) -> Fired | None:
    """The state change the rule asks for now, or None (a state already entered is not entered again)."""
    if kind in (GOLD_ACCURACY, QUALIFICATION):
        n = evidence.count
        if n < min_count or n == 0:
            return None
        mean = evidence.total / n
        if kind == GOLD_ACCURACY and mean < threshold and not flags.suspended:
            return Fired("suspended", f"gold accuracy {mean:.3f} below {threshold:g} over {n} gold answers", mean, n)
        if kind == QUALIFICATION and mean >= threshold and not flags.qualified:
            return Fired("qualified", f"gold accuracy {mean:.3f} at least {threshold:g} over {n} gold answers", mean, n)
        return None
    if flags.flagged:
        return None
    if kind == FAST_ANSWERS:
        durations = [d for _, _, d in evidence.recent]
        value = median_or_none(durations)
        if len(durations) < min_count or value is None or value >= threshold:
            return None
        return Fired("flagged", f"median time {value:g} ms below {threshold:g} ms over the last {len(durations)} answers",
                     value, len(durations))
    if kind == REVIEW_REJECTION:
        n = evidence.count
        if n < min_count or n == 0:
            return None
        rate = evidence.total / n
        if rate <= threshold:
            return None
        return Fired("flagged", f"review rejection rate {rate:.3f} above {threshold:g} over {n} reviews", rate, n)
    return None
