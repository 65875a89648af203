"""What other services tell assignment: annotator status, consensus and review outcomes, gold results."""
from __future__ import annotations

from datetime import date

from django.db import connection
from django.utils import timezone

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import NotFoundError

from assay_assignment.core.models import TENANT_WIDE, AnnotatorStatus, Project
from assay_assignment.core.push import annotator_feedback_push
from assay_assignment.core.services.progress import progress_add
from assay_assignment.core.services.queue import lease_release, task_slots_add


def _status_row(*, annotator: str, project_id) -> AnnotatorStatus:
    row, _ = AnnotatorStatus.objects.select_for_update().get_or_create(
        tenant_id=require_tenant(), annotator=annotator, project_id=project_id or TENANT_WIDE)
    return row


def annotator_suspend(*, annotator: str, project_id=None) -> int:
    """Suspend (in one project, or everywhere); their open leases go back to the queue. Returns how many."""
    row = _status_row(annotator=annotator, project_id=project_id)
    row.suspended = True
    row.save(update_fields=["suspended", "updated_at"])

    with connection.cursor() as cursor:
        sql = "SELECT task_id FROM assignment_assignment WHERE annotator = %s AND state = 'leased'"
        cursor.execute(sql + (" AND project_id = %s" if project_id else ""), [annotator, *([project_id] if project_id else [])])
        held = [r[0] for r in cursor.fetchall()]
    for task_id in held:
        lease_release(task_id=task_id, annotator=annotator)
    return len(held)


def annotator_reinstate(*, annotator: str, project_id=None) -> None:
    row = _status_row(annotator=annotator, project_id=project_id)
    row.suspended = False
    row.save(update_fields=["suspended", "updated_at"])


def annotator_qualify(*, annotator: str, project_id=None) -> None:
    """Open regular work in the project (or, tenant-wide, in every project) to the annotator."""
    if project_id is None:
        AnnotatorStatus.objects.filter(annotator=annotator).update(qualified=True)
    row = _status_row(annotator=annotator, project_id=project_id)
    row.qualified = True
    row.save(update_fields=["qualified", "updated_at"])


def annotator_skills_set(*, annotator: str, skills: list[str]) -> list[str]:
    row = _status_row(annotator=annotator, project_id=None)
    row.skills = sorted(set(skills))
    row.save(update_fields=["skills", "updated_at"])
    return row.skills


def _task_place(task_id) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT project_id, batch_id FROM assignment_task WHERE id = %s", [task_id])
        return cursor.fetchone()


def task_consensus_record(*, task_id) -> None:
    place = _task_place(task_id)
    if place is None:
        raise NotFoundError(f"task {task_id} does not exist")
    progress_add(project_id=place[0], batch_id=place[1], consensus=1)


def task_disputed(*, task_id) -> int:
    """Dynamic overlap: one more answer wanted, up to the project's max_overlap."""
    return task_slots_add(task_id=task_id, count=1)


def review_outcome_record(*, task_id, submission_id, annotator: str, verdict: str, review_id: str) -> None:
    """Accepted: counted. Rejected: the answer stops counting and the task goes back for relabelling."""
    place = _task_place(task_id)
    if place is None:
        raise NotFoundError(f"task {task_id} does not exist")
    if verdict == "accepted":
        progress_add(project_id=place[0], batch_id=place[1], accepted=1)
    elif verdict == "rejected":
        with connection.cursor() as cursor:
            cursor.execute("UPDATE assignment_submission SET rejected = true WHERE id = %s AND NOT rejected RETURNING id",
                           [submission_id])
            newly = cursor.fetchone() is not None
        if newly:
            task_slots_add(task_id=task_id, count=1, beyond_max=True)
    annotator_feedback_push(tenant=require_tenant(), annotator=annotator, feedback={
        "kind": "review", "review_id": review_id, "task_id": str(task_id), "submission_id": str(submission_id),
        "verdict": verdict})


def _gold_day_close(row: AnnotatorStatus, today: date) -> None:
    if row.gold_day is not None and row.gold_day < today and row.gold_pending:
        row.gold_scored += row.gold_pending
        row.gold_score_sum += row.gold_pending_score
        row.gold_pending, row.gold_pending_score = 0, 0.0


def gold_result_record(*, project_id, annotator: str, submission_id, task_id, score: float, passed: bool,
                       error_counts: dict, today: date | None = None) -> dict | None:
    """Feedback on a gold answer. In training mode the annotator hears about that very task at once and the
    feedback is returned. Otherwise the result is only held, by UTC day (see gold_feedback_flush)."""
    project = Project.objects.filter(id=project_id).only("training_mode").first()
    if project is None:
        raise NotFoundError(f"project {project_id} does not exist")
    if project.training_mode:
        feedback = {"kind": "score", "task_id": str(task_id), "submission_id": str(submission_id),
                    "score": score, "passed": passed, "error_counts": error_counts}
        annotator_feedback_push(tenant=require_tenant(), annotator=annotator, feedback=feedback)
        return feedback
    today = today or timezone.now().date()
    row = _status_row(annotator=annotator, project_id=project_id)
    _gold_day_close(row, today)
    row.gold_day = today
    row.gold_pending += 1
    row.gold_pending_score += score
    row.save()
    return None


def gold_feedback_flush(*, project_id, annotator: str, today: date | None = None) -> dict | None:
    """Push the totals of the annotator's gold results of days before today, if there are new ones.

    Called when the annotator asks for work, never when a result arrives: the push's timing then says nothing
    about which of their tasks were gold."""
    row = _status_row(annotator=annotator, project_id=project_id)
    _gold_day_close(row, today or timezone.now().date())
    if row.gold_scored <= row.gold_reported:
        row.save()
        return None
    row.gold_reported = row.gold_scored
    row.save()
    feedback = {"kind": "quality", "project_id": str(project_id), "gold_scored": row.gold_scored,
                "mean_score": round(row.gold_score_sum / row.gold_scored, 4)}
    annotator_feedback_push(tenant=require_tenant(), annotator=annotator, feedback=feedback)
    return feedback
