"""Disputes wait for the last annotator dynamic overlap can add; final labels follow consensus and review, and each
change is announced once."""
import uuid

import pytest

from tests.events import acme, consensus, project_configured, replay, submitted

from assay_review.core.models import FinalLabel, ReviewItem, TaskDispute

pytestmark = pytest.mark.django_db


def dispute(project, task, n, **kw):
    annotators = [f"ann-{i}" for i in range(n)]
    return consensus(type_="consensus.disputed", project_id=project, task_id=task, annotators=annotators,
                     submission_ids=[str(uuid.uuid5(uuid.NAMESPACE_URL, f"{task}/{i}")) for i in range(n)], **kw)


def test_a_dispute_is_queued_once_after_the_last_annotator_overlap_can_add(deliver, outbox_events):
    # given a project answered by 3 annotators, up to 5 when they disagree
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(project_configured(project_id=project, overlap=3, max_overlap=5))
    # when scoring publishes the dispute at 3 and at 4 annotators, nothing is queued
    deliver(dispute(project, task, 3))
    deliver(dispute(project, task, 4, answer={"label": "cat"}))
    with acme():
        assert ReviewItem.objects.filter(task_id=task).count() == 0
    assert outbox_events("review.requested") == []
    # at 5 (the project's maximum) every answer is queued, once
    final = dispute(project, task, 5)
    deliver(final)
    with acme():
        assert ReviewItem.objects.filter(task_id=task, reason="consensus_disputed").count() == 5
        assert TaskDispute.objects.get(task_id=task).annotators == 5
    assert len(outbox_events("review.requested")) == 5
    # a redelivery, a replay with another id, or a later revision (after a rejection) queues nothing more
    deliver(final)
    deliver(replay(final))
    deliver(dispute(project, task, 6))
    assert len(outbox_events("review.requested")) == 5
    with acme():
        assert ReviewItem.objects.filter(task_id=task).count() == 5


def test_several_revisions_in_one_run_queue_the_final_one_once(outbox_events):
    from tests.events import process_batch

    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    process_batch([project_configured(project_id=project, overlap=2, max_overlap=3)])
    process_batch([dispute(project, task, 2), dispute(project, task, 3), dispute(project, task, 3)])
    assert len(outbox_events("review.requested")) == 3


def test_a_project_review_has_not_heard_of_queues_its_dispute_at_once(deliver, outbox_events):
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(dispute(project, task, 2))
    assert len(outbox_events("review.requested")) == 2


def reached_event(project, task, *, answer, revision=1, batch_id="b-1"):
    event = consensus(type_="consensus.reached", project_id=project, task_id=task, annotators=["a", "b", "c"],
                      submission_ids=[str(uuid.uuid4()) for _ in range(3)], answer=answer, batch_id=batch_id)
    event.payload["revision"] = revision
    return event


def test_accepted_consensus_is_the_final_label_announced_once(deliver, outbox_events):
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(submitted(project_id=project, task_id=task, annotator="a", answer={"label": "cat"}))
    event = reached_event(project, task, answer={"label": "cat"})
    deliver(event)
    [finalized] = outbox_events("label.finalized")
    assert finalized.payload == {
        "task_id": task, "project_id": project, "batch_id": "b-1", "answer": {"label": "cat"}, "source": "consensus",
        "method": "majority_vote", "confidence": 0.6, "revision": 1, "reviewer": None, "review_id": None,
        "schema_version": None, "version": 1}
    assert finalized.correlation_id == event.correlation_id
    # redelivered, replayed under another id, or an older revision: nothing changes, nothing is announced
    deliver(event)
    deliver(replay(event))
    deliver(reached_event(project, task, answer={"label": "dog"}, revision=0))
    assert len(outbox_events("label.finalized")) == 1
    # a newer revision with another label changes it
    deliver(reached_event(project, task, answer={"label": "dog"}, revision=2))
    assert [e.payload["answer"] for e in outbox_events("label.finalized")] == [{"label": "cat"}, {"label": "dog"}]
    with acme():
        label = FinalLabel.objects.get(task_id=task)
        assert (label.answer, label.version, label.revision, label.annotators) == ({"label": "dog"}, 2, 2, ["a", "b", "c"])


def test_a_correction_ships_once_and_outlives_later_consensus(deliver, api, cast, outbox_events):
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0},
                        content_type="application/json")
    deliver(submitted(project_id=project, task_id=task, answer={"label": "cat"}))
    deliver(reached_event(project, task, answer={"label": "cat"}))
    item = api(cast.reviewer).post("/api/v1/review-items/claim", {}, content_type="application/json").json()
    api(cast.reviewer).post(f"/api/v1/review-items/{item['review_id']}/decision",
                            {"verdict": "corrected", "corrected_answer": {"label": "dog"}}, content_type="application/json")
    labels = outbox_events("label.finalized")
    assert [(e.payload["answer"], e.payload["source"], e.payload["reviewer"], e.payload["version"]) for e in labels] == [
        ({"label": "cat"}, "consensus", None, 1), ({"label": "dog"}, "correction", "reviewer", 2)]
    deliver(reached_event(project, task, answer={"label": "cat"}, revision=3))
    assert len(outbox_events("label.finalized")) == 2
    page = api(cast.owner).get(f"/api/v1/final-labels?project_id={project}").json()
    assert [(r["answer"], r["source"], r["reviewer"], r["revision"]) for r in page["results"]] == [
        ({"label": "dog"}, "correction", "reviewer", 3)]
    # another tenant sees none of it
    assert api(cast.outsider).get(f"/api/v1/final-labels?project_id={project}").json()["results"] == []


def test_a_disputed_task_ships_the_answer_review_accepted(deliver, api, cast, outbox_events):
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(project_configured(project_id=project, overlap=2, max_overlap=2))
    subs = [str(uuid.uuid4()), str(uuid.uuid4())]
    deliver(submitted(project_id=project, task_id=task, annotator="a1", submission_id=subs[0], answer={"label": "cat"}))
    deliver(submitted(project_id=project, task_id=task, annotator="a2", submission_id=subs[1], answer={"label": "dog"}))
    deliver(consensus(type_="consensus.disputed", project_id=project, task_id=task, annotators=["a1", "a2"],
                      submission_ids=subs, answer=None))
    assert outbox_events("label.finalized") == []
    with acme():
        dog = ReviewItem.objects.get(submission_id=subs[1])
        ReviewItem.objects.filter(id=dog.id).update(status="claimed", claimed_by="reviewer")
    assert api(cast.reviewer).post(f"/api/v1/review-items/{dog.id}/decision", {"verdict": "accepted"},
                                   content_type="application/json").status_code == 200
    [label] = outbox_events("label.finalized")
    assert (label.payload["answer"], label.payload["source"], label.payload["schema_version"]) == (
        {"label": "dog"}, "review", 2)  # the project's, as the answers carry none


def test_final_label_list_refuses_bad_filters(api, cast):
    response = api(cast.owner).get("/api/v1/final-labels?project_id=nope&limit=0")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"project_id", "limit"}
    assert api(cast.reviewer).get(f"/api/v1/final-labels?project_id={uuid.uuid4()}").status_code == 403


def test_an_item_accepted_before_its_consensus_leaves_the_label_to_consensus(deliver, api, cast, outbox_events):
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0},
                        content_type="application/json")
    deliver(submitted(project_id=project, task_id=task, annotator="a", answer={"label": "cat"}))
    item = api(cast.reviewer).post("/api/v1/review-items/claim", {}, content_type="application/json").json()
    api(cast.reviewer).post(f"/api/v1/review-items/{item['review_id']}/decision", {"verdict": "accepted"},
                            content_type="application/json")
    assert outbox_events("label.finalized") == []
    deliver(reached_event(project, task, answer={"label": "dog"}))
    assert [(e.payload["answer"], e.payload["source"]) for e in outbox_events("label.finalized")] == [
        ({"label": "dog"}, "consensus")]
