"""Low gold scores raise the rate; a disputed consensus always goes to review."""
import uuid

import pytest

from assay_shared.bus.consumer import Outcome
from tests.events import acme, consensus, gold_scored, submitted

from assay_review.core.models import ReviewItem, SamplingDecision, Submission

pytestmark = pytest.mark.django_db


def test_low_gold_mean_raises_the_rate_once_enough_gold_is_scored(deliver, api, cast):
    # given base 0 and rate 1 for annotators whose gold mean is below 0.8 after 2 gold answers
    project = str(uuid.uuid4())
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy",
                        {"base_rate": 0.0, "low_gold_threshold": 0.8, "low_gold_min_count": 2, "low_gold_rate": 1.0},
                        content_type="application/json")
    deliver(gold_scored(project_id=project, score=0.5))
    after_one = submitted(project_id=project)
    deliver(after_one)
    deliver(gold_scored(project_id=project, score=0.7))
    after_two = submitted(project_id=project)
    deliver(after_two)
    other = submitted(project_id=project, annotator="annotator2")
    deliver(other)
    # then only the submission after the second low gold score is sampled, by the low-gold rule
    with acme():
        got = [SamplingDecision.objects.get(submission_id=e.payload["submission_id"]) for e in (after_one, after_two, other)]
    assert [(d.sampled, d.rule) for d in got] == [(False, "base_rate"), (True, "low_gold_score"), (False, "base_rate")]
    assert got[1].detail == "gold mean 0.600 < 0.8 over 2"


def test_disputed_consensus_queues_every_submission_once(deliver, outbox_events):
    # given a task's two submissions, one already known and one not
    project = str(uuid.uuid4())
    known = submitted(project_id=project, batch_id="b-9")
    deliver(known)
    task = known.payload["task_id"]
    unknown = str(uuid.uuid4())
    event = consensus(type_="consensus.disputed", project_id=project, task_id=task, batch_id="b-9",
                      annotators=["teammate", "annotator2"], submission_ids=[known.payload["submission_id"], unknown])
    # when the consensus is disputed (and the event is redelivered)
    assert deliver(event).outcome is Outcome.APPLIED
    assert deliver(event).outcome is Outcome.DUPLICATE
    # then both submissions are queued for review with the reason, once
    requested = outbox_events("review.requested")
    assert sorted((e.payload["submission_id"], e.payload["annotator"], e.payload["reason"]) for e in requested) == sorted([
        (known.payload["submission_id"], "teammate", "consensus_disputed"), (unknown, "annotator2", "consensus_disputed")])
    with acme():
        assert ReviewItem.objects.count() == 2
        assert Submission.objects.get(submission_id=unknown).batch_id == "b-9"


def test_reached_consensus_only_makes_submissions_known(deliver, outbox_events):
    project = str(uuid.uuid4())
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    deliver(consensus(type_="consensus.reached", project_id=project, annotators=["a", "b"], submission_ids=ids,
                      batch_id="b-1"))
    with acme():
        assert sorted(str(s) for s in Submission.objects.values_list("submission_id", flat=True)) == sorted(ids)
        assert ReviewItem.objects.count() == 0
    assert outbox_events("review.requested") == []


def test_mismatched_consensus_arrays_are_dead_lettered(deliver):
    result = deliver(consensus(type_="consensus.disputed", project_id=str(uuid.uuid4()), annotators=["a"],
                               submission_ids=[str(uuid.uuid4()), str(uuid.uuid4())]))
    assert result.outcome is Outcome.DEAD
    assert "annotators[] has 1 entries but submission_ids[] has 2" in result.reason
    with acme():
        assert Submission.objects.count() == 0


def test_malformed_submission_event_is_dead_lettered_and_nothing_recorded(deliver):
    event = submitted(project_id=str(uuid.uuid4())).to_dict()
    del event["payload"]["annotator"]
    result = deliver(event)
    assert (result.outcome, result.reason) == (Outcome.DEAD, "invalid event: payload: 'annotator' is a required property")
    with acme():
        assert SamplingDecision.objects.count() == 0
