"""Qualification exams as assignment runs them: a project's `exam_size` gold answers before regular work.

Assignment serves an unqualified annotator exactly `exam_size` gold tasks and then waits for `annotator.qualified`.
Nobody may wait on that forever (ADR 0099):
- a qualification rule that could need more answers than a project's exam is refused when saved
  (`exam_problems`, called by the rules API);
- an exam that ends without a verdict (no rule covers the project, a fixed rule's mark was missed, or the exam was
  shortened after the rule was saved) ends in manual qualification: the standing shows `exam_failed` and
  `annotator.qualification_failed` says `next: manual` (`exams_close`, after each run of gold results).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
from uuid import UUID

from django.db.models import Q

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant

from assay_metrics.core.models import GoldResult, ProjectExam, QualityRule, StandingChange
from assay_metrics.core.services.evaluation import ALL, NewRow, standings_lock


@dataclass(frozen=True)
class ExamIn:
    project_id: UUID
    exam_size: int


def project_exams_record(*, exams: Sequence[ExamIn]) -> None:
    """Keep each project's exam length (the run's last configuration of a project wins)."""
    tenant = require_tenant()
    last = {e.project_id: e.exam_size for e in exams}
    ProjectExam.objects.bulk_create(
        [ProjectExam(tenant_id=tenant, project_id=p, exam_size=size) for p, size in last.items()],
        update_conflicts=True, unique_fields=["tenant_id", "project_id"], update_fields=["exam_size", "updated_at"])


def exam_problems(*, kind: str, project_id: UUID | None, sequential: bool, min_count: int | None,
                  max_count: int | None) -> dict[str, str]:
    """Why a qualification rule could leave someone waiting: it may need more gold answers than an exam it covers
    serves (a project's own exam, or every project's for a tenant-wide rule)."""
    if kind != QualityRule.QUALIFICATION:
        return {}
    exams = ProjectExam.objects.filter(exam_size__gt=0)
    if project_id is not None:
        exams = exams.filter(project_id=project_id)
    shortest = exams.order_by("exam_size", "project_id").first()
    if shortest is None:
        return {}
    field, needed = ("max_count", max_count) if sequential else ("min_count", min_count)
    if needed is None or needed <= shortest.exam_size:
        return {}
    return {field: f"at most {shortest.exam_size}: project {shortest.project_id}'s exam serves "
                   f"{shortest.exam_size} gold answers, and an annotator still undecided after them would wait forever"}


def exams_close(*, rows: Sequence[NewRow]) -> int:
    """End, in manual qualification, the exams of the run's annotators that reached their project's length without a
    verdict. Returns how many ended so."""
    if not rows:
        return 0
    tenant = require_tenant()
    sizes = dict(ProjectExam.objects.filter(project_id__in={r.project_id for r in rows}, exam_size__gt=0)
                 .values_list("project_id", "exam_size"))
    correlation = {(r.annotator, r.project_id): r.correlation_id for r in rows if r.project_id in sizes}
    pairs = sorted(correlation, key=str)
    if not pairs:
        return 0
    standings = standings_lock({(a, key) for a, p in pairs for key in (str(p), ALL)}, tenant=tenant)
    ended = []
    for annotator, project_id in pairs:
        own, wide = standings[(annotator, str(project_id))], standings[(annotator, ALL)]
        if own.qualified or wide.qualified or own.exam_failed:
            continue
        starts = [s for s in (own.exam_since, wide.exam_since) if s is not None]
        answers = GoldResult.objects.filter(annotator=annotator, project_id=project_id)
        if starts:
            answers = answers.filter(recorded_at__gt=max(starts))
        count = answers.count()
        if count >= sizes[project_id]:
            ended.append((own, count, sizes[project_id], _rules_covering(project_id)))
    if not ended:
        return 0
    for own, _, _, _ in ended:
        own.exam_failed = True
        own.save(update_fields=["exam_failed", "updated_at"])
    reasons = {own.annotator: _reason(count, size, rules) for own, count, size, rules in ended}
    StandingChange.objects.bulk_create([StandingChange(
        tenant_id=tenant, annotator=own.annotator, project_id=own.project_id, change="qualification_failed",
        rule=QualityRule.QUALIFICATION, rule_id=None, reason=reasons[own.annotator], value=None, threshold=None,
        count=count, actor="system") for own, count, _, _ in ended])
    events_emit_many(tenant=tenant, events=[Emit(
        type="annotator.qualification_failed", correlation_id=correlation[(own.annotator, own.project_id)], payload={
        "annotator": own.annotator, "project_id": str(own.project_id), "rule": QualityRule.QUALIFICATION,
        "reason": reasons[own.annotator], "value": None, "threshold": None, "count": count, "rule_id": None,
        "actor": "system", "next": "manual", "retake_at": None}) for own, count, _, _ in ended])
    return len(ended)


def _rules_covering(project_id: UUID) -> int:
    return QualityRule.objects.filter(Q(project_id=project_id) | Q(project_id__isnull=True),
                                      kind=QualityRule.QUALIFICATION, enabled=True).count()


def _reason(count: int, size: int, rules: int) -> str:
    why = "no qualification rule covers the project" if not rules else "no qualification rule reached a verdict"
    return f"exam of {size} gold answers ended after {count} without a verdict ({why}); awaiting manual qualification"
