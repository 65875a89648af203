"""Reads of the assignment service (row-level security scopes them to the caller's tenant)."""
from __future__ import annotations

import json

from django.db import connection
from django.db.models import QuerySet

from assay_shared.errors import NotFoundError

from assay_assignment.core.models import NO_BATCH, Batch, LabelSchema, Project
from assay_assignment.core.services.progress import COLUMNS


def project_get(*, project_id) -> Project:
    project = Project.objects.filter(id=project_id).first()
    if project is None:
        raise NotFoundError(f"project {project_id} does not exist")
    return project


def project_list() -> QuerySet[Project]:
    return Project.objects.order_by("created_at", "id")


def schema_list(*, project_id) -> QuerySet[LabelSchema]:
    project_get(project_id=project_id)
    return LabelSchema.objects.filter(project_id=project_id).order_by("version")


def schema_get(*, project_id, version: int) -> LabelSchema:
    found = LabelSchema.objects.filter(project_id=project_id, version=version).first()
    if found is None:
        raise NotFoundError(f"schema version {version} of project {project_id} does not exist")
    return found


def batch_list(*, project_id) -> QuerySet[Batch]:
    project_get(project_id=project_id)
    return Batch.objects.filter(project_id=project_id).order_by("created_at", "id")


def progress_get(*, project_id) -> dict:
    """Counters per batch and for the whole project, summed over the shards (a handful of rows per batch)."""
    project_get(project_id=project_id)
    sums = ", ".join(f"sum({c})::bigint" for c in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT batch_id, {sums} FROM assignment_progress WHERE project_id = %s GROUP BY batch_id"
                       " ORDER BY batch_id", [project_id])
        rows = cursor.fetchall()
    batches = [{"batch_id": None if r[0] == NO_BATCH else str(r[0]), **dict(zip(COLUMNS, r[1:]))} for r in rows]
    total = {c: sum(b[c] for b in batches) for c in COLUMNS}
    return {"project_id": str(project_id), **total, "batches": batches}


def task_get(*, task_id) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, project_id, batch_id, external_id, data, priority, schema_version, is_gold,"
                       " required_skills, overlap, free_slots, answered, created_at FROM assignment_task WHERE id = %s",
                       [task_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    keys = ("id", "project_id", "batch_id", "external_id", "data", "priority", "schema_version", "gold",
            "required_skills", "overlap", "free_slots", "answered", "created_at")
    return dict(zip(keys, row))


def leases_open_list(*, project_id, annotator: str | None = None) -> list[dict]:
    """Open leases (held, not yet expired or returned) per annotator."""
    project_get(project_id=project_id)
    sql = ("SELECT annotator, task_id, leased_at, expires_at, expires_at < now() FROM assignment_assignment"
           " WHERE project_id = %s AND state = 'leased'")
    params: list = [project_id]
    if annotator is not None:
        sql += " AND annotator = %s"
        params.append(annotator)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY annotator, leased_at", params)
        rows = cursor.fetchall()
    return [{"annotator": r[0], "task_id": str(r[1]), "leased_at": r[2], "expires_at": r[3], "expired": r[4]}
            for r in rows]


def task_answers_get(*, task_id) -> dict:
    """A task's data, its schema version's answer type and labels, and every answer given to it (oldest first)."""
    task = task_get(task_id=task_id)
    schema = schema_get(project_id=task["project_id"], version=task["schema_version"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, annotator, answer, duration_ms, submitted_at FROM assignment_submission"
                       " WHERE task_id = %s ORDER BY submitted_at, id", [task_id])
        rows = cursor.fetchall()
    answers = [dict(zip(("submission_id", "annotator", "answer", "duration_ms", "submitted_at"), row)) for row in rows]
    for item in answers:
        if isinstance(item["answer"], str):
            item["answer"] = json.loads(item["answer"])
    definition = schema.definition
    data = json.loads(task["data"]) if isinstance(task["data"], str) else task["data"]
    return {"task_id": task["id"], "project_id": task["project_id"], "external_id": task["external_id"],
            "data": data, "schema_version": task["schema_version"],
            "answer_type": definition.get("answer_type", ""),
            "labels": [label["name"] for label in definition.get("labels") or []], "submissions": answers}
