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

from assay_metrics.core.models import AnnotatorStats, ConsensusMatch, QualityRule, SubmissionLog
from tests.events import acme, consensus, gold_scored, review_completed, skill_estimated, submitted

pytestmark = pytest.mark.django_db

CONSUMER = 5  # SAVEPOINT, set_config, inbox insert, RELEASE, set_config('')


def count(deliver, event) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert deliver(event).outcome is Outcome.APPLIED
    return len(ctx.captured_queries)


def add_rule(**fields):
    with acme():
        QualityRule.objects.create(tenant_id="acme", created_by="test", **fields)


def test_annotation_submitted_round_trips(deliver):
    project = str(uuid.uuid4())
    # no rules: submission row + counters in one statement, the rules query (was 8 handler queries)
    assert count(deliver, submitted(project_id=project)) <= CONSUMER + 2
    add_rule(kind="fast_answers", threshold=800, min_count=5)
    add_rule(kind="fast_answers", threshold=800, min_count=5, project_id=project)
    deliver(submitted(project_id=project))  # the standings exist from here on
    # two rules: + a standing lock and one evaluation query per rule (was 20)
    assert count(deliver, submitted(project_id=project)) <= CONSUMER + 2 + 2 * 2


def test_other_events_round_trips(deliver):
    project = str(uuid.uuid4())
    add_rule(kind="gold_accuracy", threshold=0.1, min_count=50)
    add_rule(kind="review_rejection", threshold=0.9, min_count=50)
    deliver(gold_scored(project_id=project, score=1.0))
    assert count(deliver, gold_scored(project_id=project, score=1.0)) <= CONSUMER + 1 + 1 + 2  # was 8
    assert count(deliver, review_completed(project_id=project, verdict="accepted")) <= CONSUMER + 1 + 1 + 2  # was 8
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert count(deliver, consensus(project_id=project, annotators=["a", "b", "c"], submission_ids=ids)) <= CONSUMER + 2
    assert count(deliver, skill_estimated(project_id=project, skill=0.5)) <= CONSUMER + 1  # was 2 (4 for a new row)


def test_counts_and_rows_as_before(deliver):
    project = str(uuid.uuid4())
    deliver(skill_estimated(project_id=project, skill=0.25))  # the counters' row may start from a skill estimate
    first = submitted(project_id=project, duration_ms=1000)
    deliver(first)
    replay = submitted(project_id=project, duration_ms=9999, submission_id=first.payload["submission_id"])
    deliver(replay)
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
