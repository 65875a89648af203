"""Gold results and review outcomes of a run: one insert each (new rows only), then the rules they feed."""
from __future__ import annotations

from typing import Sequence
from uuid import UUID

from assay_shared.db.tenancy import require_tenant
from assay_shared.db.turns import tenant_turn_take
from assay_shared.db.upserts import insert_or_nothing

from assay_metrics.core.models import GoldResult, ReviewOutcome
from assay_metrics.core.services.evaluation import NewRow, standings_evaluate
from assay_metrics.core.services.exams import exams_close
from assay_metrics.core.services.inputs import GoldIn, ReviewIn


def annotator_gold_record(*, results: Sequence[GoldIn]) -> list[UUID]:
    """Record the gold results not recorded yet (by submission); evaluate the gold rules on them, then end in manual
    qualification the exams that reached their length without a verdict. Returns the new ones."""
    tenant = require_tenant()
    first: dict[UUID, GoldIn] = {}
    for r in results:
        first.setdefault(r.submission_id, r)
    if not first:
        return []
    tenant_turn_take()
    created = {row.submission_id: row for row in insert_or_nothing([GoldResult(
        tenant_id=tenant, submission_id=r.submission_id, project_id=r.project_id, annotator=r.annotator, score=r.score,
        passed=r.passed) for r in first.values()], conflict=("tenant_id", "submission_id"))}
    rows = [NewRow(annotator=r.annotator, project_id=r.project_id, row_id=created[key].id,
                   recorded_at=created[key].recorded_at, correlation_id=r.correlation_id, value=r.score)
            for key, r in first.items() if key in created]
    standings_evaluate(source="gold", rows=rows)
    exams_close(rows=rows)
    return [key for key in first if key in created]


def annotator_reviews_record(*, outcomes: Sequence[ReviewIn]) -> list[UUID]:
    """Record the review outcomes not recorded yet (by review); evaluate the rejection rules. Returns the new ones."""
    tenant = require_tenant()
    first: dict[UUID, ReviewIn] = {}
    for o in outcomes:
        first.setdefault(o.review_id, o)
    if not first:
        return []
    tenant_turn_take()
    created = {row.review_id: row for row in insert_or_nothing([ReviewOutcome(
        tenant_id=tenant, review_id=o.review_id, submission_id=o.submission_id, project_id=o.project_id,
        annotator=o.annotator, reviewer=o.reviewer, verdict=o.verdict) for o in first.values()],
        conflict=("tenant_id", "review_id"))}
    standings_evaluate(source="review", rows=[
        NewRow(annotator=o.annotator, project_id=o.project_id, row_id=created[key].id,
               recorded_at=created[key].recorded_at, correlation_id=o.correlation_id,
               value=1.0 if o.verdict == "rejected" else 0.0)
        for key, o in first.items() if key in created])
    return [key for key in first if key in created]
