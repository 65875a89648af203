"""The event path end to end through the real processor: record, gold-score, aggregate at overlap."""
import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, submitted

from assay_scoring.core.models import ConsensusResult, GoldScore, Submission
from assay_scoring.core.services.gold import gold_answer_set

pytestmark = pytest.mark.django_db

ZERO_ERRORS = {"missing": 0, "extra": 0, "wrong_label": 0, "low_overlap": 0, "wrong_attribute": 0}


def set_gold(*, project: str, task: str, answer: dict, answer_type: str = "single_choice") -> None:
    with tenant_atomic(tenant="acme"):
        gold_answer_set(project_id=project, task_id=task, answer=answer, reason="expert decision", actor="owner",
                        answer_type=answer_type)


def test_submission_is_recorded_once_even_if_delivered_twice(deliver):
    # given an annotation.submitted for a project scoring has not seen
    project, task = new_id(), new_id()
    event = submitted(task_id=task, project_id=project, annotator="teammate", answer={"label": "cat"})
    # when it is delivered twice
    first, second = deliver(event), deliver(event)
    # then it is stored once, with the answer and the project's answer type
    assert (first.outcome, second.outcome) == (Outcome.APPLIED, Outcome.DUPLICATE)
    with tenant_atomic(tenant="acme"):
        rows = list(Submission.objects.values("task_id", "annotator", "answer", "answer_type", "batch_id"))
    assert [{**r, "task_id": str(r["task_id"])} for r in rows] == [
        {"task_id": task, "annotator": "teammate", "answer": {"label": "cat"}, "answer_type": "single_choice",
         "batch_id": "batch-1"}]


def test_gold_task_submission_is_scored_and_gold_scored_emitted_without_the_gold(deliver, outbox_events):
    # given a gold task whose gold is "cat"
    project, task = new_id(), new_id()
    set_gold(project=project, task=task, answer={"label": "cat"})
    # when an annotator answers "dog"
    event = submitted(task_id=task, project_id=project, annotator="teammate", answer={"label": "dog"}, overlap=1)
    assert deliver(event).outcome is Outcome.APPLIED
    # then gold.scored says score 0, failed, one wrong label, and carries no gold answer
    [scored] = outbox_events("gold.scored")
    assert scored.payload == {
        "submission_id": event.payload["submission_id"], "task_id": task, "project_id": project,
        "annotator": "teammate", "answer_type": "single_choice", "score": 0.0, "passed": False,
        "error_counts": {**ZERO_ERRORS, "wrong_label": 1}, "batch_id": "batch-1", "gold_version": 1,
        "training_mode": False,
    }
    # and no consensus is computed for a gold task even though its overlap (1) is reached
    assert outbox_events("consensus.reached") == [] and outbox_events("consensus.disputed") == []
    with tenant_atomic(tenant="acme"):
        row = GoldScore.objects.get()
    assert (row.confusion, row.errors[0]["type"]) == ([{"gold": "cat", "answer": "dog", "count": 1}], "wrong_label")


def test_correct_gold_answer_passes(deliver, outbox_events):
    project, task = new_id(), new_id()
    set_gold(project=project, task=task, answer={"label": "cat"})
    deliver(submitted(task_id=task, project_id=project, annotator="teammate", answer={"label": "cat"}))
    [scored] = outbox_events("gold.scored")
    assert (scored.payload["score"], scored.payload["passed"], scored.payload["error_counts"]) == (1.0, True, ZERO_ERRORS)


def test_consensus_reached_when_overlap_is_reached(deliver, outbox_events):
    # given a task with overlap 3
    project, task = new_id(), new_id()
    events = [submitted(task_id=task, project_id=project, annotator=a, answer={"label": lab}, minutes=i)
              for i, (a, lab) in enumerate([("ann-a", "cat"), ("ann-b", "cat"), ("ann-c", "cat")])]
    # when two answers arrive nothing is aggregated yet
    deliver(events[0]), deliver(events[1])
    assert outbox_events("consensus.reached") == []
    # and when the third arrives, consensus.reached carries the unanimous answer
    deliver(events[2])
    [reached] = outbox_events("consensus.reached")
    assert reached.payload == {
        "task_id": task, "project_id": project, "batch_id": "batch-1", "answer_type": "single_choice",
        "method": "weighted_vote", "answer": {"label": "cat"}, "confidence": 1.0, "agreement": 1.0,
        "annotators": ["ann-a", "ann-b", "ann-c"],
        "submission_ids": sorted(e.payload["submission_id"] for e in events), "revision": 1, "threshold": 0.7,
    }


def test_split_vote_is_disputed_and_recomputed_when_more_answers_arrive(deliver, outbox_events):
    # given three answers split 2:1 (confidence 2/3 below the default threshold 0.7)
    project, task = new_id(), new_id()
    for i, (a, lab) in enumerate([("ann-a", "cat"), ("ann-b", "dog"), ("ann-c", "cat")]):
        deliver(submitted(task_id=task, project_id=project, annotator=a, answer={"label": lab}, minutes=i))
    [disputed] = outbox_events("consensus.disputed")
    assert (disputed.payload["answer"], disputed.payload["confidence"], disputed.payload["agreement"]) == (
        {"label": "cat"}, pytest.approx(2 / 3), pytest.approx(2 / 3))
    # when a fourth annotator (dynamic overlap) answers "cat"
    deliver(submitted(task_id=task, project_id=project, annotator="ann-d", answer={"label": "cat"}, minutes=5))
    # then consensus is recomputed and reached, revision 2
    [reached] = outbox_events("consensus.reached")
    assert (reached.payload["confidence"], reached.payload["revision"], len(reached.payload["annotators"])) == (
        0.75, 2, 4)
    with tenant_atomic(tenant="acme"):
        row = ConsensusResult.objects.get(task_id=task)
    assert (row.status, row.revision) == ("reached", 2)


def test_resubmission_by_the_same_annotator_counts_once(deliver, outbox_events):
    project, task = new_id(), new_id()
    deliver(submitted(task_id=task, project_id=project, annotator="ann-a", answer={"label": "dog"}, minutes=0))
    deliver(submitted(task_id=task, project_id=project, annotator="ann-a", answer={"label": "cat"}, minutes=1))
    deliver(submitted(task_id=task, project_id=project, annotator="ann-b", answer={"label": "cat"}, minutes=2))
    assert outbox_events("consensus.reached") == []
    deliver(submitted(task_id=task, project_id=project, annotator="ann-c", answer={"label": "cat"}, minutes=3))
    [reached] = outbox_events("consensus.reached")
    assert (reached.payload["answer"], reached.payload["confidence"]) == ({"label": "cat"}, 1.0)


@pytest.mark.parametrize("payload_change,reason", [
    ({"answer_type": "hologram"}, "unknown answer type 'hologram'"),
    ({"answer": {"labels": ["cat"]}}, "answer.label: is required"),
    ({"answer": {"label": ""}}, "answer.label: must be a non-empty string"),
])
def test_unusable_submission_is_dead_lettered_with_reason_and_changes_nothing(deliver, outbox_events,
                                                                              payload_change, reason):
    project, task = new_id(), new_id()
    event = submitted(task_id=task, project_id=project, annotator="teammate", answer={"label": "cat"})
    raw = {**event.to_dict(), "payload": {**event.payload, **payload_change}}
    result = deliver(raw)
    assert result.outcome is Outcome.DEAD
    assert reason in result.reason
    with tenant_atomic(tenant="acme"):
        assert Submission.objects.count() == 0
    assert outbox_events() == []


def test_submission_without_answer_type_for_an_unknown_project_is_dead_lettered(deliver):
    event = submitted(task_id=new_id(), project_id=new_id(), annotator="teammate", answer={"label": "cat"},
                      answer_type=None)
    result = deliver(event)
    assert (result.outcome, "unknown to scoring" in result.reason) == (Outcome.DEAD, True)


def test_task_completed_before_its_last_submission_waits_for_it(deliver, outbox_events):
    # given a project of overlap 3 and a task completed by assignment with two submissions
    from tests.factories import task_completed

    project, task = new_id(), new_id()
    first = submitted(task_id=task, project_id=project, annotator="ann-a", answer={"label": "cat"})
    second = submitted(task_id=task, project_id=project, annotator="ann-b", answer={"label": "cat"}, minutes=1)
    deliver(first)
    ids = [first.payload["submission_id"], second.payload["submission_id"]]
    # when task.completed overtakes the second submission
    assert deliver(task_completed(task_id=task, project_id=project, submission_ids=ids)).outcome is Outcome.APPLIED
    assert outbox_events("consensus.reached") == []
    # then the consensus comes once the second submission arrives, once
    deliver(second)
    [reached] = outbox_events("consensus.reached")
    assert (reached.payload["submission_ids"], reached.payload["revision"]) == (sorted(ids), 1)


def test_task_completed_after_overlap_consensus_emits_nothing_new(deliver, outbox_events):
    from tests.factories import task_completed

    project, task = new_id(), new_id()
    events = [submitted(task_id=task, project_id=project, annotator=a, answer={"label": "cat"}, minutes=i)
              for i, a in enumerate(["ann-a", "ann-b", "ann-c"])]
    for event in events:
        deliver(event)
    deliver(task_completed(task_id=task, project_id=project, submission_ids=[e.payload["submission_id"] for e in events]))
    assert len(outbox_events("consensus.reached")) == 1


def test_gold_set_after_a_submission_scores_it(deliver, outbox_events):
    project, task = new_id(), new_id()
    event = submitted(task_id=task, project_id=project, annotator="teammate", answer={"label": "cat"})
    deliver(event)
    set_gold(project=project, task=task, answer={"label": "cat"})
    [scored] = outbox_events("gold.scored")
    assert (scored.payload["submission_id"], scored.payload["score"]) == (event.payload["submission_id"], 1.0)


def test_tenants_do_not_share_tasks_or_projects(deliver, outbox_events):
    project, task = new_id(), new_id()
    for i, tenant in enumerate(["acme", "globex", "acme", "acme"]):
        deliver(submitted(task_id=task, project_id=project, annotator=f"ann-{i}", answer={"label": "cat"},
                          tenant=tenant, minutes=i))
    [reached] = outbox_events("consensus.reached")
    assert (reached.tenant, reached.payload["annotators"]) == ("acme", ["ann-0", "ann-2", "ann-3"])
    with tenant_atomic(tenant="globex"):
        assert list(Submission.objects.values_list("annotator", flat=True)) == ["ann-1"]
