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
from tests.events import (
    acme,
    consensus,
    gold_scored,
    process_batch,
    replay,
    review_completed,
    skill_estimated,
    submitted,
)

from assay_metrics.core.models import AnnotatorStats, ConsensusMatch, QualityRule, StandingChange, SubmissionLog

pytestmark = pytest.mark.django_db

CONSUMER = 5  # SAVEPOINT, set_config, inbox insert, RELEASE, set_config('')
TURN = 1  # pg_advisory_xact_lock on the tenant, once per transaction


def count(events) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert {r.outcome for r in process_batch(events)} == {Outcome.APPLIED}
    return len(ctx.captured_queries)


def add_rule(**fields):
    with acme():
        QualityRule.objects.create(tenant_id="acme", created_by="test", **fields)


def submissions(project, n, **kw):
    return [submitted(project_id=project, annotator=f"ann-{i % 8}", **kw) for i in range(n)]


def test_a_batch_of_submissions_costs_the_same_as_one():
    project = str(uuid.uuid4())
    # no rules: the rows and counters in one statement, the rules query (was 2 per event)
    assert count(submissions(project, 1)) == CONSUMER + TURN + 2
    assert count(submissions(project, 64)) == CONSUMER + 2
    # two rules: + one lock of all the standings concerned, one evaluation query for every (annotator, rule)
    add_rule(kind="fast_answers", threshold=800, min_count=5)
    add_rule(kind="fast_answers", threshold=800, min_count=5, project_id=project)
    assert count(submissions(project, 64)) == CONSUMER + 2 + 2  # was 2 + 2 per rule per event
    # a rule firing for every annotator: + one update of the standings, one insert of changes, one of events
    assert count(submissions(project, 64, duration_ms=100)) == CONSUMER + 2 + 2 + 3
    with acme():
        assert StandingChange.objects.count() == 16  # flagged once per annotator and scope
        assert sorted(AnnotatorStats.objects.values_list("submissions", flat=True)) == [24] * 7 + [25]
    # replays of recorded submissions are counted nowhere and cost nothing more
    again = submissions(project, 8)
    process_batch(again)
    assert count([replay(e) for e in again]) == CONSUMER + 1
    with acme():
        assert SubmissionLog.objects.count() == 1 + 64 * 3 + 8


def test_other_runs_cost_one_statement_per_table():
    project = str(uuid.uuid4())
    add_rule(kind="gold_accuracy", threshold=0.1, min_count=50)
    add_rule(kind="review_rejection", threshold=0.9, min_count=50)
    gold = [gold_scored(project_id=project, annotator=f"ann-{i % 8}", score=1.0) for i in range(64)]
    # insert, rules, standings lock, evaluation, the projects' exams (was 4 per event)
    assert count(gold) == CONSUMER + TURN + 1 + 1 + 2 + 1
    reviews = [review_completed(project_id=project, annotator=f"ann-{i % 8}", verdict="accepted") for i in range(64)]
    assert count(reviews) == CONSUMER + 1 + 1 + 2  # (was 4 per event)
    matches = [consensus(project_id=project, annotators=["a", "b", "c"], submission_ids=[str(uuid.uuid4()) for _ in "abc"])
               for _ in range(20)]
    assert count(matches) == CONSUMER + 2 + 1  # the answers, the matches, the low_agreement rules (was 2 per event)
    skills = [skill_estimated(project_id=project, annotator=f"ann-{i % 8}", skill=0.5) for i in range(64)]
    assert count(skills) == CONSUMER + 1  # (was 1 per event)
    with acme():
        assert ConsensusMatch.objects.count() == 60
        assert AnnotatorStats.objects.filter(project_id=project).count() == 8


def test_counts_and_rows_as_before(deliver):
    project = str(uuid.uuid4())
    deliver(skill_estimated(project_id=project, skill=0.25))  # the counters' row may start from a skill estimate
    first = submitted(project_id=project, duration_ms=1000)
    deliver(first)
    replay_ = submitted(project_id=project, duration_ms=9999, submission_id=first.payload["submission_id"])
    deliver(replay_)
    deliver(submitted(project_id=project, duration_ms=None, answer={"label": "dog"}))
    with acme():
        stats = AnnotatorStats.objects.get(project_id=project, annotator="teammate")
        assert (stats.submissions, stats.total_duration_ms, stats.skill, stats.skill_method) == (2, 1000, 0.25, "dawid_skene")
        assert sorted(SubmissionLog.objects.values_list("duration_ms", flat=True), key=str) == [1000, None]
    # consensus: a submission named twice keeps the later pair; a recomputed consensus replaces the match
    cat, dog = first.payload["submission_id"], str(uuid.uuid4())
    deliver(consensus(project_id=project, annotators=["teammate", "x", "y"], submission_ids=[cat, dog, dog], agreement=0.4))
    with acme():
        assert ConsensusMatch.objects.get(submission_id=dog).annotator == "y"
    deliver(consensus(project_id=project, annotators=["teammate", "y"], submission_ids=[cat, dog], agreement=0.6,
                      disputed=True))
    with acme():
        rows = {str(m.submission_id): (m.annotator, m.agreement, m.exact, m.disputed) for m in ConsensusMatch.objects.all()}
    assert rows == {cat: ("teammate", 1.0, True, True), dog: ("y", 0.6, False, True)}
