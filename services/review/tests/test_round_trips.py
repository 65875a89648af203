"""Round trips per event: the consumers' handlers stay a few set-based statements (ADR 0038).

The ceilings count every query of one delivery through the real processor inside the test's transaction:
the tenant's SAVEPOINT, set_config, the inbox insert, RELEASE and the set_config that takes the tenant back
out (5, the consumer's share) plus the handler's own statements.
"""
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assay_shared.bus.consumer import Outcome

from assay_review.core.models import AnnotatorProfile, ReviewItem, SamplingDecision, Submission
from tests.events import acme, consensus, gold_scored, submitted

pytestmark = pytest.mark.django_db

CONSUMER = 5  # SAVEPOINT, set_config, inbox insert, RELEASE, set_config('')


def set_policy(api, cast, project, **body):
    response = api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", body, content_type="application/json")
    assert response.status_code in (200, 201), response.json()


def count(deliver, event) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert deliver(event).outcome is Outcome.APPLIED
    return len(ctx.captured_queries)


def test_annotation_submitted_round_trips(deliver, api, cast):
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=0.0, class_rates={"dog": 1.0})
    # not sampled: replay check with the policy, submission + profile upsert, decision (was 12 handler queries)
    assert count(deliver, submitted(project_id=project, annotator="newbie")) <= CONSUMER + 3
    assert count(deliver, submitted(project_id=project, annotator="newbie")) <= CONSUMER + 3
    # sampled: + review item, outbox row, NOTIFY (was 18)
    assert count(deliver, submitted(project_id=project, answer={"label": "dog"})) <= CONSUMER + 6


def test_other_events_round_trips(deliver):
    project = str(uuid.uuid4())
    assert count(deliver, gold_scored(project_id=project, score=0.5)) <= CONSUMER + 1  # was 3 (5 for a new profile)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert count(deliver, consensus(type_="consensus.reached", project_id=project, annotators=["a", "b", "c"],
                                    submission_ids=ids)) <= CONSUMER + 1  # was 4 per submission
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert count(deliver, consensus(type_="consensus.disputed", project_id=project, annotators=["a", "b", "c"],
                                    submission_ids=ids)) <= CONSUMER + 4  # was 9 per submission


def test_counts_and_rows_as_before(deliver, api, cast):
    # given a submission first known from a consensus without a batch, then its own annotation.submitted
    project, submission_id = str(uuid.uuid4()), str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=0.0, new_annotator_submissions=1, new_annotator_rate=1.0)
    deliver(consensus(type_="consensus.reached", project_id=project, annotators=["ann"], submission_ids=[submission_id]))
    deliver(gold_scored(project_id=project, annotator="ann", score=0.25))
    deliver(gold_scored(project_id=project, annotator="ann", score=0.75))
    deliver(submitted(project_id=project, annotator="ann", submission_id=submission_id, batch_id="b1",
                      answer={"label": "dog"}))
    # and a replay under a new event id, and a second submission
    deliver(submitted(project_id=project, annotator="ann", submission_id=submission_id, batch_id="b1"))
    deliver(submitted(project_id=project, annotator="ann"))
    with acme():
        profile = AnnotatorProfile.objects.get(project_id=project, annotator="ann")
        assert (profile.submissions, profile.gold_count, profile.gold_score_sum) == (2, 2, 1.0)
        row = Submission.objects.get(submission_id=submission_id)
        assert (row.source, row.batch_id, row.labels, row.answer) == ("submitted", "b1", ["dog"], {"label": "dog"})
        rules = list(SamplingDecision.objects.filter(project_id=project).order_by("decided_at").values_list("rule", flat=True))
        assert rules == ["new_annotator", "base_rate"]
        assert ReviewItem.objects.filter(project_id=project).count() == 1
    # a later consensus with a batch fills a missing batch but never replaces one
    other = str(uuid.uuid4())
    deliver(consensus(type_="consensus.reached", project_id=project, annotators=["x"], submission_ids=[other]))
    deliver(consensus(type_="consensus.disputed", project_id=project, annotators=["x", "x", "ann"],
                      submission_ids=[other, other, submission_id], batch_id="b2"))
    with acme():
        batches = dict(Submission.objects.filter(project_id=project).values_list("submission_id", "batch_id"))
        assert (batches[uuid.UUID(submission_id)], batches[uuid.UUID(other)]) == ("b1", "b2")
        assert ReviewItem.objects.filter(project_id=project).count() == 2
