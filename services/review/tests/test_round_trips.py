"""Round trips per batch: a run of events costs a few set-based statements, whatever its length (ADR 0038, 0059).

The counts include every query of one batch through the real processor inside the test's transaction: the
tenant's SAVEPOINT, set_config, the inbox insert (one for the whole batch), RELEASE and the set_config that
takes the tenant back out (5, the consumer's share), plus the handlers' own statements. The first run of a
transaction also waits for the tenant's turn (one advisory lock, ADR 0063); a test runs in one transaction,
so only its first batch pays it.
"""
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assay_shared.bus.consumer import Outcome
from tests.events import acme, consensus, gold_scored, process_batch, replay, submitted

from assay_review.core.models import AnnotatorProfile, ReviewItem, SamplingDecision, Submission

pytestmark = pytest.mark.django_db

CONSUMER = 5  # SAVEPOINT, set_config, inbox insert, RELEASE, set_config('')
TURN = 1  # pg_advisory_xact_lock on the tenant, once per transaction


def set_policy(api, cast, project, **body):
    response = api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", body, content_type="application/json")
    assert response.status_code in (200, 201), response.json()


def count(events) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert {r.outcome for r in process_batch(events)} == {Outcome.APPLIED}
    return len(ctx.captured_queries)


def submissions(projects, n, **kw):
    return [submitted(project_id=projects[i % len(projects)], annotator=f"ann-{i % 8}", **kw) for i in range(n)]


def test_a_batch_of_submissions_costs_the_same_as_one(api, cast):
    projects = [str(uuid.uuid4()), str(uuid.uuid4())]
    for project in projects:
        set_policy(api, cast, project, base_rate=0.0, class_rates={"dog": 1.0})
    # not sampled: the policies, the submissions with the profiles' counts, the decisions (was 3 per event)
    assert count(submissions(projects, 1)) == CONSUMER + TURN + 3
    assert count(submissions(projects, 64)) == CONSUMER + 3
    # sampled: + the review items (those not in review at any stage) and their review.requested (was 6 per event);
    # the policies' read also reads the projects' review stages
    assert count(submissions(projects, 64, answer={"label": "dog"})) == CONSUMER + 5
    # replays of decided submissions: + one read of their first decisions
    again = submissions(projects, 8)
    process_batch(again)
    assert count([replay(e) for e in again] + submissions(projects, 56)) == CONSUMER + 4
    with acme():
        assert SamplingDecision.objects.count() == 1 + 64 + 64 + 8 + 56
        assert ReviewItem.objects.count() == 64
        assert sorted(AnnotatorProfile.objects.values_list("submissions", flat=True)) == [24] * 7 + [25]


def test_other_runs_cost_one_statement_per_table():
    project = str(uuid.uuid4())
    gold = [gold_scored(project_id=project, annotator=f"ann-{i % 8}", score=0.5) for i in range(64)]
    assert count(gold) == CONSUMER + TURN + 1  # was 1 per event
    reached = [consensus(type_="consensus.reached", project_id=project, annotators=["a", "b", "c"],
                         submission_ids=[str(uuid.uuid4()) for _ in range(3)]) for _ in range(20)]
    # the submissions, the final labels and their label.finalized (was 1 per event, without final labels)
    assert count(reached) == CONSUMER + 3
    disputed = [consensus(type_="consensus.disputed", project_id=project, annotators=["a", "b", "c"],
                          submission_ids=[str(uuid.uuid4()) for _ in range(3)]) for _ in range(20)]
    # submissions, the projects' overlap bounds and stages, the tasks' dispute markers, review items, outbox rows,
    # final labels (none changes: nothing to announce) (was 3 per event, without stages, waiting or final labels)
    assert count(disputed) == CONSUMER + 6
    # a batch of several types: each run its own statements, one inbox insert for all
    mixed = [gold_scored(project_id=project, score=0.5),
             consensus(type_="consensus.reached", project_id=project, annotators=["a"], submission_ids=[str(uuid.uuid4())]),
             *submissions([project], 4)]
    assert count(mixed) == CONSUMER + 1 + 3 + 3
    with acme():
        assert AnnotatorProfile.objects.filter(project_id=project).count() == 9
        assert ReviewItem.objects.count() == 60


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
