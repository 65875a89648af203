"""Reads of the metrics service (row-level security scopes them to the caller's tenant)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from assay_shared.db.query import filter_given
from assay_shared.errors import NotFoundError

from assay_metrics.core.models import (
    AnnotatorStats,
    ConsensusMatch,
    GoldResult,
    QualityRule,
    ReviewOutcome,
    Standing,
    StandingChange,
    SubmissionLog,
)
from assay_metrics.numerics.alpha import alpha_with_distance, iou_distance, object_units
from assay_metrics.numerics.intervals import wilson


def annotator_stats_list(*, annotator: str | None = None, project_id: str | None = None) -> QuerySet[AnnotatorStats]:
    rows = AnnotatorStats.objects.order_by("annotator", "project_id")
    return filter_given(rows, annotator=annotator, project_id=project_id)


def _filtered(rows, *, annotator, project_id):
    return filter_given(rows, annotator=annotator, project_id=project_id)


def _ratio(part, whole) -> float | None:
    return round(part / whole, 6) if whole else None


def _interval(successes: float, n: int) -> list[float] | None:
    """The 95 % Wilson interval of successes / n (fractional successes: sums of scores or agreements), rounded
    like the rates; None when there is nothing to count."""
    if not n:
        return None
    low, high = wilson(successes=successes, n=n, level=0.95)
    return [round(low, 6), round(high, 6)]


def annotator_metrics_list(*, annotator: str | None = None, project_id: UUID | None = None,
                           hidden_from: datetime | None = None) -> list[dict]:
    """Per (annotator, project): speed, gold accuracy, agreement with consensus, review outcomes, skill.

    `hidden_from` hides gold results and consensus matches recorded from that moment on (what an annotator sees
    of their own): a result, or a consensus count that rises after one answer and not after another, would tell
    them which of their tasks was gold (gold tasks get no consensus, ADR 0021).
    """
    rows: dict[tuple[str, str], dict] = {}

    def row(a: str, p) -> dict:
        return rows.setdefault((a, str(p)), {
            "annotator": a, "project_id": str(p), "submissions": 0, "mean_duration_ms": None,
            "last_submitted_at": None, "skill": None, "skill_method": None, "skill_interval": None,
            "gold": {"count": 0, "mean_score": None, "mean_score_interval": None, "pass_rate": None,
                     "pass_rate_interval": None},
            "consensus": {"count": 0, "agreement": None, "agreement_interval": None, "disputed": 0},
            "reviews": {"count": 0, "accepted": 0, "rejected": 0, "corrected": 0, "rejection_rate": None,
                        "rejection_rate_interval": None},
        })

    timed = _filtered(SubmissionLog.objects.filter(duration_ms__isnull=False), annotator=annotator, project_id=project_id)
    durations = {(d["annotator"], str(d["project_id"])): d["mean"]
                 for d in timed.values("annotator", "project_id").annotate(mean=Avg("duration_ms"))}
    for s in _filtered(AnnotatorStats.objects.all(), annotator=annotator, project_id=project_id):
        r = row(s.annotator, s.project_id)
        r.update(submissions=s.submissions, last_submitted_at=s.last_submitted_at, skill=s.skill,
                 skill_method=s.skill_method,
                 skill_interval=[s.skill_low, s.skill_high] if s.skill_low is not None else None)
        mean = durations.get((s.annotator, str(s.project_id)))
        r["mean_duration_ms"] = round(mean, 1) if mean is not None else None
    gold = _filtered(GoldResult.objects.all(), annotator=annotator, project_id=project_id)
    if hidden_from is not None:
        gold = gold.filter(recorded_at__lt=hidden_from)
    for g in gold.values("annotator", "project_id").annotate(
            n=Count("id"), total=Sum("score"), mean=Avg("score"), passed=Count("id", filter=Q(passed=True))):
        row(g["annotator"], g["project_id"])["gold"] = {
            "count": g["n"], "mean_score": round(g["mean"], 6), "mean_score_interval": _interval(g["total"], g["n"]),
            "pass_rate": _ratio(g["passed"], g["n"]), "pass_rate_interval": _interval(g["passed"], g["n"])}
    consensus = _filtered(ConsensusMatch.objects.all(), annotator=annotator, project_id=project_id)
    if hidden_from is not None:
        consensus = consensus.filter(recorded_at__lt=hidden_from)
    for c in consensus.values("annotator", "project_id").annotate(
            n=Count("id"), total=Sum("agreement"), mean=Avg("agreement"),
            disputed=Count("id", filter=Q(disputed=True))):
        row(c["annotator"], c["project_id"])["consensus"] = {
            "count": c["n"], "agreement": round(c["mean"], 6), "agreement_interval": _interval(c["total"], c["n"]),
            "disputed": c["disputed"]}
    reviews = _filtered(ReviewOutcome.objects.all(), annotator=annotator, project_id=project_id)
    for v in reviews.values("annotator", "project_id").annotate(
            n=Count("id"), accepted=Count("id", filter=Q(verdict="accepted")),
            rejected=Count("id", filter=Q(verdict="rejected")), corrected=Count("id", filter=Q(verdict="corrected"))):
        row(v["annotator"], v["project_id"])["reviews"] = {
            "count": v["n"], "accepted": v["accepted"], "rejected": v["rejected"], "corrected": v["corrected"],
            "rejection_rate": _ratio(v["rejected"], v["n"]),
            "rejection_rate_interval": _interval(v["rejected"], v["n"])}
    return [rows[k] for k in sorted(rows)]


def _period(*, annotator: str, project_id: UUID | None, start: datetime | None, end: datetime,
            hidden_from: datetime | None) -> dict:
    subs = _filtered(SubmissionLog.objects.filter(submitted_at__lt=end), annotator=annotator, project_id=project_id)
    gold = _filtered(GoldResult.objects.filter(recorded_at__lt=min(end, hidden_from) if hidden_from else end),
                     annotator=annotator, project_id=project_id)
    if start is not None:
        subs, gold = subs.filter(submitted_at__gte=start), gold.filter(recorded_at__gte=start)
    s = subs.aggregate(n=Count("id"), mean=Avg("duration_ms"))
    g = gold.aggregate(n=Count("id"), total=Sum("score"), mean=Avg("score"))
    return {"submissions": s["n"], "mean_duration_ms": round(s["mean"], 1) if s["mean"] is not None else None,
            "gold_count": g["n"], "gold_mean_score": round(g["mean"], 6) if g["mean"] is not None else None,
            "gold_mean_score_interval": _interval(g["total"], g["n"])}


def annotator_trend(*, annotator: str, project_id: UUID | None, now: datetime, days: int = 14,
                    hidden_from: datetime | None = None) -> dict:
    """Daily buckets for the last `days` days (UTC), and the last 7 days against everything before."""
    start_day = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    subs = _filtered(SubmissionLog.objects.filter(submitted_at__gte=start_day), annotator=annotator, project_id=project_id)
    gold = _filtered(GoldResult.objects.filter(recorded_at__gte=start_day), annotator=annotator, project_id=project_id)
    if hidden_from is not None:
        gold = gold.filter(recorded_at__lt=hidden_from)
    by_day_subs = {r["day"]: r for r in subs.annotate(day=TruncDate("submitted_at")).values("day").annotate(
        n=Count("id"), total=Sum("duration_ms"), timed=Count("duration_ms"))}
    by_day_gold = {r["day"]: r for r in gold.annotate(day=TruncDate("recorded_at")).values("day").annotate(
        n=Count("id"), total=Sum("score"), mean=Avg("score"))}
    daily = []
    for offset in range(days):
        day = (start_day + timedelta(days=offset)).date()
        s, g = by_day_subs.get(day), by_day_gold.get(day)
        daily.append({
            "date": day.isoformat(),
            "submissions": s["n"] if s else 0,
            "mean_duration_ms": round(s["total"] / s["timed"], 1) if s and s["timed"] else None,
            "gold_count": g["n"] if g else 0,
            "gold_mean_score": round(g["mean"], 6) if g else None,
            "gold_mean_score_interval": _interval(g["total"], g["n"]) if g else None,
        })
    boundary = now - timedelta(days=7)
    return {
        "daily": daily,
        "last_7_days": _period(annotator=annotator, project_id=project_id, start=boundary, end=now, hidden_from=hidden_from),
        "before": _period(annotator=annotator, project_id=project_id, start=None, end=boundary, hidden_from=hidden_from),
    }


def standing_list(*, annotator: str | None = None, project_id: UUID | None = None,
                  state: str | None = None) -> QuerySet[Standing]:
    rows = Standing.objects.order_by("annotator", "scope")
    rows = filter_given(rows, annotator=annotator, project_id=project_id)
    if state is not None:
        rows = rows.filter(**{state: True})
    return rows


def standing_change_list(*, annotator: str | None = None) -> QuerySet[StandingChange]:
    rows = StandingChange.objects.order_by("-at", "-id")
    if annotator is not None:
        rows = rows.filter(annotator=annotator)
    return rows


def quality_rule_list(*, project_id: UUID | None = None) -> QuerySet[QualityRule]:
    rows = QualityRule.objects.order_by("created_at", "id")
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    return rows


def quality_rule_get(*, rule_id: UUID) -> QualityRule:
    rule = QualityRule.objects.filter(id=rule_id).first()
    if rule is None:
        raise NotFoundError(f"quality rule {rule_id} does not exist")
    return rule


def annotators_daily(*, now: datetime, days: int, project_id: UUID | None = None,
                     annotator: str | None = None, hidden_from: datetime | None = None) -> list[dict]:
    """Every annotator's last `days` days (UTC): answers and mean gold score per day, in one query per table
    (the workforce table's sparklines)."""
    start_day = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    subs = _filtered(SubmissionLog.objects.filter(submitted_at__gte=start_day), annotator=annotator,
                     project_id=project_id)
    gold = _filtered(GoldResult.objects.filter(recorded_at__gte=start_day), annotator=annotator, project_id=project_id)
    if hidden_from is not None:
        gold = gold.filter(recorded_at__lt=hidden_from)
    counts = {(r["annotator"], r["day"]): r["n"] for r in subs.annotate(day=TruncDate("submitted_at"))
              .values("annotator", "day").annotate(n=Count("id"))}
    scores = {(r["annotator"], r["day"]): r["mean"] for r in gold.annotate(day=TruncDate("recorded_at"))
              .values("annotator", "day").annotate(mean=Avg("score"))}
    names = sorted({a for a, _ in counts} | {a for a, _ in scores})
    dates = [(start_day + timedelta(days=offset)).date() for offset in range(days)]
    return [{"annotator": name, "daily": [
        {"date": day.isoformat(), "submissions": counts.get((name, day), 0),
         "gold_mean_score": round(scores[(name, day)], 6) if (name, day) in scores else None} for day in dates]}
        for name in names]


def reviewer_agreement(*, reviewer: str, project_id: UUID | None = None) -> list[dict]:
    """Per project: how many of the reviewer's verdicts a later stage checked, and the share it agreed with."""
    from django.db.models import Count, Q

    from assay_metrics.core.models import ReviewerCheck

    rows = ReviewerCheck.objects.filter(reviewer=reviewer)
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    return [{"project_id": str(r["project_id"]), "checks": r["checks"], "agreed": r["agreed"],
             "agreement": round(r["agreed"] / r["checks"], 6),
             "agreement_interval": _interval(r["agreed"], r["checks"])}
            for r in rows.values("project_id").annotate(checks=Count("id"), agreed=Count("id", filter=Q(agreed=True)))
            .order_by("project_id")]


def _objects_of(answer) -> tuple[str, list[dict]] | None:
    """("bbox" | "polygon", objects) of an object answer with usable geometry; None for anything else."""
    objects = answer.get("objects") if isinstance(answer, dict) else None
    if not isinstance(objects, list):
        return None
    kinds = set()
    for o in objects:
        if not isinstance(o, dict) or not isinstance(o.get("label"), str):
            return None
        box, points = o.get("bbox"), o.get("points")
        if isinstance(box, list) and len(box) == 4 and all(_number(v) for v in box) and box[2] > 0 and box[3] > 0:
            kinds.add("bbox")
        elif isinstance(points, list) and len(points) >= 3 and all(
                isinstance(p, list) and len(p) == 2 and all(_number(v) for v in p) for p in points):
            kinds.add("polygon")
        else:
            return None
    if len(kinds) > 1:
        return None
    return (kinds.pop() if kinds else ""), objects


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def object_agreement(*, project_id: UUID) -> dict:
    """Krippendorff's alpha with the 1 − IoU distance of the project's box or polygon answers (each annotator's
    latest per task), for the project and per annotator (numerics/alpha.py); answers of another shape are left out."""
    latest = (SubmissionLog.objects.filter(project_id=project_id).order_by("task_id", "annotator", "-submitted_at", "-id")
              .distinct("task_id", "annotator").values_list("task_id", "annotator", "answer"))
    answers, kinds = [], {}
    for task, annotator, answer in latest:
        parsed = _objects_of(answer)
        if parsed is None:
            continue
        kind, objects = parsed
        if kind:
            kinds[kind] = kinds.get(kind, 0) + 1
        answers.append((str(task), annotator, objects))
    kind = max(kinds, key=kinds.get) if kinds else None
    if kind is not None:
        answers = [a for a in answers if all(("bbox" if "bbox" in o else "polygon") == kind for o in a[2])]
    got = alpha_with_distance(units=object_units(answers=answers), distance=iou_distance)
    return {"project_id": str(project_id), "answer_type": kind, "distance": "1 - IoU", "alpha": got.alpha,
            "answers": len(answers), "units": got.n_units, "values": got.n_values,
            "annotators": [{"annotator": a, "alpha": alpha, "values": n} for a, (alpha, n) in got.coders.items()]}
