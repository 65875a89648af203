"""A batch of events applied at once gives the same rows as the same events applied one at a time (ADR 0063).

Each scenario is applied twice: as one batch through `process_batch` for acme, and event by event through
`deliver` for globex (the same payloads and correlation ids, other event ids); the rows must be equal.
"""
import json
import uuid

import pytest
from prometheus_client import REGISTRY

from assay_shared.bus.consumer import Outcome
from assay_shared.bus.models import OutboxEvent
from tests.events import consensus, gold_scored, process_batch, replay, scope, submitted, twin

from assay_review.core.models import AnnotatorProfile, ReviewItem, SamplingDecision, SamplingPolicy, Submission

pytestmark = pytest.mark.django_db(transaction=True)  # a split batch reconnects, as the consumer does

P1, P2 = str(uuid.uuid4()), str(uuid.uuid4())


def policy(tenant: str) -> None:
    with scope(tenant):
        SamplingPolicy.objects.create(
            tenant_id=tenant, project_id=P1, base_rate=0.25, class_rates={"dog": 1.0}, new_annotator_submissions=2,
            new_annotator_rate=0.5, low_gold_threshold=0.8, low_gold_min_count=2, low_gold_rate=0.9, updated_by="lead")


def scenario() -> list:
    """Three annotators in two projects (one without a policy), gold results, both consensus kinds, a replay."""
    def sub(project, annotator, **kw):
        return submitted(project_id=project, annotator=annotator, batch_id="b1", **kw)

    a = [sub(P1, "ann-a") for _ in range(4)]
    b = [sub(P1, "ann-b"), sub(P1, "ann-b", answer={"objects": [{"label": "dog"}]}), sub(P1, "ann-b")]
    c = [sub(P2, "ann-c"), sub(P2, "ann-c")]
    unknown = str(uuid.uuid4())
    disputed = consensus(type_="consensus.disputed", project_id=P1, task_id=b[0].payload["task_id"], batch_id="b1",
                         annotators=["ann-b", "ann-x"], submission_ids=[b[0].payload["submission_id"], unknown])
    reached = consensus(type_="consensus.reached", project_id=P2, annotators=["ann-c", "ann-c"], batch_id="b2",
                        submission_ids=[c[0].payload["submission_id"], str(uuid.uuid4())])
    late = sub(P2, "ann-c", submission_id=reached.payload["submission_ids"][1])  # known from the consensus first
    return [a[0], b[0], c[0], a[1], gold_scored(project_id=P1, annotator="ann-a", score=0.25),
            gold_scored(project_id=P1, annotator="ann-a", score=0.5), a[2], b[1], disputed, b[2], reached, late,
            a[3], replay(a[1]), c[1]]


def snapshot(tenant: str) -> dict:
    """Everything the handlers wrote for the tenant, without ids and times."""
    with scope(tenant):
        rows = {
            "submissions": sorted(Submission.objects.values_list(
                "submission_id", "task_id", "project_id", "batch_id", "annotator", "answer", "labels", "submitted_at",
                "source"), key=str),
            "decisions": sorted(SamplingDecision.objects.values_list(
                "submission_id", "task_id", "project_id", "batch_id", "annotator", "labels", "sampled", "rule", "rate",
                "draw", "detail"), key=str),
            "profiles": sorted(AnnotatorProfile.objects.values_list(
                "project_id", "annotator", "submissions", "gold_count", "gold_score_sum"), key=str),
            "items": sorted(ReviewItem.objects.values_list(
                "submission_id", "task_id", "project_id", "batch_id", "annotator", "reason", "rate", "status"), key=str),
        }
    requested = [(r.body["correlation_id"], {k: v for k, v in r.body["payload"].items() if k != "review_id"})
                 for r in OutboxEvent.objects.filter(tenant_id=tenant, event_type="review.requested")]
    rows["requested"] = sorted(requested, key=str)
    return rows


def splits() -> float:
    return REGISTRY.get_sample_value("assay_consumer_batch_split_total") or 0.0


def test_a_mixed_batch_writes_the_rows_of_one_event_at_a_time(deliver):
    # given the same policy for two tenants and the same events for both
    policy("acme"), policy("globex")
    events = scenario()
    duplicate = events[3]
    before = splits()
    # when acme's arrive as one batch (with one event delivered twice) and globex's one at a time
    results = process_batch([*events[:4], duplicate, *events[4:]])
    for event in events:
        assert deliver(twin(event, tenant="globex")).outcome is Outcome.APPLIED
    # then every event but the duplicate is applied, in one transaction (never split)
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 4 + [Outcome.DUPLICATE] + [Outcome.APPLIED] * 11
    assert splits() == before
    # and the rows are those of one event at a time
    acme, globex = snapshot("acme"), snapshot("globex")
    assert acme == globex
    # which are: one decision per submission (the replay kept the first), profiles counting each once
    assert len(acme["decisions"]) == 10
    assert [p[1:] for p in acme["profiles"] if p[0] == uuid.UUID(P1)] == [("ann-a", 4, 2, 0.75), ("ann-b", 3, 0, 0.0)]
    rules = {str(d[0]): d[7] for d in acme["decisions"]}
    assert rules[events[6].payload["submission_id"]] == "low_gold_score"  # after the two low gold scores
    assert rules[events[7].payload["submission_id"]] == "class_rate"
    assert rules[events[0].payload["submission_id"]] == "new_annotator"
    assert rules[events[2].payload["submission_id"]] == "no_policy"
    # and each review.requested carries the correlation id of the event that caused it
    causes = {e.correlation_id for e in events}
    assert acme["requested"] and {c for c, _ in acme["requested"]} <= causes


def test_a_refused_event_in_the_middle_is_dead_lettered_alone(deliver):
    # given the scenario with an event the handler refuses and one the catalog refuses, in the middle
    policy("acme"), policy("globex")
    events = scenario()
    refused = submitted(project_id=P1, annotator="ann-a", submission_id=str(uuid.uuid4()))
    refused.payload["submitted_at"] = "2024-13-45T99:99:99+00:00"  # passes the catalog (a string), not the handler
    invalid = submitted(project_id=P1).to_dict()
    del invalid["payload"]["annotator"]
    before = splits()
    # when acme's arrive as one batch and globex's good ones one at a time
    results = process_batch([*events[:7], refused, json.dumps(invalid), *events[7:]])
    for event in events:
        deliver(twin(event, tenant="globex"))
    # then only those two are dead-lettered, each with its reason, and the batch was split once
    outcomes = [r.outcome for r in results]
    assert outcomes == [Outcome.APPLIED] * 7 + [Outcome.DEAD, Outcome.DEAD] + [Outcome.APPLIED] * 8
    assert results[7].reason == (f"handler refused the event: annotation.submitted {refused.id}: "
                                 "submitted_at is not an ISO 8601 time: '2024-13-45T99:99:99+00:00'")
    assert results[8].reason == "invalid event: payload: 'annotator' is a required property"
    assert splits() == before + 1
    # and the rest was applied once: the same rows as one event at a time, nothing of the refused one
    acme = snapshot("acme")
    assert acme == snapshot("globex")
    assert refused.payload["submission_id"] not in {str(d[0]) for d in acme["decisions"]}
    # and a redelivery of the whole batch applies nothing twice
    again = process_batch([*events, refused])
    assert [r.outcome for r in again] == [Outcome.DUPLICATE] * len(events) + [Outcome.DEAD]
    assert snapshot("acme") == acme
