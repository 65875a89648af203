"""annotation.submitted and task.completed applied a batch at a time, as the consumer applies them (ADR 0062):
one statement per table, each task's consensus computed once from all its answers, a bad event dead-lettered
alone. Real commits (the processor's transactions are the tests' transactions)."""
import pytest
from django.conf import settings
from prometheus_client import REGISTRY

from assay_shared.bus.consumer import EventProcessor, Outcome
from assay_shared.bus.registry import registry_from_settings
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.events.envelope import envelope_build
from tests.factories import new_id, submitted, task_completed

from assay_scoring.core.models import ConsensusResult, GoldScore, Submission
from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.projects import project_settings_update

pytestmark = pytest.mark.django_db(transaction=True)

ZERO_ERRORS = {"missing": 0, "extra": 0, "wrong_label": 0, "low_overlap": 0, "wrong_attribute": 0}


def processor() -> EventProcessor:
    return EventProcessor(registry=registry_from_settings(), service=settings.ASSAY_SERVICE, base_delay=0.001)


def splits() -> float:
    return REGISTRY.get_sample_value("assay_consumer_batch_split_total") or 0.0


def project_with(**values) -> str:
    project = new_id()
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="owner", values={
            "answer_type": "single_choice", "labels": ["cat", "dog"], "overlap": 3, **values})
    return project


def answer(task, project, annotator, label, minute, **kw):
    return submitted(task_id=task, project_id=project, annotator=annotator, answer={"label": label}, overlap=None,
                     minutes=minute, **kw)


def again(event):
    """The same submission delivered again under a new event id (a replay by task assignment)."""
    return envelope_build(type=event.type, tenant=event.tenant, producer=event.producer, payload=event.payload)


def rows(model, **filters):
    with tenant_atomic(tenant="acme"):
        return list(model.objects.filter(**filters))


@pytest.mark.parametrize("poisoned", [False, True], ids=["clean", "one-invalid-answer"])
def test_a_batch_records_scores_and_aggregates_each_task_once(outbox_events, poisoned):
    # given a project of overlap 3, a gold task, and a task with one answer recorded earlier
    project, gold_task, full, partial, completed = project_with(), new_id(), new_id(), new_id(), new_id()
    with tenant_atomic(tenant="acme"):
        gold_answer_set(project_id=project, task_id=gold_task, answer={"label": "cat"}, reason="expert", actor="owner")
    earlier = answer(partial, project, "ann-a", "dog", 0)
    assert processor().process_batch([earlier.to_json()])[0].outcome is Outcome.APPLIED
    # and a batch: three answers of one task, a gold answer, a replay of the earlier submission, an answer to the
    # partial task, two answers of a task that task assignment completes, a replay of an answer of this batch
    # (and an invalid answer in the middle)
    a1, a2, a3 = (answer(full, project, f"ann-{x}", label, i + 1) for i, (x, label) in enumerate(
        [("a", "cat"), ("b", "dog"), ("c", "cat")]))
    on_gold = answer(gold_task, project, "ann-b", "dog", 5)
    c1, c2 = answer(completed, project, "ann-a", "cat", 6), answer(completed, project, "ann-c", "cat", 7)
    done = task_completed(task_id=completed, project_id=project,
                          submission_ids=[c1.payload["submission_id"], c2.payload["submission_id"]])
    invalid = submitted(task_id=partial, project_id=project, annotator="ann-z", answer={"labels": ["cat"]},
                        overlap=None)
    batch = [a1, on_gold, a2, again(earlier), c1, *([invalid] if poisoned else []), c2, done,
             answer(partial, project, "ann-b", "dog", 8), a3, again(a1)]
    before = splits()
    # when the batch is processed
    results = processor().process_batch([e.to_json() for e in batch])
    # then every event is applied but the invalid one, dead-lettered alone with its reason
    expected = [Outcome.APPLIED] * len(batch)
    if poisoned:
        expected[5] = Outcome.DEAD
        assert results[5].reason == "handler refused the event: answer.label: is required"
    assert [r.outcome for r in results] == expected
    assert splits() == before + (1 if poisoned else 0)  # a clean batch is applied in one go
    # and each submission is stored once (the replays changed nothing)
    stored = sorted((str(s.task_id), s.annotator) for s in rows(Submission))
    assert stored == sorted([(full, "ann-a"), (full, "ann-b"), (full, "ann-c"), (gold_task, "ann-b"),
                             (partial, "ann-a"), (partial, "ann-b"), (completed, "ann-a"), (completed, "ann-c")])
    # and the gold answer is scored, with the correlation id of its event
    [scored] = outbox_events("gold.scored")
    assert scored.payload == {
        "submission_id": on_gold.payload["submission_id"], "task_id": gold_task, "project_id": project,
        "annotator": "ann-b", "answer_type": "single_choice", "score": 0.0, "passed": False,
        "error_counts": {**ZERO_ERRORS, "wrong_label": 1}, "batch_id": "batch-1", "gold_version": 1,
        "training_mode": False}
    assert scored.correlation_id == on_gold.correlation_id
    assert [(str(g.task_id), g.annotator, g.score) for g in rows(GoldScore)] == [(gold_task, "ann-b", 0.0)]
    # and the task that reached its overlap has one consensus, from its three answers, revision 1
    [disputed] = outbox_events("consensus.disputed")
    assert disputed.payload == {
        "task_id": full, "project_id": project, "batch_id": "batch-1", "answer_type": "single_choice",
        "method": "weighted_vote", "answer": {"label": "cat"}, "confidence": pytest.approx(2 / 3),
        "agreement": pytest.approx(2 / 3), "annotators": ["ann-a", "ann-b", "ann-c"],
        "submission_ids": sorted(e.payload["submission_id"] for e in (a1, a2, a3)), "revision": 1, "threshold": 0.7}
    assert disputed.correlation_id == a3.correlation_id
    # and the completed task has one from its two answers, with the completion's correlation id
    [reached] = outbox_events("consensus.reached")
    assert (reached.payload["task_id"], reached.payload["annotators"], reached.payload["confidence"],
            reached.payload["revision"], reached.correlation_id) == (completed, ["ann-a", "ann-c"], 1.0, 1,
                                                                     done.correlation_id)
    # and the gold task and the task short of its overlap have none
    assert sorted((str(c.task_id), c.revision) for c in rows(ConsensusResult)) == sorted([(full, 1), (completed, 1)])


def test_answers_after_a_consensus_make_one_new_revision_per_batch(outbox_events):
    # given a task whose consensus exists (overlap 3, revision 1)
    project, task = project_with(), new_id()
    first = [answer(task, project, f"ann-{i}", label, i) for i, label in enumerate(["cat", "dog", "dog"])]
    processor().process_batch([e.to_json() for e in first])
    # when two more annotators (dynamic overlap) answer in one batch, one of them twice
    late = [answer(task, project, "ann-3", "cat", 10), answer(task, project, "ann-4", "dog", 11),
            answer(task, project, "ann-3", "dog", 12)]
    assert {r.outcome for r in processor().process_batch([e.to_json() for e in late])} == {Outcome.APPLIED}
    # then the consensus is recomputed once from each annotator's latest answer: revision 2
    events = sorted(outbox_events("consensus.reached") + outbox_events("consensus.disputed"),
                    key=lambda e: e.payload["revision"])
    assert [(e.payload["revision"], e.payload["answer"], e.payload["confidence"]) for e in events] == [
        (1, {"label": "dog"}, pytest.approx(2 / 3)), (2, {"label": "dog"}, 0.8)]
    assert events[1].payload["annotators"] == ["ann-0", "ann-1", "ann-2", "ann-3", "ann-4"]
    [row] = rows(ConsensusResult)
    assert (row.revision, row.status, len(row.submission_ids)) == (2, "reached", 5)


def test_a_batch_of_other_answer_types_and_a_training_project(outbox_events):
    # given a box project in training mode, a gold task and a task of overlap 2
    project, gold_task, task = new_id(), new_id(), new_id()
    box = {"objects": [{"label": "car", "bbox": [0, 0, 10, 10]}]}
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="owner",
                                values={"answer_type": "bbox", "overlap": 2, "training_mode": True})
        gold_answer_set(project_id=project, task_id=gold_task, answer=box, reason="expert", actor="owner")
    batch = [submitted(task_id=t, project_id=project, annotator=a, answer=box, answer_type="bbox", overlap=None)
             for t, a in [(task, "ann-a"), (gold_task, "ann-a"), (task, "ann-b")]]
    # when they arrive in one batch
    assert {r.outcome for r in processor().process_batch([e.to_json() for e in batch])} == {Outcome.APPLIED}
    # then the gold answer is scored with training mode on, and the other task is aggregated once
    [scored] = outbox_events("gold.scored")
    assert (scored.payload["score"], scored.payload["training_mode"]) == (1.0, True)
    [reached] = outbox_events("consensus.reached")
    assert (reached.payload["task_id"], reached.payload["method"], reached.payload["answer"]) == (
        task, "bbox_clustering", {"objects": [{"label": "car", "bbox": [0.0, 0.0, 10.0, 10.0], "attributes": {}}]})
