"""A batch of events applied at once gives the same rows as the same events applied one at a time (ADR 0063).

Each scenario is applied twice: as one batch through `process_batch` for acme, and event by event through
`deliver` for globex (the same payloads and correlation ids, other event ids). Quality rules fire at the
event where they would fire one at a time, with the same numbers, even in the middle of a run.
"""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from assay_shared.bus.consumer import Outcome
from assay_shared.bus.models import OutboxEvent
from tests.events import (
    consensus,
    gold_scored,
    process_batch,
    replay,
    review_completed,
    scope,
    skill_estimated,
    submitted,
    twin,
)

from assay_metrics.core.models import (
    AnnotatorStats,
    ConsensusMatch,
    GoldResult,
    QualityRule,
    ReviewOutcome,
    Standing,
    StandingChange,
    SubmissionLog,
)

pytestmark = pytest.mark.django_db(transaction=True)  # a split batch reconnects, as the consumer does

P1, P2 = str(uuid.uuid4()), str(uuid.uuid4())
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def rules(tenant: str) -> None:
    with scope(tenant):
        for kind, threshold, min_count, project in [("gold_accuracy", 0.6, 3, P1), ("qualification", 0.8, 2, None),
                                                    ("fast_answers", 1000, 3, P1), ("review_rejection", 0.5, 2, None)]:
            QualityRule.objects.create(tenant_id=tenant, kind=kind, threshold=threshold, min_count=min_count,
                                       project_id=project, created_by="lead")


def scenario() -> list:
    """Speed, gold and review rules each firing inside a run; both consensus kinds; skills; a replay."""
    fast = [submitted(project_id=P1, annotator="ann-a", duration_ms=ms, submitted_at=T0 + timedelta(seconds=i))
            for i, ms in enumerate((5000, 4000, 600, 700, 100))]
    other = [submitted(project_id=P2, annotator="ann-b", duration_ms=None, answer={"label": "dog"},
                       submitted_at=T0 + timedelta(seconds=10)),
             submitted(project_id=P2, annotator="ann-c", duration_ms=800, submitted_at=T0 + timedelta(seconds=11))]
    gold_a = [gold_scored(project_id=P1, annotator="ann-a", score=s) for s in (0.5, 0.375, 0.625, 0.0)]
    gold_b = [gold_scored(project_id=P2, annotator="ann-b", score=s) for s in (0.875, 0.625, 1.0)]
    reviews = [review_completed(project_id=P2, annotator="ann-c", verdict=v) for v in ("rejected", "accepted", "rejected")]
    ids = [other[0].payload["submission_id"], other[1].payload["submission_id"]]
    return [*fast[:2], gold_b[0], *fast[2:], *other, *gold_a, gold_b[1], *reviews, gold_b[2],
            consensus(project_id=P2, annotators=["ann-b", "ann-c"], submission_ids=ids, agreement=0.5),
            consensus(project_id=P2, annotators=["ann-b", "ann-c"], submission_ids=ids, agreement=0.25, disputed=True),
            skill_estimated(project_id=P1, annotator="ann-a", skill=0.25),
            skill_estimated(project_id=P1, annotator="ann-a", skill=0.75), replay(fast[1])]


def snapshot(tenant: str) -> dict:
    """Everything the handlers wrote for the tenant, without ids, rule ids and times of recording."""
    with scope(tenant):
        rows = {
            "stats": AnnotatorStats.objects.values_list("project_id", "annotator", "submissions", "total_duration_ms",
                                                        "last_submitted_at", "skill", "skill_method"),
            "submissions": SubmissionLog.objects.values_list("submission_id", "task_id", "project_id", "annotator",
                                                              "answer", "duration_ms", "submitted_at"),
            "gold": GoldResult.objects.values_list("submission_id", "project_id", "annotator", "score", "passed"),
            "consensus": ConsensusMatch.objects.values_list("submission_id", "task_id", "project_id", "annotator",
                                                            "agreement", "exact", "disputed"),
            "reviews": ReviewOutcome.objects.values_list("review_id", "submission_id", "project_id", "annotator",
                                                         "reviewer", "verdict"),
            "standings": Standing.objects.values_list("annotator", "scope", "project_id", "suspended", "flagged",
                                                      "qualified", "since"),
            "changes": StandingChange.objects.values_list("annotator", "project_id", "change", "rule", "reason", "value",
                                                          "threshold", "count", "actor"),
        }
        rows = {k: sorted(v, key=str) for k, v in rows.items()}
    events = [(r.body["type"], r.body["correlation_id"], {k: v for k, v in r.body["payload"].items() if k != "rule_id"})
              for r in OutboxEvent.objects.filter(tenant_id=tenant)]
    rows["events"] = sorted(events, key=str)
    return rows


def splits() -> float:
    return REGISTRY.get_sample_value("assay_consumer_batch_split_total") or 0.0


def test_a_mixed_batch_writes_the_rows_of_one_event_at_a_time(deliver):
    # given the same rules for two tenants and the same events for both
    rules("acme"), rules("globex")
    events = scenario()
    before = splits()
    # when acme's arrive as one batch (one of them twice) and globex's one at a time
    results = process_batch([*events[:3], events[2], *events[3:]])
    for event in events:
        assert deliver(twin(event, tenant="globex")).outcome is Outcome.APPLIED
    # then all were applied in one transaction, the repeated one once
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 3 + [Outcome.DUPLICATE] + [Outcome.APPLIED] * 19
    assert splits() == before
    # and the rows are those of one event at a time
    acme = snapshot("acme")
    assert acme == snapshot("globex")
    # which are: each rule fired once, at the event where its numbers crossed (not at the end of the run)
    assert [(c[0], c[2], c[3], c[5], c[7]) for c in acme["changes"]] == [
        ("ann-a", "flagged", "fast_answers", 700.0, 3), ("ann-a", "suspended", "gold_accuracy", 0.5, 3),
        ("ann-b", "qualified", "qualification", 0.8333333333333334, 3),
        ("ann-c", "flagged", "review_rejection", 0.6666666666666666, 3)]
    # and the replayed submission was counted once; the later skill estimate won
    stats = {(str(s[0]), s[1]): s[2:] for s in acme["stats"]}
    assert stats[(P1, "ann-a")] == (5, 10400, T0 + timedelta(seconds=4), 0.75, "dawid_skene")
    # and each annotator.* event carries the correlation id of the event that fired it
    fired_by = {e.correlation_id: e for e in events}
    assert [(t, fired_by[c].type) for t, c, _ in sorted(acme["events"], key=lambda e: e[2]["rule"])] == [
        ("annotator.flagged", "annotation.submitted"), ("annotator.suspended", "gold.scored"),
        ("annotator.qualified", "gold.scored"), ("annotator.flagged", "review.completed")]


def test_a_refused_event_in_the_middle_is_dead_lettered_alone(deliver):
    # given the scenario with an event the handler refuses and one the catalog refuses, in the middle
    rules("acme"), rules("globex")
    events = scenario()
    refused = submitted(project_id=P1, annotator="ann-a", duration_ms=2**31)  # more than the column holds
    invalid = submitted(project_id=P1).to_dict()
    del invalid["payload"]["annotator"]
    before = splits()
    # when acme's arrive as one batch and globex's good ones one at a time
    results = process_batch([*events[:4], refused, json.dumps(invalid), *events[4:]])
    for event in events:
        deliver(twin(event, tenant="globex"))
    # then only those two are dead-lettered, each with its reason, and the batch was split once
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 4 + [Outcome.DEAD] * 2 + [Outcome.APPLIED] * 18
    assert results[4].reason == (f"handler refused the event: submission {refused.payload['submission_id']}: "
                                 f"duration_ms {2**31} is out of range")
    assert results[5].reason == "invalid event: payload: 'annotator' is a required property"
    assert splits() == before + 1
    # and the rest was applied once: the same rows as one event at a time, nothing of the refused one
    acme = snapshot("acme")
    assert acme == snapshot("globex")
    assert refused.payload["submission_id"] not in {str(s[0]) for s in acme["submissions"]}
    # and a redelivery of the whole batch applies nothing twice
    assert [r.outcome for r in process_batch([*events, refused])] == [Outcome.DUPLICATE] * len(events) + [Outcome.DEAD]
    assert snapshot("acme") == acme
