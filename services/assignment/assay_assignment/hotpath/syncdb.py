"""The sync database of the hot path's calls (calls.py), for the DRF views: Django's connection, in the caller's
transaction (the tenant's, opened by the request middleware; or the caller's own `tenant_atomic`).

Its methods are coroutines only in name: none of them awaits, so `calls.run_sync` runs a whole call in one step.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from django.db import IntegrityError, connection

from assay_assignment.core.models import NO_BATCH, TENANT_WIDE, Progress
from assay_assignment.hotpath import submissions
from assay_assignment.hotpath.functions import CONTEXT, NEXT, SUBMIT, NextRow, SubmissionContext, SubmitArgs, SubmitRow

T = TypeVar("T")


def _fetch(query: str, params: list) -> dict[str, Any]:
    """The statement's one row, by column name."""
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchone()))


class SyncDatabase:
    """calls.Database over Django's connection."""

    async def next(self, *, tenant: str, project_id, annotator: str) -> NextRow:
        return NextRow.of(_fetch(NEXT.sync, [tenant, annotator, project_id, Progress.claim_shard(), TENANT_WIDE,
                                             NO_BATCH]))

    async def context(self, *, tenant: str, task_id, submission_id, annotator: str) -> SubmissionContext:
        return SubmissionContext.of(_fetch(CONTEXT.sync, [tenant, task_id, submission_id]))

    async def submit(self, args: SubmitArgs) -> SubmitRow:
        try:
            return SubmitRow.of(_fetch(SUBMIT.sync, list(args)))
        except IntegrityError as exc:
            diagnostics = getattr(exc.__cause__, "diag", None)
            conflict = submissions.submission_id_reused(constraint=getattr(diagnostics, "constraint_name", None))
            if conflict is None:
                raise
            raise conflict from None

    async def blocking(self, func: Callable[..., T], /, **kwargs: Any) -> T:
        return func(**kwargs)


DATABASE = SyncDatabase()
