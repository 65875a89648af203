"""Tasks: one at a time, or a whole file (JSON Lines or CSV) through COPY into a staging table."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from django.db import connection

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, NotFoundError
from assay_shared.parsing import first_problem, json_check, json_parse

from assay_assignment.core.models import Batch, Project
from assay_assignment.core.push import work_available_push
from assay_assignment.core.services import media
from assay_assignment.core.services.progress import progress_add, progress_rows_create

MAX_LISTED_ERRORS = 100_000
IMPORT_MAX_BYTES = 256 * 1024 * 1024  # a file larger than this is refused with 413 before it is read
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A value for COPY's text format."""
    return value.translate(_COPY_ESCAPES)


def _copy_array(values: list[str]) -> str:
    if not values:
        return "{}"
    return _copy_text("{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}")
ROW_KEYS = {"external_id", "url", "metadata", "priority", "gold", "required_skills"}


@dataclass
class ImportResult:
    batch: Batch
    imported: int
    duplicates: int
    errors: list[dict] = field(default_factory=list)
    rejected_rows: int = 0


def _row_check(row: dict, line: int, errors: list[dict]) -> tuple | None:
    """(external_id, priority, gold, skills) of a good row; None after listing its problems in `errors`."""
    bad = len(errors)
    if not row.keys() <= ROW_KEYS:
        for key in sorted(set(row) - ROW_KEYS):
            errors.append({"line": line, "field": key, "reason": "is not a task field"})
    external_id = row.get("external_id")
    if external_id is not None and (not isinstance(external_id, str) or not 0 < len(external_id) <= 200):
        errors.append({"line": line, "field": "external_id", "reason": "must be a string of 1-200 characters"})
    url = row.get("url")
    if not isinstance(url, str) or len(url) > 2048 or not URI_RE.match(url):
        errors.append({"line": line, "field": "url", "reason": "is required: a URL or URI with a scheme (https://, s3://, ...)"})
    elif problem := media.reference_problem(url):
        errors.append({"line": line, "field": "url", "reason": problem})
    metadata = row.get("metadata", {})
    if not isinstance(metadata, dict):
        errors.append({"line": line, "field": "metadata", "reason": "must be an object"})
    priority = row.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not -1_000_000 <= priority <= 1_000_000:
        errors.append({"line": line, "field": "priority", "reason": "must be an integer between -1000000 and 1000000"})
    gold = row.get("gold", False)
    if not isinstance(gold, bool):
        errors.append({"line": line, "field": "gold", "reason": "must be true or false"})
    skills = row.get("required_skills", ())
    if skills and (not isinstance(skills, list) or not all(isinstance(s, str) and 0 < len(s) <= 64 for s in skills)):
        errors.append({"line": line, "field": "required_skills", "reason": "must be a list of skill names (1-64 characters)"})
    if len(errors) > bad:
        return None
    return external_id, priority, gold, sorted(set(skills))


def _jsonl_rows(lines: Iterable[bytes]) -> Iterator[tuple[int, dict | None, str]]:
    """(line number, row, the row's JSON text) — or (line number, None, the reason) for a bad line."""
    for number, raw in enumerate(lines, start=1):
        try:
            text = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).strip()
        except UnicodeDecodeError:
            yield number, None, "is not UTF-8 text"
            continue
        if not text:
            continue
        try:
            row = json_parse(text, field="")
        except ApplicationError as exc:  # not JSON, nested too deep, or text Postgres cannot store
            yield number, None, first_problem(exc)
            continue
        if not isinstance(row, dict):
            yield number, None, "must be a JSON object"
            continue
        yield number, row, text


def _csv_rows(lines: Iterable[bytes]) -> Iterator[tuple[int, dict | None, str]]:
    text = io.TextIOWrapper(io.BufferedReader(_LineStream(lines)), encoding="utf-8", newline="")
    reader = csv.DictReader(text)
    if not reader.fieldnames or "url" not in reader.fieldnames:
        yield 1, None, "the header row must name the columns and include url"
        return
    for record in reader:
        line = reader.line_num
        if None in record:
            yield line, None, "has more values than the header has columns"
            continue
        row: dict = {"metadata": {}}
        try:
            for key, value in record.items():
                if key == "external_id":
                    row["external_id"] = value or None
                elif key == "url":
                    row["url"] = value
                elif key == "priority":
                    row["priority"] = int(value) if value.strip() else 0
                elif key == "gold":
                    if value.strip().lower() not in ("", "true", "false", "1", "0"):
                        raise ValueError("gold must be true or false")
                    row["gold"] = value.strip().lower() in ("true", "1")
                elif key == "required_skills":
                    row["required_skills"] = [s for s in value.split(";") if s]
                else:
                    row["metadata"][key] = value
        except ValueError as exc:
            yield line, None, f"has a malformed value: {exc}"
            continue
        if row.get("external_id") is None:
            row.pop("external_id", None)
        try:
            json_check(row, field="")
        except ApplicationError as exc:
            yield line, None, first_problem(exc)
            continue
        yield line, row, json.dumps(row)


class _LineStream(io.RawIOBase):
    def __init__(self, lines: Iterable[bytes]) -> None:
        self._it, self._buf = iter(lines), b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buf))
        target[:n], self._buf = self._buf[:n], self._buf[n:]
        return n


def batch_import(*, project_id, name: str, lines: Iterable[bytes], file_format: str,
                 skip_invalid: bool = False) -> ImportResult:
    """Import a file of tasks as a new batch. Bad rows refuse the whole file unless skip_invalid.

    Rows whose external_id the project already has are not imported again (counted as duplicates).
    """
    tenant = require_tenant()
    project = Project.objects.filter(id=project_id).first()
    if project is None:
        raise NotFoundError(f"project {project_id} does not exist")
    rows = _jsonl_rows(lines) if file_format == "jsonl" else _csv_rows(lines)
    errors: list[dict] = []
    batch = Batch.objects.create(tenant_id=tenant, project=project, name=name)
    staged = rows_stage(rows, errors=errors, seen={})
    if staged.total == 0:
        raise ApplicationError("the file holds no tasks", code="validation_error", fields={"file": ["is empty"]})
    if errors and not skip_invalid:
        raise ApplicationError(
            f"the file was refused: {len(errors)} bad row(s); nothing was imported",
            code="invalid_rows",
            fields={f"lines[{e['line']}]{'.' + e['field'] if e['field'] else ''}": [e["reason"]]
                    for e in errors[:MAX_LISTED_ERRORS]},
        )
    inserted = staged_insert(tenant=tenant, project=project, batch_id=batch.id, staged=staged)
    imported = len(inserted)
    regular = sum(1 for gold in inserted.values() if not gold)
    batch.task_count = imported
    batch.save(update_fields=["task_count"])
    progress_rows_create(tenant=tenant, project_id=project.id, batch_id=batch.id)
    progress_add(project_id=project.id, batch_id=batch.id, tasks=imported, queued=regular * project.overlap)
    event_emit(type="batch.imported", tenant=tenant,
               payload={"batch_id": str(batch.id), "project_id": str(project.id), "task_count": imported,
                        "closed": True})
    if regular:
        work_available_push(tenant=tenant, project_id=project.id)
    return ImportResult(batch=batch, imported=imported, duplicates=len(staged.lines) - imported, errors=errors,
                        rejected_rows=len({e["line"] for e in errors}))


@dataclass
class Staged:
    """Rows copied into this transaction's staging table: how many lines came, and the lines staged."""

    total: int = 0
    first_line: int = 0
    last_line: int = 0
    lines: list[int] = field(default_factory=list)


def rows_stage(rows: Iterable[tuple[int, dict | None, str]], *, errors: list[dict], seen: dict[str, int]) -> Staged:
    """Check each row and COPY the good ones into the transaction's staging table; bad ones are listed in `errors`.

    `seen` maps the external ids met so far to their line: a repeat is refused naming the first line."""
    pg = connection.connection
    pg.execute("CREATE TEMP TABLE IF NOT EXISTS assignment_import_stage (line int, external_id text, raw jsonb,"
               " priority int, is_gold bool, skills varchar(64)[]) ON COMMIT DROP")
    pg.execute("TRUNCATE assignment_import_stage")
    staged = Staged()
    block: list[str] = []
    with pg.cursor() as cursor:
        with cursor.copy("COPY assignment_import_stage (line, external_id, raw, priority, is_gold, skills)"
                         " FROM STDIN") as copy:
            for line, row, text in rows:
                staged.total += 1
                staged.first_line = staged.first_line or line
                staged.last_line = line
                if row is None:
                    errors.append({"line": line, "field": "", "reason": text})
                    continue
                checked = _row_check(row, line, errors)
                if checked is None:
                    continue
                external_id, priority, gold, skills = checked
                if external_id is not None:
                    first = seen.setdefault(external_id, line)
                    if first != line:
                        errors.append({"line": line, "field": "external_id",
                                       "reason": f"repeats the external_id of line {first}"})
                        continue
                    external_id = _copy_text(external_id)
                staged.lines.append(line)
                block.append(f"{line}\t{external_id if external_id is not None else chr(92) + 'N'}\t"
                             f"{_copy_text(text)}\t{priority}\t{'t' if gold else 'f'}\t{_copy_array(skills)}\n")
                if len(block) >= 5000:
                    copy.write("".join(block))
                    block.clear()
            if block:
                copy.write("".join(block))
    return staged


def staged_insert(*, tenant: str, project: Project, batch_id, staged: Staged) -> dict[int, bool]:
    """The staged rows as tasks of the batch (an external id the project has is skipped): {line: is_gold} of those
    inserted. Lines keep the file's order in the queue within a priority."""
    if not staged.lines:
        return {}
    span = staged.last_line - staged.first_line + 1
    with connection.cursor() as cursor:
        # the file's order is the queue order within a priority: take a block of sequence numbers for its lines
        cursor.execute("SELECT setval('assignment_task_seq', nextval('assignment_task_seq') + %s)", [span])
        base = cursor.fetchone()[0] - span - staged.first_line + 1
        cursor.execute(
            "INSERT INTO assignment_task (id, seq, tenant_id, project_id, batch_id, external_id, data, priority,"
            " schema_version, is_gold, required_skills, overlap, free_slots, answered, created_at)"
            " SELECT gen_random_uuid(), %s + line, %s, %s, %s, external_id,"
            " jsonb_build_object('url', raw->'url', 'metadata', coalesce(raw->'metadata', '{}'::jsonb)),"
            " priority, %s, is_gold, skills, %s, CASE WHEN is_gold THEN 0 ELSE %s END, 0, now()"
            " FROM assignment_import_stage"
            " ON CONFLICT (tenant_id, project_id, external_id) DO NOTHING RETURNING seq - %s, is_gold",
            [base, tenant, project.id, batch_id, project.schema_version, project.overlap, project.overlap, base],
        )
        inserted = dict(cursor.fetchall())
    if len(inserted) >= 1000:
        with connection.cursor() as cursor:
            cursor.execute("SELECT assignment_task_analyze()")
    return inserted


def task_create(*, project_id, url: str, metadata: dict | None = None, external_id: str | None = None,
                priority: int = 0, gold: bool = False, required_skills: list[str] | None = None,
                batch_id=None) -> dict:
    """One task; emits task.created."""
    tenant = require_tenant()
    project = Project.objects.filter(id=project_id).first()
    if project is None:
        raise NotFoundError(f"project {project_id} does not exist")
    if batch_id is not None and not Batch.objects.filter(id=batch_id, project_id=project.id).exists():
        raise ApplicationError("the batch is not a batch of this project", code="validation_error",
                               fields={"batch_id": ["is not a batch of this project"]})
    task_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO assignment_task (id, tenant_id, project_id, batch_id, external_id, data, priority,"
            " schema_version, is_gold, required_skills, overlap, free_slots, answered, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, now())"
            " ON CONFLICT (tenant_id, project_id, external_id) DO NOTHING RETURNING id",
            [task_id, tenant, project.id, batch_id, external_id, json.dumps({"url": url, "metadata": metadata or {}}),
             priority, project.schema_version, gold, sorted(set(required_skills or [])), project.overlap,
             0 if gold else project.overlap],
        )
        if cursor.fetchone() is None:
            raise ApplicationError(f"the project already has a task with external_id {external_id!r}",
                                   code="duplicate_external_id", status_code=409,
                                   fields={"external_id": ["is already used in this project"]})
    if not gold:
        progress_add(project_id=project.id, batch_id=batch_id, tasks=1, queued=project.overlap)
        work_available_push(tenant=tenant, project_id=project.id)
    else:
        progress_add(project_id=project.id, batch_id=batch_id, tasks=1)
    payload = {"task_id": str(task_id), "project_id": str(project.id),
               "batch_id": str(batch_id) if batch_id else None, "external_id": external_id, "priority": priority}
    event_emit(type="task.created", tenant=tenant, payload=payload)
    return {"id": task_id, **payload}
