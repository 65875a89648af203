"""When a quality rule fires, as pure functions of the evidence and the standing's flags (never Django).

A run of events is evaluated once per (annotator, rule), yet each rule fires exactly where it would have
fired had the events been applied one by one: `Evidence` starts from what was committed before the run
and takes the run's new rows in order; the verdict is asked after each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from assay_metrics.numerics import median_or_none
from assay_metrics.numerics.intervals import wilson
from assay_metrics.numerics.sprt import FAIL, PASS, Plan, decide, log_ratio

GOLD_ACCURACY, FAST_ANSWERS, REVIEW_REJECTION, QUALIFICATION = (
    "gold_accuracy", "fast_answers", "review_rejection", "qualification")
QUALIFICATION_FAILED = "qualification_failed"
LOW_AGREEMENT = "low_agreement"


@dataclass
class Flags:
    suspended: bool
    flagged: bool
    qualified: bool
    exam_failed: bool = False  # failed a sequential exam that ends in manual qualification
    suspended_by: str | None = None  # the id of the rule whose suspension it may lift itself


@dataclass(frozen=True)
class Hysteresis:
    """Suspend when the Wilson upper bound at `level` is below the rule's threshold; lift the rule's own
    suspension when, after at least `probation` gold answers since, the lower bound is above `reinstate`."""

    level: float
    reinstate: float | None = None
    probation: int | None = None


@dataclass(frozen=True)
class Fired:
    change: str  # suspended | flagged | qualified | reinstated | qualification_failed
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


def verdict(*, kind: str, threshold: float, min_count: int, evidence: Evidence, flags: Flags,
            plan: Plan | None = None, hysteresis: Hysteresis | None = None, rule_id: str | None = None) -> Fired | None:
    """The state change the rule asks for now, or None (a state already entered is not entered again).

    `plan` makes a qualification rule a sequential test; `hysteresis` makes a gold accuracy or low agreement
    rule decide on the Wilson interval and (gold accuracy, with a reinstate threshold) lift its own suspension.
    """
    if kind == QUALIFICATION and plan is not None:
        return _sequential(plan, evidence=evidence, flags=flags)
    if kind == GOLD_ACCURACY and hysteresis is not None:
        return _hysteresis(hysteresis, threshold=threshold, min_count=min_count, evidence=evidence, flags=flags,
                           rule_id=rule_id)
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
    if kind == LOW_AGREEMENT:
        return _low_agreement(threshold=threshold, min_count=min_count, evidence=evidence, hysteresis=hysteresis)
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


def _sequential(plan: Plan, *, evidence: Evidence, flags: Flags) -> Fired | None:
    if flags.qualified or flags.exam_failed:
        return None
    n, total = evidence.count, evidence.total
    outcome = decide(plan, count=n, total=total)
    if outcome not in (PASS, FAIL):
        return None
    llr = log_ratio(plan, count=n, total=total)
    numbers = (f"log-likelihood ratio {llr:.3f} (pass at {plan.upper:.3f}, fail at {plan.lower:.3f}) after {n} "
               f"gold answers scoring {total:g}, p0={plan.p0:g} p1={plan.p1:g} alpha={plan.alpha:g} beta={plan.beta:g}")
    truncated = " at the maximum of answers" if plan.lower < llr < plan.upper else ""
    if outcome == PASS:
        return Fired("qualified", f"sequential exam passed{truncated}: {numbers}", total / n, n)
    return Fired(QUALIFICATION_FAILED, f"sequential exam failed{truncated}: {numbers}", total / n, n)


def _hysteresis(h: Hysteresis, *, threshold: float, min_count: int, evidence: Evidence, flags: Flags,
                rule_id: str | None) -> Fired | None:
    n = evidence.count
    if n == 0:
        return None
    low, high = wilson(successes=evidence.total, n=n, level=h.level)
    mean = evidence.total / n
    interval = f"gold accuracy {mean:.3f}, {h.level:.0%} Wilson interval [{low:.3f}, {high:.3f}]"
    if not flags.suspended:
        if n >= min_count and high < threshold:
            return Fired("suspended", f"{interval} entirely below {threshold:g} over {n} gold answers", mean, n)
        return None
    if h.reinstate is None or flags.suspended_by is None or flags.suspended_by != rule_id:
        return None
    if n >= (h.probation or 1) and low > h.reinstate:
        return Fired("reinstated", f"{interval} entirely above {h.reinstate:g} over {n} gold answers of probation",
                     mean, n)
    return None


def _low_agreement(*, threshold: float, min_count: int, evidence: Evidence, hysteresis: Hysteresis | None) -> Fired | None:
    """Flag when the mean agreement with consensus is below the threshold (with a level: its Wilson upper bound)."""
    n = evidence.count
    if n < min_count or n == 0:
        return None
    mean = evidence.total / n
    if hysteresis is None:
        if mean >= threshold:
            return None
        return Fired("flagged", f"agreement with consensus {mean:.3f} below {threshold:g} over {n} tasks", mean, n)
    low, high = wilson(successes=evidence.total, n=n, level=hysteresis.level)
    if high >= threshold:
        return None
    return Fired("flagged", f"agreement with consensus {mean:.3f}, {hysteresis.level:.0%} Wilson interval "
                            f"[{low:.3f}, {high:.3f}] entirely below {threshold:g} over {n} tasks", mean, n)
