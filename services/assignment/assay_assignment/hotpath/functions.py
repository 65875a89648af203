"""The hot path's SQL functions as Python sees them: how each is called, and its result as a typed record.

Each function in sql/hot_path.sql has one statement text here, with psycopg placeholders for the sync caller
(`%s`) and asyncpg placeholders for the async one (`$n`), and one record whose fields are the function's OUT
columns without their `o_` prefix. A record is built in one place, `of(row)`, by column name from whatever the
driver returned (an asyncpg Record, or a psycopg row with its cursor's column names), never by position; a test
checks that each record's fields are the function's columns (tests/test_hot_path_sql.py).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping, NamedTuple
from uuid import UUID


def _numbered(query: str) -> str:
    """psycopg's %s placeholders as asyncpg's $1, $2, …"""
    counter = iter(range(1, 1000))
    return re.sub(r"%s", lambda _: f"${next(counter)}", query)


def _columns(record: type) -> tuple[str, ...]:
    return tuple(f"o_{name}" for name in record._fields)


def _of(record, row: Mapping[str, Any]):
    return record._make([row[column] for column in record.COLUMNS])


class NextRow(NamedTuple):
    """assignment_next (and each row of assignment_next_many): the outcome of one next-task request.

    outcome: task | none | not_found | suspended | missing_skills | lease_cap | awaiting_qualification; detail: the
    missing skills or the open leases; news: gold feedback is due. With a task come what its submission will need
    (batch, gold, external id, overlap), never sent to the client; claimed: a slot went from queued to leased."""

    outcome: str
    detail: str | None
    task: UUID | None
    data: Any
    version: int | None
    expires: datetime | None
    news: bool
    batch: UUID | None
    gold: bool | None
    external: str | None
    overlap: int | None
    claimed: bool

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "NextRow":
        return _of(cls, row)


class SubmissionContext(NamedTuple):
    """assignment_submission_context: what an answer is checked against, and a previous submission with its id."""

    exists: bool
    project: UUID | None
    batch: UUID | None
    version: int | None
    gold: bool | None
    external: str | None
    overlap: int | None
    prev_task: UUID | None
    prev_annotator: str | None
    prev_at: datetime | None
    now: datetime | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "SubmissionContext":
        return _of(cls, row)

    @classmethod
    def handed_out(cls, row: NextRow, *, project_id) -> "SubmissionContext":
        """The context of a task just handed out, from its next-task row (no previous submission: a submission id
        that was used before is recognised by assignment_submit itself; `now` is filled in when it is used)."""
        return cls(True, project_id, row.batch, row.version, row.gold, row.external, row.overlap, None, None, None,
                   None)


class SubmitRow(NamedTuple):
    """assignment_submit (and each row of assignment_submit_many).

    outcome: submitted | replay (prev_* say which answer holds the submission id) | already_answered |
    task_skipped | lease_expired; counted: a regular task's slot was answered (queued: it was a free slot, taken by
    a late answer); done: the task has all its answers."""

    outcome: str
    submitted_at: datetime | None
    completed: list[UUID] | None
    prev_task: UUID | None
    prev_annotator: str | None
    counted: bool | None
    done: bool | None
    queued: bool | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "SubmitRow":
        return _of(cls, row)


class SubmitArgs(NamedTuple):
    """assignment_submit's arguments (p_progress aside), in its order; assignment_submit_many takes them as columns."""

    tenant: str
    annotator: str
    task: UUID
    submission: UUID
    project: UUID
    batch: UUID | None
    version: int
    answer: str  # JSON text
    duration: int
    shard: int
    no_batch: UUID
    event: str  # the annotation.submitted envelope as JSON text
    notify: bool


for _record in (NextRow, SubmissionContext, SubmitRow):
    _record.COLUMNS = _columns(_record)


class Statement(NamedTuple):
    sync: str  # psycopg placeholders
    aio: str  # asyncpg placeholders


def _statement(query: str) -> Statement:
    return Statement(sync=query, aio=_numbered(query))


# One round trip each; `true`: the function counts progress itself (the batch functions count it once at the end).
NEXT = _statement("SELECT * FROM assignment_next(%s::varchar, %s::varchar, %s::uuid, %s::smallint, %s::uuid,"
                  " %s::uuid, true)")
CONTEXT = _statement("SELECT * FROM assignment_submission_context(%s::varchar, %s::uuid, %s::uuid)")
SUBMIT = _statement("SELECT * FROM assignment_submit(%s::varchar, %s::varchar, %s::uuid, %s::uuid, %s::uuid,"
                    " %s::uuid, %s::integer, %s::jsonb, %s::integer, %s::smallint, %s::uuid, %s::jsonb, %s::boolean,"
                    " true)")
# The batch functions (ADR 0058), async only: a row per request, o_index its 1-based position.
NEXT_MANY = _statement("SELECT * FROM assignment_next_many(%s::varchar, %s::varchar[], %s::uuid, %s::smallint,"
                       " %s::uuid, %s::uuid)")
SUBMIT_MANY = _statement("SELECT * FROM assignment_submit_many(%s::varchar, %s::varchar[], %s::uuid[], %s::uuid[],"
                         " %s::uuid[], %s::uuid[], %s::integer[], %s::jsonb[], %s::integer[], %s::smallint, %s::uuid,"
                         " %s::jsonb[], %s::boolean)")

SUBMISSION_PKEY = "assignment_submission_pkey"
