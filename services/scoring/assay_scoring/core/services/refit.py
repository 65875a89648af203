"""The periodic refit: fit the project's annotator model on all its answers (gold clamped), keep the
fitted parameters for online consensus, and publish each annotator's skill."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant, tenant_atomic

from assay_scoring.core.models import AnnotatorParams, ProjectSettings, RefitDue, WorkerModel
from assay_scoring.core.selectors import gold_answer_list, project_latest_answers
from assay_scoring.numerics.categorical import (
    categorical_consensus,
    dawid_skene,
    glad,
    mace,
    majority_vote,
    one_coin_dawid_skene,
    weighted_vote,
)
from assay_scoring.numerics.encoding import encode_answers
from assay_scoring.numerics.errors import AnswerValidationError
from assay_scoring.numerics.intervals import rate_interval
from assay_scoring.numerics.skills import Skills, multi_choice_skills, object_skills, span_skills
from assay_scoring.numerics.validation import (
    validate_boxes,
    validate_multi_choice,
    validate_polygons,
    validate_spans,
)

FITTERS = {
    "default": categorical_consensus,
    "majority_vote": majority_vote,
    "weighted_vote": weighted_vote,
    "dawid_skene": dawid_skene,
    "one_coin_dawid_skene": one_coin_dawid_skene,
    "glad": glad,
    "mace": mace,
}
log = logging.getLogger("assay.scoring.refit")
# single choice fits the project's annotator model (kept for online consensus); the others publish skills only
SKILL_TYPES = ("multi_choice", "bbox", "polygon", "text_span")
FITTED_TYPES = ("single_choice", *SKILL_TYPES)
READERS = {"multi_choice": validate_multi_choice, "bbox": validate_boxes, "polygon": validate_polygons,
           "text_span": validate_spans}
MAX_CONFUSION_LABELS = 32
CLAIM_SECONDS = 600


def _one_coin(skill: np.ndarray, k: int) -> np.ndarray:
    off = (1.0 - skill) / max(k - 1, 1)
    cube = np.repeat(off[:, None, None], k, axis=1).repeat(k, axis=2)
    cube[:, np.arange(k), np.arange(k)] = skill[:, None]
    return cube


def skill_interval(*, skill: float, n_answers: int) -> dict:
    """95 % Beta(1, 1) posterior interval of a fitted skill, taking skill × n_answers as the expected
    number of correct answers (the model's evidence, not counted hits)."""
    return rate_interval(successes=skill * n_answers, n=n_answers, method="beta").as_dict()


def _model_choice(result) -> dict:
    """What the default consensus chose from the project's answers, and every candidate's score."""
    if "model" not in result.extra:
        return {}
    return {"model": result.extra["model"], "criterion": "heldout_answer_loglik", "folds": result.extra["folds"],
            "scores": {name: float(v) for name, v in result.extra["heldout_loglik"].items()}}


def project_model_refit(*, project_id: UUID) -> WorkerModel | None:
    """Refit the project's single-choice annotator model; None when there is nothing to fit. Projects of the
    other fitted types only publish their annotators' skills (:func:`project_skills_refit`)."""
    project = ProjectSettings.objects.filter(project_id=project_id).first()
    if project is None or project.answer_type not in FITTED_TYPES:
        return None
    rows = project_latest_answers(project_id=project_id)
    if not rows:
        return None
    if project.answer_type in SKILL_TYPES:
        project_skills_refit(project=project, rows=rows)
        return None
    gold = gold_answer_list(project_id=project_id)
    seen = {r[2]["label"] for r in rows} | {g.answer["label"] for g in gold}
    names = list(project.labels) + sorted(seen - set(project.labels))
    enc = encode_answers(items=[r[0] for r in rows], workers=[r[1] for r in rows],
                         labels=[r[2]["label"] for r in rows], label_names=names)
    gold_items = enc.item_index(names=[str(g.task_id) for g in gold])
    gold_labels = enc.label_index(names=[g.answer["label"] for g in gold])
    keep = (gold_items >= 0) & (gold_labels >= 0)
    method = project.consensus_method
    result = FITTERS[method](items=enc.items, workers=enc.workers, labels=enc.labels, n_items=enc.n_items,
                             n_workers=enc.n_workers, n_classes=enc.n_classes,
                             gold_items=gold_items[keep] if keep.any() else None,
                             gold_labels=gold_labels[keep] if keep.any() else None)
    k = enc.n_classes
    skill = np.clip(np.nan_to_num(np.asarray(result.worker_skill, dtype=float), nan=0.5), 0.0, 1.0)
    confusion = result.worker_confusion if result.worker_confusion is not None else _one_coin(skill, k)
    confusion = np.clip(np.nan_to_num(np.asarray(confusion, dtype=float), nan=1.0 / k), 0.0, 1.0)
    priors = result.class_priors if result.class_priors is not None else result.posteriors.mean(axis=0)
    annotators = [str(w) for w in enc.worker_names]
    tenant = require_tenant()
    per_worker = np.bincount(enc.workers, minlength=enc.n_workers)
    model, _ = WorkerModel.objects.update_or_create(
        tenant_id=tenant, project_id=project_id,
        defaults=dict(method=method, labels=[str(x) for x in enc.label_names],
                      class_priors=np.asarray(priors, dtype=float).tolist(), mean_skill=float(skill.mean()),
                      mean_confusion=confusion.mean(axis=0).tolist(), n_answers=len(rows), n_tasks=enc.n_items,
                      n_gold=int(keep.sum()), model_choice=_model_choice(result)),
    )
    AnnotatorParams.objects.filter(project_id=project_id).delete()
    AnnotatorParams.objects.bulk_create([
        AnnotatorParams(tenant_id=tenant, project_id=project_id, annotator=name, skill=float(skill[w]),
                        confusion=confusion[w].tolist(), n_answers=int(per_worker[w]))
        for w, name in enumerate(annotators)], batch_size=1000)
    events = []
    for w, name in enumerate(annotators):
        payload = {"project_id": str(project_id), "annotator": name, "method": method, "skill": float(skill[w]),
                   "n_answers": int(per_worker[w]), "answer_type": project.answer_type,
                   "skill_interval": skill_interval(skill=float(skill[w]), n_answers=int(per_worker[w]))}
        if k <= MAX_CONFUSION_LABELS:
            payload["confusion"] = confusion[w].tolist()
            payload["labels"] = model.labels
        events.append(Emit(type="annotator.skill_estimated", payload=payload))
    events_emit_many(events=events, tenant=require_tenant())
    return model


def _skills_fit(*, project: ProjectSettings, rows: list[tuple[str, str, object]]) -> Skills:
    read = READERS[project.answer_type]
    items, annotators, answers = [], [], []
    for task, annotator, answer in rows:
        try:
            answers.append(read(answer=answer))
        except AnswerValidationError:  # an answer scoring could not use is left out of the fit too
            continue
        items.append(task)
        annotators.append(annotator)
    if project.answer_type == "multi_choice":
        gold = {}
        for g in gold_answer_list(project_id=project.project_id):
            try:
                gold[str(g.task_id)] = validate_multi_choice(answer=g.answer)
            except AnswerValidationError:
                continue
        return multi_choice_skills(items=items, annotators=annotators, answers=answers, gold=gold)
    if project.answer_type == "text_span":
        return span_skills(items=items, annotators=annotators, spans=answers, quorum=project.quorum)
    return object_skills(items=items, annotators=annotators, objects=answers, kind=project.answer_type,
                         iou_threshold=project.overlap_threshold, quorum=project.quorum)


def project_skills_refit(*, project: ProjectSettings, rows: list[tuple[str, str, object]]) -> Skills:
    """Fit the skills of a multi-choice, object or span project (numerics/skills.py) and publish each
    annotator's as `annotator.skill_estimated` with its Beta interval and the evidence behind it."""
    fit = _skills_fit(project=project, rows=rows)
    events = [Emit(type="annotator.skill_estimated", payload={
        "project_id": str(project.project_id), "annotator": name, "method": fit.method,
        "skill": float(fit.skill[w]), "n_answers": int(fit.n_answers[w]), "answer_type": project.answer_type,
        "skill_interval": fit.interval(w).as_dict(),
        "skill_evidence": {"successes": float(fit.successes[w]), "trials": float(fit.trials[w])},
    }) for w, name in enumerate(fit.annotators)]
    events_emit_many(events=events, tenant=require_tenant())
    return fit


@dataclass(frozen=True)
class DueProject:
    tenant_id: str
    project_id: UUID
    claimed_at: datetime


def refit_claim_due(*, limit: int = 20) -> list[DueProject]:
    """Claim up to `limit` stale projects of any tenant (safe with several workers)."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_refit_due SET claimed_until = %s WHERE id IN ("
            " SELECT id FROM scoring_refit_due WHERE due_since IS NOT NULL"
            " AND (claimed_until IS NULL OR claimed_until < %s) ORDER BY due_since LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING tenant_id, project_id",
            [now + timedelta(seconds=CLAIM_SECONDS), now, limit],
        )
        return [DueProject(tenant_id=t, project_id=p, claimed_at=now) for t, p in cursor.fetchall()]


def refit_release(*, due: DueProject) -> None:
    """Drop the claim; the project stays due only if answers arrived after the claim."""
    RefitDue.objects.filter(tenant_id=due.tenant_id, project_id=due.project_id).update(claimed_until=None)
    RefitDue.objects.filter(tenant_id=due.tenant_id, project_id=due.project_id,
                            changed_at__lte=due.claimed_at).update(due_since=None, last_fit_at=timezone.now())


def projects_refit_due(*, limit: int = 20) -> int:
    """The periodic job: refit every stale project, each in its own tenant transaction. A project
    whose refit fails stays due (its claim expires) and does not stop the others."""
    done = 0
    for due in refit_claim_due(limit=limit):
        try:
            with tenant_atomic(tenant=due.tenant_id):
                project_model_refit(project_id=due.project_id)
        except Exception:  # noqa: BLE001 - logged; retried at the next period after the claim expires
            log.exception("refit of project %s (tenant %s) failed", due.project_id, due.tenant_id)
            continue
        refit_release(due=due)
        done += 1
    return done
