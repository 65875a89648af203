"""Model predictions per task, and the label issues cleanlab finds with them (off the event path).

Predictions are stored all or nothing: one bad line of a bulk upload refuses the whole upload, naming the line
and the field. Label issues are computed on request (`label_issues_compute`), never by the event consumer: the
project's final labels joined to one model's predictions, scored by cleanlab, stored one row per task; the
"model disagrees" rule then queues the worst of them for review ahead of the randomly sampled ones.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence
from uuid import UUID

import numpy as np
from django.db import connection

from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import excluded, insert_sql
from assay_shared.errors import ApplicationError, NotFoundError
from assay_shared.observability.context import current_correlation_id

from assay_review.core.models import FinalLabel, Prediction, ProjectSettings, SamplingPolicy, Submission
from assay_review.core.services.items import Opening, review_items_open
from assay_review.core.services.projects import project_labels_all
from assay_review.numerics.label_errors import (
    box_scores,
    boxes_problems,
    class_scores,
    model_disagrees,
    probabilities_problem,
)

OBJECT_TYPES = ("bbox",)
CHOICE_TYPES = ("single_choice",)


@dataclass(frozen=True)
class PredictionIn:
    task_id: UUID
    model_name: str
    model_version: str
    probabilities: dict[str, float] | None = None
    objects: list[dict[str, Any]] | None = None
    image: dict[str, Any] | None = None


def _project(project_id: UUID) -> ProjectSettings | None:
    return ProjectSettings.objects.filter(project_id=project_id).first()


def _problems(p: PredictionIn, labels: list[str] | None) -> dict[str, str]:
    if (p.probabilities is None) == (p.objects is None):
        return {"probabilities": "give either probabilities (choices) or objects (boxes)"}
    if p.probabilities is not None:
        return probabilities_problem(p.probabilities, labels)
    return boxes_problems(p.objects, p.image, labels)


def predictions_store(*, project_id: UUID, predictions: Sequence[PredictionIn], actor: str, prefix: str = "") -> int:
    """Validate every prediction, then store them all (a later one for the same task and model replaces it).

    Refused, with nothing stored: a label outside the project's schema, probabilities not summing to 1, boxes
    outside the image (400, the field named, prefixed by `prefix` and the line for a bulk upload); a task this
    tenant's project does not have (404, `task_id`).
    """
    tenant = require_tenant()
    project = _project(project_id)
    # a label of any schema version: a prediction for a task of an earlier version may name its labels (ADR 0069)
    labels = project_labels_all(project_id=project_id) if project is not None else None
    errors: dict[str, list[str]] = {}
    for i, p in enumerate(predictions):
        at = f"{prefix}[{i}]." if prefix else ""
        for path, reason in _problems(p, labels).items():
            errors.setdefault(f"{at}{path}", []).append(reason)
    if errors:
        raise ApplicationError("predictions refused: nothing was stored", code="validation_error", fields=errors)
    wanted = {p.task_id for p in predictions}
    known = set(FinalLabel.objects.filter(project_id=project_id, task_id__in=wanted).values_list("task_id", flat=True))
    known |= set(Submission.objects.filter(project_id=project_id, task_id__in=wanted - known)
                 .values_list("task_id", flat=True))
    unknown = [i for i, p in enumerate(predictions) if p.task_id not in known]
    if unknown:
        fields = {(f"{prefix}[{i}].task_id" if prefix else "task_id"): ["no such task in this project"]
                  for i in unknown[:50]}
        raise NotFoundError(f"{len(unknown)} prediction(s) name a task this project does not have", fields=fields)
    latest = {(p.task_id, p.model_name, p.model_version): p for p in predictions}
    rows = [Prediction(tenant_id=tenant, project_id=project_id, task_id=t, model_name=m, model_version=v,
                       probabilities=p.probabilities, boxes=p.objects, image=p.image, created_by=actor)
            for (t, m, v), p in sorted(latest.items(), key=lambda kv: (str(kv[0][0]), kv[0][1], kv[0][2]))]
    for start in range(0, len(rows), 2000):
        sql, params = insert_sql(rows[start:start + 2000])
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ON CONFLICT (tenant_id, task_id, model_name, model_version) DO UPDATE SET "
                           f"{excluded('probabilities', 'boxes', 'image', 'created_by', 'updated_at')}", params)
    return len(rows)


def _choice(answer: Any) -> str | None:
    return answer.get("label") if isinstance(answer, dict) and isinstance(answer.get("label"), str) else None


_LABELS = """
SELECT f.task_id, f.batch_id, f.answer::text, f.answer_type FROM review_final_label f
WHERE f.project_id = %s AND f.answer IS NOT NULL AND (%s::text IS NULL OR f.batch_id = %s::text)
"""
_PREDICTIONS = """
SELECT p.task_id, p.probabilities::text, p.boxes::text FROM review_prediction p
WHERE p.project_id = %s AND p.model_name = %s AND p.model_version = %s
"""

_STORE = """
INSERT INTO review_label_issue (tenant_id, project_id, batch_id, task_id, model_name, model_version, label, predicted,
                                score, is_issue, flagged, computed_at)
SELECT %s::text, %s::uuid, v.batch_id, v.task_id, %s::text, %s::text, v.label, v.predicted, v.score, v.is_issue,
       v.flagged, now()
FROM unnest(%s::text[], %s::uuid[], %s::jsonb[], %s::text[], %s::float8[], %s::bool[], %s::bool[])
  AS v(batch_id, task_id, label, predicted, score, is_issue, flagged)
ON CONFLICT (tenant_id, task_id, model_name, model_version) DO UPDATE SET batch_id = EXCLUDED.batch_id,
  label = EXCLUDED.label, predicted = EXCLUDED.predicted, score = EXCLUDED.score, is_issue = EXCLUDED.is_issue,
  flagged = EXCLUDED.flagged, computed_at = EXCLUDED.computed_at
"""
_STORE_CHUNK = 20_000


def label_issues_compute(*, project_id: UUID, model_name: str, model_version: str, batch_id: str | None = None,
                         threshold: float | None = None, worst_share: float | None = None) -> dict[str, int]:
    """Score the project's (or batch's) final labels against the model's predictions with cleanlab; store the
    scores; with `threshold` or `worst_share` (else the project's policy's model-disagrees rule, if it has one), queue
    the tasks the rule picks for review (reason model_disagrees, ahead of sampled items). Returns the counts: scored,
    issues, flagged, queued, and which rule chose them (`request`, `policy` or `none`).

    One read of the model's predictions and one of the labels, joined here; the scores are stored with one
    statement per 20,000 tasks (arrays, not a row of parameters per task).
    """
    tenant = require_tenant()
    project = _project(project_id)
    with connection.cursor() as cursor:  # two indexed reads joined here: no plan to go wrong on fresh tables
        cursor.execute(_PREDICTIONS, [project_id, model_name, model_version])
        predictions = {r[0]: r[1:] for r in cursor.fetchall()}
        cursor.execute(_LABELS, [project_id, batch_id, batch_id])
        rows = sorted((r + predictions[r[0]] for r in cursor.fetchall() if r[0] in predictions), key=lambda r: r[0])
    if not rows:
        raise NotFoundError(f"no final label of this project has a prediction of {model_name} {model_version}",
                            fields={"model_name": ["no predictions for the project's final labels"]})
    tasks = [r[0] for r in rows]
    answers = [json.loads(r[2]) for r in rows]
    answer_type = (project.answer_type if project is not None else None) or rows[0][3]
    if answer_type in CHOICE_TYPES:
        probabilities = [json.loads(r[4]) if r[4] else {} for r in rows]
        labels = [_choice(a) or "" for a in answers]
        known = project_labels_all(project_id=project_id) if project is not None else []
        classes = known if known else sorted({c for p in probabilities for c in p} | set(labels))
        scored = class_scores(labels=labels, probabilities=probabilities, classes=classes)
        predicted = [max(p, key=p.get) if p else None for p in probabilities]
    elif answer_type in OBJECT_TYPES:
        objects = [(a or {}).get("objects", []) if isinstance(a, dict) else [] for a in answers]
        known = project_labels_all(project_id=project_id) if project is not None else []
        classes = known if known else sorted(
            {o.get("label") for objs in objects for o in objs if isinstance(o, dict)} - {None})
        scored = box_scores(labels=objects, predictions=[json.loads(r[5]) if r[5] else [] for r in rows],
                            classes=classes)
        predicted = [None] * len(rows)
    else:
        raise ApplicationError(f"label issues are found for {', '.join(CHOICE_TYPES + OBJECT_TYPES)} answers, "
                               f"not {answer_type}", code="validation_error",
                               fields={"project_id": [f"answer type {answer_type} is not supported"]})
    rule = "request" if threshold is not None or worst_share is not None else None
    if rule is None:  # the project's stored rule (its sampling policy), if it has one (ADR 0098)
        stored = SamplingPolicy.objects.filter(project_id=project_id).values_list(
            "model_disagrees_threshold", "model_disagrees_worst_share").first()
        if stored is not None and stored != (None, None):
            (threshold, worst_share), rule = stored, "policy"
    chosen = model_disagrees(scored.scores, threshold=threshold, worst_share=worst_share) \
        if rule is not None else np.zeros(len(rows), dtype=bool)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _STORE_CHUNK):
            part = slice(start, start + _STORE_CHUNK)
            cursor.execute(_STORE, [
                tenant, project_id, model_name, model_version, [r[1] for r in rows[part]], tasks[part],
                [r[2] for r in rows[part]], predicted[part], scored.scores[part].tolist(),
                scored.issues[part].tolist(), chosen[part].tolist()])
    flagged = [t for t, c in zip(tasks, chosen) if c]
    queued = _queue(flagged) if flagged else 0
    return {"scored": len(rows), "issues": int(scored.issues.sum()), "flagged": len(flagged), "queued": queued,
            "rule": rule or "none"}


def _queue(tasks: list[UUID]) -> int:
    """Queue one submission of each flagged task (one whose answer is the shipped label, if any) for review."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (s.task_id) s.submission_id FROM review_submission s "
            "LEFT JOIN review_final_label f ON f.task_id = s.task_id "
            "WHERE s.task_id = ANY(%s) ORDER BY s.task_id, (s.answer = f.answer) IS TRUE DESC, s.submission_id",
            [tasks])
        ids = [r[0] for r in cursor.fetchall()]
    correlation = current_correlation_id()
    subs = Submission.objects.filter(submission_id__in=ids)
    return len(review_items_open(openings=[
        Opening(submission=s, reason="model_disagrees", rate=None, correlation_id=correlation, priority=1)
        for s in subs]))
