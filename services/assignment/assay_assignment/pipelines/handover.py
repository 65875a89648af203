"""A finished task handed over along a pipeline's edges: the consumer's side (ADR 0094).

`pipeline_events_apply` takes a run of `label.finalized`, `task.completed` and `review.completed` events: one
lookup finds the edges leaving their projects (most runs have none and stop there), one the source tasks, one the
answers; then each event, under its own correlation id, goes along each of its edges. A hand-over row per (edge,
source task) is claimed first, so a redelivered or replayed event, or a later change of the same final label, finds
it and creates nothing again; the new task is made by the core intake (`tasks_intake`), idempotent by an external id
derived from the pipeline, the edge and the source task (for a fan-in stage: the pipeline, the stage and the join
value), in a savepoint, so an intake that refuses marks the hand-over failed and leaves the rest of the run applied.
"""
from __future__ import annotations

import hashlib
import json

from django.db import connection, transaction

from assay_shared.bus.payload import payload_uuid
from assay_shared.bus.processor import PermanentError
from assay_shared.errors import ApplicationError
from assay_shared.events.envelope import Envelope
from assay_shared.observability.context import correlation_scope

from assay_assignment.core.models import Submission, Task
from assay_assignment.core.services.intake import tasks_intake
from assay_assignment.pipelines import expressions as ex
from assay_assignment.pipelines.models import Edge, Handover, Join


def _finished_of(events: list[Envelope]) -> list[tuple[Envelope, str, str, str | None]]:
    """(event, project id, task id, submission id whose answer it is) of each event."""
    out = []
    for event in events:
        p = event.payload
        submission = None
        if event.type == "task.completed":
            submission = str(payload_uuid(event, p["submission_ids"][0], "submission_ids[0]"))
        elif event.type == "review.completed":
            submission = str(payload_uuid(event, p["submission_id"], "submission_id"))
        out.append((event, str(payload_uuid(event, p["project_id"], "project_id")),
                    str(payload_uuid(event, p["task_id"], "task_id")), submission))
    return out


def pipeline_events_apply(*, events: list[Envelope]) -> None:
    events = [e for e in events if e.type in Edge.TRIGGERS]
    if not events:
        return
    finished = _finished_of(events)
    edges = list(Edge.objects.filter(source_project_id__in={f[1] for f in finished},
                                     trigger__in={e.type for e in events})
                 .select_related("target").order_by("pipeline_id", "position"))
    if not edges:
        return
    by_source: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        by_source.setdefault((str(edge.source_project_id), edge.trigger), []).append(edge)
    parents: dict[int, list[Edge]] = {}
    for edge in Edge.objects.filter(target_id__in={e.target_id for e in edges}).order_by("position"):
        parents.setdefault(edge.target_id, []).append(edge)
    wanted = [f for f in finished if (f[1], f[0].type) in by_source]
    tasks = {str(t["id"]): t for t in Task.objects.filter(id__in={f[2] for f in wanted})
             .values("id", "project_id", "external_id", "data", "is_gold")}
    answers = {str(s["id"]): s["answer"] for s in Submission.objects.filter(
        id__in={f[3] for f in wanted if f[3]}).values("id", "answer")}
    for event, project_id, task_id, submission in wanted:
        task = tasks.get(task_id)
        if task is None or str(task["project_id"]) != project_id:
            raise PermanentError(f"{event.type} {event.id}: task {task_id} is not a task of project {project_id}")
        if task["is_gold"]:
            continue  # gold is never handed on
        p = event.payload
        if event.type == "label.finalized":
            answer = p["answer"]
        elif event.type == "review.completed" and p["verdict"] == "corrected" and p.get("corrected_answer") is not None:
            answer = p["corrected_answer"]
        else:
            answer = answers.get(submission)
        source = ex.Finished(task_id=task_id, external_id=task["external_id"], data=task["data"], answer=answer,
                             verdict=p.get("verdict"))
        with correlation_scope(event.correlation_id):
            for edge in by_source[(project_id, event.type)]:
                _edge_apply(edge=edge, parents=parents[edge.target_id], source=source)


def _claim(*, edge: Edge, source: ex.Finished, outcome: str, data=None, join_value=None, reason="") -> bool:
    """Record what the edge does with the source task; False when it already handed it over (or waits with it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO assignment_pipeline_handover (tenant_id, pipeline_id, edge_id, source_task_id, outcome,"
            " join_value, data, reason, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, now())"
            " ON CONFLICT (edge_id, source_task_id) DO UPDATE SET outcome = EXCLUDED.outcome,"
            " join_value = EXCLUDED.join_value, data = EXCLUDED.data, reason = EXCLUDED.reason"
            " WHERE assignment_pipeline_handover.outcome IN ('skipped', 'failed') RETURNING id",
            [edge.tenant_id, edge.pipeline_id, edge.id, source.task_id, outcome, join_value,
             json.dumps(data) if data is not None else None, reason])
        return cursor.fetchone() is not None


def _settle(*, edge_ids: list, source_task_id: str | None, join_value: str | None, outcome: str,
            target_task_id: str | None = None, reason: str = "") -> None:
    rows = Handover.objects.filter(edge_id__in=edge_ids)
    rows = rows.filter(source_task_id=source_task_id) if source_task_id else rows.filter(
        join_value=join_value, outcome=Handover.WAITING)
    rows.update(outcome=outcome, target_task_id=target_task_id, reason=reason)


def _intake(*, stage, external_id: str, data: dict) -> tuple[str | None, str]:
    """(the new task's id, "") or (None, why the intake refused it: a closed batch, a URL that is no media)."""
    try:
        with transaction.atomic():
            [taken] = tasks_intake(project_id=stage.project_id, batch_id=stage.batch_id, tasks=[
                {"external_id": external_id, "url": data["url"], "metadata": data["metadata"]}])
        return taken.task_id, ""
    except ApplicationError as exc:
        return None, f"{exc.message} {json.dumps(exc.fields, sort_keys=True) if exc.fields else ''}".strip()


def _edge_apply(*, edge: Edge, parents: list[Edge], source: ex.Finished) -> None:
    if not ex.condition_holds(edge.condition, answer=source.answer, verdict=source.verdict):
        _claim(edge=edge, source=source, outcome=Handover.SKIPPED)
        return
    try:
        data = ex.template_render(edge.template, source)
        join_value = ex.join_value(edge.target.join, source) if len(parents) > 1 else None
    except ex.RenderError as exc:
        _claim(edge=edge, source=source, outcome=Handover.FAILED, reason=str(exc))
        return
    if join_value is None:
        if not _claim(edge=edge, source=source, outcome=Handover.WAITING, data=data):
            return
        task_id, reason = _intake(stage=edge.target, data=data,
                                  external_id=f"pipeline:{edge.pipeline_id}:{edge.id}:{source.task_id}")
        _settle(edge_ids=[edge.id], source_task_id=source.task_id, join_value=None, target_task_id=task_id,
                outcome=Handover.CREATED if task_id else Handover.FAILED, reason=reason)
        return
    if not _claim(edge=edge, source=source, outcome=Handover.WAITING, data=data, join_value=join_value):
        return
    _join(edge=edge, parents=parents, join_value=join_value)


def _join(*, edge: Edge, parents: list[Edge], join_value: str) -> None:
    """The fan-in stage's task for this join value, once every parent edge has handed over a task with it: the
    join row is locked first, so of two parents applied at once the second sees the first."""
    key_hash = hashlib.sha256(join_value.encode()).hexdigest()
    Join.objects.bulk_create([Join(tenant_id=edge.tenant_id, stage_id=edge.target_id, key_hash=key_hash,
                                   join_value=join_value)], ignore_conflicts=True)
    join = Join.objects.select_for_update().get(stage_id=edge.target_id, key_hash=key_hash)
    edge_ids = [e.id for e in parents]
    if join.target_task_id is not None:
        _settle(edge_ids=edge_ids, source_task_id=None, join_value=join_value, outcome=Handover.CREATED,
                target_task_id=str(join.target_task_id))
        return
    arrived = {h.edge_id: h.data for h in Handover.objects.filter(
        edge_id__in=edge_ids, join_value=join_value, outcome=Handover.WAITING).order_by("id")}
    if len(arrived) < len(parents):
        return
    shares = [arrived[e.id] for e in parents]
    data = {"url": next((s["url"] for s in shares if s.get("url")), shares[0]["url"]),
            "metadata": {k: v for s in shares for k, v in s["metadata"].items()}}
    task_id, reason = _intake(stage=edge.target, data=data,
                              external_id=f"pipeline:{edge.pipeline_id}:{edge.target_id}:{key_hash[:40]}")
    if task_id:
        join.target_task_id = task_id
        join.save(update_fields=["target_task_id"])
    _settle(edge_ids=edge_ids, source_task_id=None, join_value=join_value, target_task_id=task_id,
            outcome=Handover.CREATED if task_id else Handover.FAILED, reason=reason)
