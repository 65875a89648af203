"""Tasks streaming in: open batches, streamed JSON Lines imports that commit as they go, and the intake of single
tasks or small batches from a customer's pipeline, idempotent by external id (ADR 0090).

Rows are checked and inserted as a file import's are (imports.rows_stage / staged_insert): one set of rules.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from django.db import connection
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError

from assay_assignment.core.models import Batch, Import, Project
from assay_assignment.core.push import work_available_push
from assay_assignment.core.services.imports import _jsonl_rows, _row_check, rows_stage, staged_insert
from assay_assignment.core.services.progress import progress_add, progress_rows_create

MAX_LISTED_REFUSALS = 10_000
INTAKE_MAX_TASKS = 100
MAX_LINE_BYTES = 8 * 1024 * 1024  # a streamed line longer than this is refused unread
TASK_FIELDS = ("url", "metadata", "priority", "gold", "required_skills")


def _project(project_id) -> Project:
    project = Project.objects.filter(id=project_id).first()
    if project is None:
        raise NotFoundError(f"project {project_id} does not exist")
    return project


def _open_batch(*, project: Project, batch_id, field: str = "batch_id") -> Batch:
    """The project's batch `batch_id`, locked, refused unless it is still open."""
    batch = Batch.objects.select_for_update().filter(id=batch_id, project_id=project.id).first()
    if batch is None:
        raise ApplicationError("the batch is not a batch of this project", code="validation_error",
                               fields={field: ["is not a batch of this project"]})
    if batch.state != Batch.OPEN:
        raise ConflictError(f"batch {batch_id} is closed; it takes no more tasks", code="batch_closed",
                            fields={field: ["is closed"]})
    return batch


def batch_open(*, project_id, name: str) -> Batch:
    """A new batch that stays open while tasks stream in (streamed imports, intake) until it is closed; emits
    batch.opened, so that no one takes it for complete before batch.closed."""
    tenant = require_tenant()
    project = _project(project_id)
    batch = Batch.objects.create(tenant_id=tenant, project=project, name=name, state=Batch.OPEN)
    progress_rows_create(tenant=tenant, project_id=project.id, batch_id=batch.id)
    event_emit(type="batch.opened", tenant=tenant,
               payload={"batch_id": str(batch.id), "project_id": str(project.id), "name": name})
    return batch


def batch_close(*, project_id, batch_id) -> Batch:
    """Close an open batch: it takes no more tasks, and `batch.closed` tells review it is complete, so it can be
    acceptance-checked. Closing a closed batch again changes nothing and emits nothing."""
    tenant = require_tenant()
    project = _project(project_id)
    batch = Batch.objects.select_for_update().filter(id=batch_id, project_id=project.id).first()
    if batch is None:
        raise NotFoundError(f"batch {batch_id} of project {project_id} does not exist")
    if batch.state == Batch.CLOSED:
        return batch
    batch.state, batch.closed_at = Batch.CLOSED, timezone.now()
    batch.save(update_fields=["state", "closed_at"])
    event_emit(type="batch.closed", tenant=tenant, payload={
        "batch_id": str(batch.id), "project_id": str(project.id), "task_count": batch.task_count,
        "closed_at": batch.closed_at.isoformat()})
    return batch


# -- streamed imports -----------------------------------------------------------------------------------------------

def import_open(*, project_id, name: str, batch_id=None) -> Import:
    """Start a streamed import: into the open batch `batch_id`, or into a new open batch named `name`."""
    tenant = require_tenant()
    project = _project(project_id)
    if batch_id is None:
        batch = batch_open(project_id=project.id, name=name)
    else:
        batch = _open_batch(project=project, batch_id=batch_id, field="batch")
    return Import.objects.create(tenant_id=tenant, project_id=project.id, batch=batch)


def _ranges_add(ranges: list[list[int]], lines: Iterable[int]) -> list[list[int]]:
    """Line ranges [[first, last], ...] with `lines` (ascending, after every line already in) added."""
    out = [list(r) for r in ranges]
    for line in lines:
        if out and out[-1][1] + 1 == line:
            out[-1][1] = line
        else:
            out.append([line, line])
    return out


def _refusals_add(record: Import, refusals: list[dict]) -> None:
    room = MAX_LISTED_REFUSALS - len(record.refused)
    record.refused = record.refused + refusals[:max(room, 0)]
    record.refused_count += len(refusals)


def import_lines_commit(*, import_id, lines: list[tuple[int, bytes | None]], seen: dict[str, int]) -> Import:
    """One block of a streamed import's lines, (line number, raw line) in order, checked and committed together:
    good rows become tasks of the import's batch, bad ones are refused by line in the import's record. `seen` (the
    stream's external ids so far, by line) lets a repeat within the stream be refused naming its first line."""
    tenant = require_tenant()
    record = Import.objects.select_for_update().select_related("batch").get(id=import_id)
    if record.state != Import.RUNNING:
        raise ConflictError(f"import {import_id} has ended", code="import_ended")
    if not lines:
        return record
    batch = Batch.objects.select_for_update().get(id=record.batch_id)
    errors: list[dict] = []
    if batch.state != Batch.OPEN:
        errors = [{"line": n, "field": "", "reason": "the batch was closed before this line arrived"} for n, _ in lines]
        inserted: dict[int, bool] = {}
        staged_lines: list[int] = []
    else:
        project = Project.objects.get(id=record.project_id)
        rows = _jsonl_rows_numbered(lines)
        staged = rows_stage(rows, errors=errors, seen=seen)
        inserted = staged_insert(tenant=tenant, project=project, batch_id=batch.id, staged=staged)
        staged_lines = staged.lines
        regular = sum(1 for gold in inserted.values() if not gold)
        if inserted:
            batch.task_count += len(inserted)
            batch.save(update_fields=["task_count"])
            progress_add(project_id=project.id, batch_id=batch.id, tasks=len(inserted),
                         queued=regular * project.overlap)
        if regular:
            work_available_push(tenant=tenant, project_id=project.id)
    record.lines = lines[-1][0]
    record.imported += len(inserted)
    record.duplicates += len(staged_lines) - len(inserted)
    record.committed = _ranges_add(record.committed, staged_lines)
    _refusals_add(record, sorted(errors, key=lambda e: e["line"]))
    record.save(update_fields=["lines", "imported", "duplicates", "committed", "refused", "refused_count"])
    return record


def _jsonl_rows_numbered(lines: list[tuple[int, bytes | None]]):
    """_jsonl_rows over lines that carry their own numbers (a stream's block starts anywhere); None stands for a
    line too long to be held."""
    for number, raw in lines:
        if raw is None:
            yield number, None, f"is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"
            continue
        for _, row, text in _jsonl_rows([raw]):
            yield number, row, text


def import_finish(*, import_id, broken: bool, cut_line: int | None = None) -> Import:
    """End a streamed import: finished (the body ended) or broken (the connection did). A line cut by the break is
    refused by number. Emits batch.imported with what this import added."""
    tenant = require_tenant()
    record = Import.objects.select_for_update().get(id=import_id)
    if record.state != Import.RUNNING:
        return record
    if cut_line is not None:
        _refusals_add(record, [{"line": cut_line, "field": "",
                                "reason": "incomplete: the connection broke before the line ended"}])
    record.state = Import.BROKEN if broken else Import.FINISHED
    record.finished_at = timezone.now()
    record.save(update_fields=["state", "finished_at", "refused", "refused_count"])
    event_emit(type="batch.imported", tenant=tenant, payload={
        "batch_id": str(record.batch_id), "project_id": str(record.project_id), "task_count": record.imported,
        "closed": False})
    return record


def import_list(*, project_id, batch_id=None):
    _project(project_id)
    found = Import.objects.filter(project_id=project_id).order_by("-started_at", "-id")
    return found.filter(batch_id=batch_id) if batch_id is not None else found


def import_get(*, project_id, import_id) -> Import:
    record = Import.objects.select_related("batch").filter(id=import_id, project_id=project_id).first()
    if record is None:
        raise NotFoundError(f"import {import_id} of project {project_id} does not exist")
    return record


# -- intake: single tasks or small batches, idempotent by external id -----------------------------------------------

@dataclass
class Intake:
    task_id: str
    external_id: str
    batch_id: str | None
    created: bool


def _intake_row(index: int, item) -> tuple[dict, list[dict]]:
    if not isinstance(item, dict):
        return {}, [{"line": index, "field": "", "reason": "must be a JSON object"}]
    errors: list[dict] = []
    if item.get("external_id") is None:
        errors.append({"line": index, "field": "external_id", "reason": "is required: it makes a retry harmless"})
    checked = _row_check(item, index, errors)
    if errors:
        return {}, errors
    external_id, priority, gold, skills = checked
    return {"external_id": external_id, "url": item["url"], "metadata": item.get("metadata", {}),
            "priority": priority, "gold": gold, "required_skills": skills}, []


def tasks_intake(*, project_id, tasks: list, batch_id=None) -> list[Intake]:
    """Take tasks from a customer's pipeline (1 to 100), each with an external id. A task the project already has
    under that external id is answered as it is (created: false), not duplicated; the same external id with other
    data is refused (409) naming the field. All or nothing: one refused task refuses the call. Each new task emits
    task.created; waiting annotators are woken at once."""
    tenant = require_tenant()
    project = _project(project_id)
    if not isinstance(tasks, list) or not 1 <= len(tasks) <= INTAKE_MAX_TASKS:
        raise ApplicationError("send 1 to 100 tasks", code="validation_error",
                               fields={"tasks": [f"must be a list of 1 to {INTAKE_MAX_TASKS} tasks"]})
    batch = _open_batch(project=project, batch_id=batch_id) if batch_id is not None else None
    wanted, errors, seen = [], [], {}
    for index, item in enumerate(tasks):
        row, problems = _intake_row(index, item)
        errors += problems
        if row:
            if row["external_id"] in seen:
                errors.append({"line": index, "field": "external_id",
                               "reason": f"repeats the external_id of tasks[{seen[row['external_id']]}]"})
                continue
            seen[row["external_id"]] = index
            wanted.append({**row, "index": index})
    if errors:
        raise ApplicationError(f"{len(errors)} problem(s) in the tasks; nothing was taken", code="validation_error",
                               fields={f"tasks[{e['line']}]{'.' + e['field'] if e['field'] else ''}": [e["reason"]]
                                       for e in errors})
    batch_key = str(batch.id) if batch else None
    ids = [r["external_id"] for r in wanted]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO assignment_task (id, tenant_id, project_id, batch_id, external_id, data, priority,"
            " schema_version, is_gold, required_skills, overlap, free_slots, answered, created_at)"
            " SELECT gen_random_uuid(), %s, %s, %s, r->>'external_id',"
            " jsonb_build_object('url', r->'url', 'metadata', r->'metadata'), (r->>'priority')::int, %s,"
            " (r->>'gold')::bool, ARRAY(SELECT jsonb_array_elements_text(r->'required_skills'))::varchar(64)[],"
            " %s, CASE WHEN (r->>'gold')::bool THEN 0 ELSE %s END, 0, now()"
            " FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x(r, n) ORDER BY n"
            " ON CONFLICT (tenant_id, project_id, external_id) DO NOTHING RETURNING external_id",
            [tenant, project.id, batch_key, project.schema_version, project.overlap, project.overlap,
             json.dumps(wanted)])
        created = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT external_id, id, batch_id, data, priority, is_gold, required_skills"
                       " FROM assignment_task WHERE project_id = %s AND external_id = ANY(%s)", [project.id, ids])
        found = {row[0]: row[1:] for row in cursor.fetchall()}
    out = []
    for index, row in enumerate(wanted):
        task_id, task_batch, data, priority, gold, skills = found[row["external_id"]]
        data = data if isinstance(data, dict) else json.loads(data)
        if row["external_id"] not in created:
            have = {"url": data.get("url"), "metadata": data.get("metadata", {}), "priority": priority,
                    "gold": gold, "required_skills": sorted(skills)}
            differ = [name for name in TASK_FIELDS if have[name] != row[name]]
            if batch is not None and str(task_batch) != batch_key:
                differ.append("batch_id")
            if differ:
                raise ConflictError(
                    f"the project already has a task with external_id {row['external_id']!r} and other data;"
                    " nothing was taken", code="external_id_conflict",
                    fields={f"tasks[{row['index']}].{name}":
                            ["differs from the task already taken under this external_id"] for name in differ})
        out.append(Intake(task_id=str(task_id), external_id=row["external_id"],
                          batch_id=str(task_batch) if task_batch else None,
                          created=row["external_id"] in created))
    fresh = [(r, o) for r, o in zip(wanted, out) if o.created]
    if fresh:
        regular = [r for r, _ in fresh if not r["gold"]]
        if batch is not None:
            batch.task_count += len(fresh)
            batch.save(update_fields=["task_count"])
        progress_add(project_id=project.id, batch_id=batch.id if batch else None, tasks=len(fresh),
                     queued=len(regular) * project.overlap)
        for row, result in fresh:
            event_emit(type="task.created", tenant=tenant, payload={
                "task_id": result.task_id, "project_id": str(project.id), "batch_id": result.batch_id,
                "external_id": row["external_id"], "priority": row["priority"]})
        if regular:
            work_available_push(tenant=tenant, project_id=project.id)
    return out

