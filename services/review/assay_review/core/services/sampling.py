"""Deciding, per submission, whether a human reviews it; and the gold results that feed the rules.

The consumer hands a run of events at once, so each function takes the whole run and writes it with one
statement per table (ADR 0038, ADR 0063): one read of the run's policies; one statement that upserts the
submissions (claiming each one: a submission already decided is left alone) and counts the claimed ones on
the annotators' profiles, returning the counts the draws need; one insert of the decisions; for the sampled
ones one insert of review items and one of their review.requested.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence
from uuid import UUID

from django.db import connection

from assay_shared.bus.consumer import PermanentError
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.turns import tenant_turn_take
from assay_shared.db.upserts import excluded, insert_sql

from assay_review.core.models import AnnotatorProfile, SamplingDecision, Submission
from assay_review.core.services.items import Opening, review_items_open
from assay_review.numerics.sampling import (
    DEFAULT_POLICY,
    DEFAULT_POLICY_DETAIL,
    DEFAULT_POLICY_RULE,
    AnnotatorHistory,
    Policy,
    answer_labels,
    draw,
    effective_rate,
)
from assay_review.numerics.stages import stages_from

BATCH_ID_MAX = 128

# A submission first known from a consensus event is completed by its annotation.submitted.
_SUBMISSION_FROM_EVENT = ("task_id", "project_id", "batch_id", "annotator", "answer", "labels", "submitted_at", "source",
                          "schema_version")


@dataclass(frozen=True)
class SubmissionIn:
    submission_id: UUID
    task_id: UUID
    project_id: UUID
    annotator: str
    answer: Any
    submitted_at: datetime
    batch_id: str | None
    correlation_id: str
    schema_version: int | None = None


@dataclass(frozen=True)
class GoldScoreIn:
    project_id: UUID
    annotator: str
    score: float


_POLICY_FIELDS = ("base_rate", "class_rates", "annotator_rates", "new_annotator_submissions", "new_annotator_rate",
                  "low_gold_threshold", "low_gold_min_count", "low_gold_rate", "flagged_rate")


def _policies(project_ids: set[UUID]) -> tuple[dict[UUID, Policy], dict]:
    """The run's sampling policies and review stages, in one read."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x.project_id, p.id, {', '.join(f'p.{f}' for f in _POLICY_FIELDS)}, w.stages "
            f"FROM unnest(%s::uuid[]) AS x(project_id) "
            f"LEFT JOIN review_sampling_policy p ON p.project_id = x.project_id "
            f"LEFT JOIN review_workflow w ON w.project_id = x.project_id", [sorted(project_ids)])
        rows = cursor.fetchall()
    policies, stages = {}, {}
    for project_id, policy_id, *values, raw_stages in rows:
        if policy_id is not None:
            policies[project_id] = Policy(**{f: (json.loads(v) if isinstance(v, str) and f.endswith("_rates") else v)
                                             for f, v in zip(_POLICY_FIELDS, values)})
        stages[project_id] = stages_from(json.loads(raw_stages) if isinstance(raw_stages, str) else raw_stages)
    return policies, stages


def _claim_and_count(rows: list[Submission], *, tenant: str) -> tuple[set[UUID], dict[tuple[UUID, str], tuple[int, int, float]]]:
    """Upsert the submissions and count the newly decided ones on their profiles, in one statement.

    A row stored by an earlier annotation.submitted is not updated (`WHERE source <> 'submitted'`), so only the
    submissions decided here come back: a concurrent consumer inserting the same one waits for this
    transaction and then finds it claimed. The profiles are counted in (project, annotator) order and stay
    locked until commit. Returns the claimed ids and, per profile, (submissions, gold_count, gold_score_sum)
    after the count.
    """
    sub_sql, sub_params = insert_sql(sorted(rows, key=lambda r: r.submission_id))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH sub AS ({sub_sql} ON CONFLICT (tenant_id, submission_id) DO UPDATE SET "
            f"{excluded(*_SUBMISSION_FROM_EVENT)} WHERE review_submission.source <> 'submitted' "
            f"RETURNING submission_id, project_id, annotator), "
            f"counted AS (INSERT INTO review_annotator_profile "
            f"(tenant_id, project_id, annotator, submissions, gold_count, gold_score_sum) "
            f"SELECT %s::text, project_id, annotator, count(*), 0, 0 FROM sub GROUP BY project_id, annotator "
            f"ORDER BY project_id, annotator COLLATE \"C\" "
            f"ON CONFLICT (tenant_id, project_id, annotator) DO UPDATE SET "
            f"submissions = review_annotator_profile.submissions + EXCLUDED.submissions "
            f"RETURNING project_id, annotator, submissions, gold_count, gold_score_sum) "
            f"SELECT submission_id, NULL::uuid, NULL, NULL::bigint, NULL::bigint, NULL::float8 FROM sub "
            f"UNION ALL SELECT NULL::uuid, project_id, annotator, submissions, gold_count, gold_score_sum FROM counted",
            sub_params + [tenant])
        result = cursor.fetchall()
    claimed = {row[0] for row in result if row[0] is not None}
    profiles = {(row[1], row[2]): (row[3], row[4], row[5]) for row in result if row[0] is None}
    return claimed, profiles


def submissions_sample(*, submissions: Sequence[SubmissionIn]) -> list[SamplingDecision]:
    """Record the sampling decision of each submission, once: a replay returns the first decision.

    Returns one decision per submission given, in order. The draw is fixed by project and submission (ADR 0030);
    the history it is weighed against is the profile's count before this submission, as if the run's
    submissions had been applied one by one.
    """
    tenant = require_tenant()
    for s in submissions:
        if s.batch_id is not None and len(s.batch_id) > BATCH_ID_MAX:
            raise PermanentError(f"submission {s.submission_id}: batch_id is longer than {BATCH_ID_MAX} characters")
    first: dict[UUID, SubmissionIn] = {}
    for s in submissions:  # the same submission twice in a run: the second is a replay of the first
        first.setdefault(s.submission_id, s)
    if not first:
        return []
    tenant_turn_take()
    policies, stages = _policies({s.project_id for s in first.values()})
    rows = {key: Submission(tenant_id=tenant, submission_id=key, task_id=s.task_id, project_id=s.project_id,
                            batch_id=s.batch_id, annotator=s.annotator, answer=s.answer, labels=answer_labels(s.answer),
                            submitted_at=s.submitted_at, source="submitted",
                            schema_version=s.schema_version) for key, s in first.items()}
    claimed, profiles = _claim_and_count(list(rows.values()), tenant=tenant)
    # the i-th claimed submission of a profile (in event order) saw the count before the run plus i
    claimed_per_profile = Counter((first[key].project_id, first[key].annotator) for key in claimed)
    before = {profile: profiles[profile][0] - n for profile, n in claimed_per_profile.items()}
    decisions: dict[UUID, SamplingDecision] = {}
    openings: list[Opening] = []
    flagged = _flagged({(first[key].project_id, first[key].annotator) for key in claimed
                        if (policy := policies.get(first[key].project_id)) is not None and policy.flagged_rate})
    for key, s in first.items():
        if key not in claimed:
            continue
        profile = (s.project_id, s.annotator)
        _, gold_count, gold_score_sum = profiles[profile]
        history = AnnotatorHistory(submissions_before=before[profile], gold_count=gold_count,
                                   gold_mean_score=(gold_score_sum / gold_count) if gold_count else None,
                                   flagged=profile in flagged)
        before[profile] += 1
        decision, opening = _decide(rows[key], policy=policies.get(s.project_id), history=history,
                                    correlation_id=s.correlation_id)
        decisions[key] = decision
        if opening is not None:
            openings.append(opening)
    SamplingDecision.objects.bulk_create(list(decisions.values()))
    review_items_open(openings=openings, stages=stages)
    replayed = [s.submission_id for s in submissions if s.submission_id not in decisions]
    if replayed:
        decisions.update({d.submission_id: d for d in SamplingDecision.objects.filter(submission_id__in=replayed)})
    return [decisions[s.submission_id] for s in submissions]


def _flagged(profiles: set[tuple[UUID, str]]) -> set[tuple[UUID, str]]:
    """Which of these (project, annotator) are flagged there or everywhere; read only for policies with a flagged rate."""
    if not profiles:
        return set()
    ordered = sorted(profiles, key=lambda p: (str(p[0]), p[1]))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT x.project_id, x.annotator FROM unnest(%s::uuid[], %s::text[]) AS x(project_id, annotator) "
            "JOIN review_annotator_flag f ON f.annotator = x.annotator "
            "AND (f.project_id = x.project_id OR f.project_id IS NULL)",
            [[p for p, _ in ordered], [a for _, a in ordered]])
        return {(row[0], row[1]) for row in cursor.fetchall()}


def _decide(row: Submission, *, policy: Policy | None, history: AnnotatorHistory,
            correlation_id: str) -> tuple[SamplingDecision, Opening | None]:
    choice = effective_rate(policy=policy or DEFAULT_POLICY, annotator=row.annotator, labels=row.labels, history=history)
    rule, detail = (DEFAULT_POLICY_RULE, DEFAULT_POLICY_DETAIL) if policy is None else (choice.rule, choice.detail)
    value = draw(key=str(row.submission_id), salt=str(row.project_id))
    sampled = value < choice.rate
    decision = SamplingDecision(
        tenant_id=row.tenant_id, submission_id=row.submission_id, task_id=row.task_id, project_id=row.project_id,
        batch_id=row.batch_id, annotator=row.annotator, labels=row.labels, sampled=sampled, rule=rule,
        rate=choice.rate, draw=value, detail=detail[:300])
    opening = Opening(submission=row, reason=rule, rate=choice.rate, correlation_id=correlation_id) if sampled else None
    return decision, opening


def gold_scores_record(*, scores: Sequence[GoldScoreIn]) -> None:
    """Count gold results on the annotators' profiles (feeds the low-gold-score rule): one upsert for the run."""
    tenant = require_tenant()
    totals: dict[tuple[UUID, str], tuple[int, float]] = {}
    for s in scores:
        count, total = totals.get((s.project_id, s.annotator), (0, 0.0))
        totals[(s.project_id, s.annotator)] = (count + 1, total + s.score)
    if not totals:
        return
    tenant_turn_take()
    sql, params = insert_sql([AnnotatorProfile(tenant_id=tenant, project_id=project_id, annotator=annotator,
                                               gold_count=count, gold_score_sum=total)
                              for (project_id, annotator), (count, total) in sorted(totals.items(), key=_profile_order)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} ON CONFLICT (tenant_id, project_id, annotator) DO UPDATE SET "
            f"gold_count = review_annotator_profile.gold_count + EXCLUDED.gold_count, "
            f"gold_score_sum = review_annotator_profile.gold_score_sum + EXCLUDED.gold_score_sum", params)


def _profile_order(item: tuple[tuple[UUID, str], Any]) -> tuple[str, str]:
    """Profiles are locked in (project, annotator) order by every statement that counts on them."""
    (project_id, annotator), _ = item
    return str(project_id), annotator
