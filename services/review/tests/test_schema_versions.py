"""Schema versions in review (ADR 0069): work done under an older version is sampled, reviewed, finalised and exported
with its own labels after a schema edit; schema.migrated moves final labels to the new version's labels."""
import json
import uuid

import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.events.envelope import envelope_build
from tests.events import acme, consensus, project_configured, submitted

from assay_review.core.models import FinalLabel, ReviewItem, SamplingDecision, SchemaVersion

pytestmark = pytest.mark.django_db

V1 = ["car", "person", "bike"]
V2 = ["vehicle", "person"]
BIKE = {"objects": [{"label": "bike", "bbox": [1, 2, 3, 4]}, {"label": "person", "bbox": [5, 5, 2, 4]}]}


def configured(deliver, project, *, version, labels, answer_type="bbox", tenant="acme"):
    event = project_configured(project_id=project, answer_type=answer_type, labels=labels, tenant=tenant)
    event.payload["settings"]["schema_version"] = version
    assert deliver(event).outcome is Outcome.APPLIED


def answered(*, project, task, annotator, answer, version):
    event = submitted(project_id=project, task_id=task, annotator=annotator, answer=answer, batch_id="b-1")
    event.payload["schema_version"] = version
    return event


def reached(*, project, task, answer, submission_ids, answer_type="bbox", tenant="acme"):
    event = consensus(type_="consensus.reached", project_id=project, task_id=task, batch_id="b-1",
                      annotators=["a1", "a2"], submission_ids=submission_ids, answer=answer, agreement=1.0,
                      tenant=tenant)
    event.payload["answer_type"] = answer_type
    return event


def migrated(*, project, mapping, from_version=1, to_version=2, tenant="acme"):
    return envelope_build(type="schema.migrated", tenant=tenant, producer="scoring", payload={
        "migration_id": str(uuid.uuid4()), "project_id": project, "from_version": from_version,
        "to_version": to_version, "mapping": mapping, "requested_by": "owner", "applied_at": "2026-12-06T05:00:00+00:00",
        "run": 1, "gold_migrated": 0, "consensus_migrated": 1})


def export(api, actor, **params):
    response = api(actor).get("/api/v1/exports", params)
    return response, b"".join(response.streaming_content) if response.streaming else response.content


def test_old_version_work_is_sampled_reviewed_finalised_and_exported_with_its_labels(deliver, api, cast):
    # given a box project edited from version 1 (car, person, bike) to version 2 (vehicle, person), every answer sampled
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    configured(deliver, project, version=1, labels=V1)
    configured(deliver, project, version=2, labels=V2)
    assert api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0},
                               content_type="application/json").status_code in (200, 201)
    # when two answers given under version 1, with "bike", arrive and reach consensus
    events = [answered(project=project, task=task, annotator=who, answer=BIKE, version=1) for who in ("a1", "a2")]
    assert [deliver(e).outcome for e in events] == [Outcome.APPLIED] * 2
    ids = [e.payload["submission_id"] for e in events]
    assert deliver(reached(project=project, task=task, answer=BIKE, submission_ids=ids)).outcome is Outcome.APPLIED
    # then both were sampled and queued for review
    with acme():
        assert sorted(SamplingDecision.objects.filter(task_id=task).values_list("sampled", flat=True)) == [True, True]
        assert ReviewItem.objects.filter(task_id=task).count() == 2
        versions = list(SchemaVersion.objects.filter(project_id=project).order_by("version")
                        .values_list("version", "labels"))
    assert versions == [(1, V1), (2, V2)]
    # and a reviewer accepts them
    while (item := api(cast.reviewer).post("/api/v1/review-items/claim", {}, content_type="application/json")
           ).status_code == 200:
        assert api(cast.reviewer).post(f"/api/v1/review-items/{item.json()['review_id']}/decision",
                                       {"verdict": "accepted"}, content_type="application/json").status_code == 200
    with acme():
        label = FinalLabel.objects.get(task_id=task)
    assert (label.answer, label.schema_version) == (BIKE, 1)
    # and the COCO export names every version's labels (the current first), keeping the bike
    response, body = export(api, cast.owner, project_id=project, format="coco", include_unaccepted="true")
    assert response.status_code == 200
    coco = json.loads(body)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert list(names.values()) == ["vehicle", "person", "car", "bike"]
    assert sorted(names[a["category_id"]] for a in coco["annotations"]) == ["bike", "person"]
    # and the JSON Lines export carries the label with its schema version
    response, body = export(api, cast.owner, project_id=project, include_unaccepted="true")
    [line] = [json.loads(x) for x in body.decode().splitlines()]
    assert (line["label"], line["provenance"]["schema_version"]) == (BIKE, 1)


def labels_at(project):
    with acme():
        return sorted((str(r.task_id), r.answer["label"] if r.answer else None,
                       r.consensus_answer["label"] if r.consensus_answer else None, r.schema_version, r.version)
                      for r in FinalLabel.objects.filter(project_id=project))


def test_schema_migrated_moves_final_labels_at_the_source_version_once(deliver, outbox_events):
    # given final labels of version 1 (cat, bird) and one of version 2
    project = str(uuid.uuid4())
    configured(deliver, project, version=1, labels=["cat", "bird"], answer_type="single_choice")
    configured(deliver, project, version=2, labels=["feline", "sparrow", "crow"], answer_type="single_choice")
    old_cat, old_bird, new = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    for task, label, version in ((old_cat, "cat", 1), (old_bird, "bird", 1), (new, "crow", 2)):
        events = [answered(project=project, task=task, annotator=who, answer={"label": label}, version=version)
                  for who in ("a1", "a2")]
        for e in events:
            deliver(e)
        deliver(reached(project=project, task=task, answer={"label": label}, answer_type="single_choice",
                        submission_ids=[e.payload["submission_id"] for e in events]))
    # when scoring announces the migration 1 → 2
    event = migrated(project=project, mapping={"cat": "feline", "bird": "sparrow"})
    assert deliver(event).outcome is Outcome.APPLIED
    # then the version-1 labels are mapped, answer and consensus answer, and announced; the version-2 one is untouched
    assert labels_at(project) == sorted([(old_cat, "feline", "feline", 2, 2), (old_bird, "sparrow", "sparrow", 2, 2),
                                         (new, "crow", "crow", 2, 1)])
    finalized = [e.payload for e in outbox_events("label.finalized") if e.payload["version"] == 2]
    assert sorted((p["task_id"], p["answer"]["label"], p["schema_version"]) for p in finalized) == sorted(
        [(old_cat, "feline", 2), (old_bird, "sparrow", 2)])
    # and a redelivery, or the same migration run again, changes nothing more
    assert deliver(event).outcome is Outcome.DUPLICATE
    assert deliver(migrated(project=project, mapping={"cat": "feline", "bird": "sparrow"})).outcome is Outcome.APPLIED
    assert labels_at(project) == sorted([(old_cat, "feline", "feline", 2, 2), (old_bird, "sparrow", "sparrow", 2, 2),
                                         (new, "crow", "crow", 2, 1)])
    assert len([e for e in outbox_events("label.finalized") if e.payload["version"] == 2]) == 2


def test_another_tenants_migration_moves_nothing(deliver):
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    configured(deliver, project, version=1, labels=["cat"], answer_type="single_choice")
    events = [answered(project=project, task=task, annotator=who, answer={"label": "cat"}, version=1)
              for who in ("a1", "a2")]
    for e in events:
        deliver(e)
    deliver(reached(project=project, task=task, answer={"label": "cat"}, answer_type="single_choice",
                    submission_ids=[e.payload["submission_id"] for e in events]))
    before = labels_at(project)
    assert deliver(migrated(project=project, mapping={"cat": "feline"}, tenant="globex")).outcome is Outcome.APPLIED
    assert labels_at(project) == before == [(task, "cat", "cat", 1, 1)]


def test_a_prediction_may_name_the_labels_of_any_version_and_no_other(deliver, api, cast):
    # given a task answered under version 1 (bike) after the edit to version 2 (no bike)
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    configured(deliver, project, version=1, labels=V1)
    configured(deliver, project, version=2, labels=V2)
    deliver(answered(project=project, task=task, annotator="a1", answer=BIKE, version=1))
    image = {"width": 100, "height": 100}

    def predict(label):
        return api(cast.owner).post(f"/api/v1/projects/{project}/predictions", {
            "task_id": task, "model_name": "m", "model_version": "1", "image": image,
            "objects": [{"label": label, "bbox": [1, 2, 3, 4], "score": 0.9}]}, content_type="application/json")

    # then a prediction naming bike is taken; one naming a label no version had is refused, naming the field
    assert predict("bike").status_code == 201
    refused = predict("boat")
    assert (refused.status_code, refused.json()["error"]["fields"]) == (
        400, {"objects[0].label": ["is not a label of the project's schema"]})


def test_a_migrated_correction_keeps_its_version_when_a_late_consensus_arrives(deliver):
    # given a corrected final label of version 1, migrated to version 2
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    configured(deliver, project, version=1, labels=["cat", "bird"], answer_type="single_choice")
    configured(deliver, project, version=2, labels=["feline", "sparrow"], answer_type="single_choice")
    events = [answered(project=project, task=task, annotator=who, answer={"label": "cat"}, version=1)
              for who in ("a1", "a2")]
    for e in events:
        deliver(e)
    ids = [e.payload["submission_id"] for e in events]
    deliver(reached(project=project, task=task, answer={"label": "cat"}, answer_type="single_choice",
                    submission_ids=ids))
    with acme():
        FinalLabel.objects.filter(task_id=task).update(answer={"label": "bird"}, source="correction")
    deliver(migrated(project=project, mapping={"cat": "feline", "bird": "sparrow"}))
    # when a later consensus revision of the version-1 answers arrives
    late = reached(project=project, task=task, answer={"label": "cat"}, answer_type="single_choice",
                   submission_ids=ids)
    late.payload["revision"] = 2
    assert deliver(late).outcome is Outcome.APPLIED
    # then the correction ships, still in version 2's labels and marked so; the consensus answer is version 1's
    with acme():
        label = FinalLabel.objects.get(task_id=task)
    assert (label.answer, label.schema_version, label.consensus_answer) == ({"label": "sparrow"}, 2, {"label": "cat"})
