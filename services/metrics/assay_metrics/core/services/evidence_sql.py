"""The committed evidence of many (annotator, rule) pairs in one query (row-level security scopes it to the tenant).

Each pair is (annotator, the rule's project or None for every project, the standing's `since` or None, the
rule's min_count); rows listed in `excluded` (the run's own, added afterwards in order) are left out.
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence
from uuid import UUID

from django.db import connection

from assay_metrics.numerics.rules import Evidence

_PAIRS = ("FROM unnest(%s::text[], %s::uuid[], %s::timestamptz[], %s::int[]) WITH ORDINALITY "
          "AS q(annotator, project_id, since, lim, i) CROSS JOIN LATERAL ")
_WHERE = ("e.annotator = q.annotator AND (q.project_id IS NULL OR e.project_id = q.project_id) "
          "AND (q.since IS NULL OR e.recorded_at > q.since) AND e.id <> ALL(%s::bigint[])")

_SQL = {
    "gold": f"SELECT a.n, a.total {_PAIRS}(SELECT count(*) AS n, COALESCE(sum(e.score), 0) AS total "
            f"FROM metrics_gold_result e WHERE {_WHERE}) a ORDER BY q.i",
    "consensus": f"SELECT a.n, a.total {_PAIRS}(SELECT count(*) AS n, COALESCE(sum(e.agreement), 0) AS total "
                 f"FROM metrics_consensus_match e WHERE {_WHERE}) a ORDER BY q.i",
    "review": f"SELECT a.n, a.total {_PAIRS}(SELECT count(*) AS n, count(*) FILTER (WHERE e.verdict = 'rejected') "
              f"AS total FROM metrics_review_outcome e WHERE {_WHERE}) a ORDER BY q.i",
    "submission": f"SELECT w.at, w.ids, w.durations {_PAIRS}(SELECT array_agg(r.submitted_at) AS at, "
                  f"array_agg(r.id) AS ids, array_agg(r.duration_ms) AS durations FROM (SELECT e.submitted_at, e.id, "
                  f"e.duration_ms FROM metrics_submission e WHERE {_WHERE} AND e.duration_ms IS NOT NULL "
                  f"ORDER BY e.submitted_at DESC, e.id DESC LIMIT q.lim) r) w ORDER BY q.i",
}


def committed_evidence(*, source: str, pairs: Sequence[tuple[str, UUID | None, datetime | None, int]],
                       excluded: Sequence[int]) -> list[Evidence]:
    """One Evidence per pair, in order: gold (count, sum of scores), consensus (count, sum of agreements),
    review (count, rejections) or submission
    (the latest `min_count` answers with a duration)."""
    params = [[p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs], [p[3] for p in pairs],
              list(excluded)]
    with connection.cursor() as cursor:
        cursor.execute(_SQL[source], params)
        rows = cursor.fetchall()
    if source == "submission":
        return [Evidence(window=lim, recent=list(zip(at or [], ids or [], durations or [])))
                for (at, ids, durations), (_, _, _, lim) in zip(rows, pairs)]
    return [Evidence(count=n, total=float(total)) for n, total in rows]
