"""Final labels: for every task the label that ships, with its provenance, announced by label.finalized.

The label that ships is the last review stage's correction (or, for a disputed task, the answer a final verdict
accepted), else the accepted consensus (consensus.reached). A disputed consensus clears a consensus label (the
task waits for review); a review label is never replaced by a later consensus. `version` counts the changes of
the shipped label; each change is announced once by label.finalized (ADR 0072): the consumer's inbox keeps a
redelivered event from applying twice, and a replayed or older revision changes nothing. The schema version is
the newest of the task's answers, else the project's current one (project.configured).
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from django.db import connection

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant
from assay_shared.observability.context import current_correlation_id

from assay_review.core.models import FinalLabel, ReviewItem, Submission

REVIEWED = ("correction", "review")
_COLUMNS = ("task_id", "project_id", "batch_id", "answer", "source", "method", "confidence", "revision", "reviewer",
            "review_id", "schema_version", "version")

_UPSERT = f"""
WITH v AS (
  SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::jsonb[], %s::text[], %s::float8[], %s::float8[],
                       %s::int[], %s::jsonb[], %s::text[])
    AS v(task_id, project_id, batch_id, consensus_answer, method, confidence, agreement, revision, annotators,
         answer_type)
),
old AS (SELECT task_id, version FROM review_final_label WHERE task_id IN (SELECT task_id FROM v)),
up AS (
  INSERT INTO review_final_label (tenant_id, task_id, project_id, batch_id, answer, source, answer_type,
      consensus_answer, consensus_status, method, confidence, agreement, revision, annotators, reviewer, review_id,
      schema_version, version, updated_at)
  SELECT %s::text, v.task_id, v.project_id, v.batch_id, CASE WHEN %s = 'reached' THEN v.consensus_answer END,
      'consensus', v.answer_type, v.consensus_answer, %s::text, v.method, v.confidence, v.agreement, v.revision,
      v.annotators, NULL, NULL,
      COALESCE((SELECT max(s.schema_version) FROM review_submission s WHERE s.task_id = v.task_id),
               (SELECT p.schema_version FROM review_project_settings p WHERE p.project_id = v.project_id)),
      CASE WHEN %s = 'reached' AND v.consensus_answer IS NOT NULL THEN 1 ELSE 0 END, now()
  FROM v ORDER BY v.task_id
  ON CONFLICT (tenant_id, task_id) DO UPDATE SET
      consensus_answer = EXCLUDED.consensus_answer, consensus_status = EXCLUDED.consensus_status,
      method = EXCLUDED.method, confidence = EXCLUDED.confidence, agreement = EXCLUDED.agreement,
      revision = EXCLUDED.revision, annotators = EXCLUDED.annotators, answer_type = EXCLUDED.answer_type,
      batch_id = COALESCE(review_final_label.batch_id, EXCLUDED.batch_id),
      schema_version = CASE WHEN review_final_label.source IN ('correction', 'review')
                            THEN review_final_label.schema_version
                            ELSE COALESCE(EXCLUDED.schema_version, review_final_label.schema_version) END,
      answer = CASE WHEN review_final_label.source IN ('correction', 'review') THEN review_final_label.answer
                    ELSE EXCLUDED.answer END,
      version = review_final_label.version + CASE
          WHEN review_final_label.source NOT IN ('correction', 'review') AND EXCLUDED.answer IS NOT NULL
               AND EXCLUDED.answer IS DISTINCT FROM review_final_label.answer THEN 1 ELSE 0 END,
      updated_at = now()
  WHERE EXCLUDED.revision >= review_final_label.revision
  RETURNING {", ".join(_COLUMNS)}
)
SELECT {", ".join(f"up.{c}" for c in _COLUMNS)}, up.version > COALESCE(old.version, 0) AS changed
FROM up LEFT JOIN old USING (task_id)
"""


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    payload = {k: row[k] for k in ("answer", "source", "method", "confidence", "revision", "reviewer",
                                   "schema_version", "version", "batch_id")}
    payload.update(task_id=str(row["task_id"]), project_id=str(row["project_id"]),
                   review_id=str(row["review_id"]) if row["review_id"] else None)
    return payload


def final_labels_from_consensus(*, consensuses: Sequence, status: str) -> int:
    """Apply a run of consensus events (`status` reached or disputed) to the tasks' final labels: one upsert,
    one outbox insert for the labels that changed. Returns how many changed."""
    tenant = require_tenant()
    latest: dict = {}
    for c in consensuses:  # one row per task: the highest revision of the run (the last of equal ones)
        if c.task_id not in latest or c.revision >= latest[c.task_id].revision:
            latest[c.task_id] = c
    if not latest:
        return 0
    rows = [latest[k] for k in sorted(latest, key=str)]
    params = [
        [c.task_id for c in rows], [c.project_id for c in rows], [c.batch_id for c in rows],
        [None if c.answer is None else json.dumps(c.answer) for c in rows], [c.method for c in rows],
        [c.confidence for c in rows], [c.agreement for c in rows], [c.revision for c in rows],
        [json.dumps(sorted(set(c.annotators))) for c in rows], [c.answer_type for c in rows],
        tenant, status, status, status,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, params)
        names = [d.name for d in cursor.description]
        changed = [dict(zip(names, r)) for r in cursor.fetchall()]
    changed = [r for r in changed if r["changed"]]
    for r in changed:  # a raw cursor gives jsonb as its text (Django's JSONField decodes it itself)
        if isinstance(r["answer"], str):
            r["answer"] = json.loads(r["answer"])
    correlation = {c.task_id: c.correlation_id for c in rows}
    events_emit_many(tenant=tenant, events=[
        Emit(type="label.finalized", payload=_payload(r), correlation_id=correlation.get(r["task_id"]))
        for r in changed])
    return len(changed)


def final_label_from_review(*, item: ReviewItem, disputed: bool) -> FinalLabel | None:
    """A final verdict: a correction ships; an accepted answer of a disputed task (`disputed`: the item came to
    review as a dispute, or the task's latest consensus is disputed) ships; an accepted item of a task with a
    consensus label adds the reviewer to its provenance; anything else changes nothing here (a rejection sends the
    task back for relabelling, and an item accepted before its task's consensus leaves the label to it).
    Returns the label if it changed."""
    tenant = require_tenant()
    label = FinalLabel.objects.select_for_update().filter(task_id=item.task_id).first()
    disputed = disputed or (label is not None and label.consensus_status == "disputed")
    if item.verdict == "corrected":
        answer, source = item.corrected_answer, "correction"
    elif item.verdict == "accepted" and disputed:
        submission = Submission.objects.filter(submission_id=item.submission_id).first()
        if submission is None or submission.answer is None:
            return None
        answer, source = submission.answer, "review"
    elif item.verdict == "accepted" and label is not None and label.answer is not None:
        label.reviewer, label.review_id = item.reviewer, item.id
        label.save(update_fields=["reviewer", "review_id", "updated_at"])
        return None
    else:
        return None
    if label is None:
        schema_version = (Submission.objects.filter(task_id=item.task_id).exclude(schema_version=None)
                          .order_by("-schema_version").values_list("schema_version", flat=True).first())
        label = FinalLabel(tenant_id=tenant, task_id=item.task_id, project_id=item.project_id, batch_id=item.batch_id,
                           schema_version=schema_version)
    elif label.answer == answer and label.source == source:
        label.reviewer, label.review_id = item.reviewer, item.id
        label.save(update_fields=["reviewer", "review_id", "updated_at"])
        return None
    label.answer, label.source, label.reviewer, label.review_id = answer, source, item.reviewer, item.id
    label.version += 1
    label.save()
    row = {c: getattr(label, c) for c in _COLUMNS}
    events_emit_many(tenant=tenant, events=[Emit(type="label.finalized", payload=_payload(row),
                                                 correlation_id=current_correlation_id())])
    return label
