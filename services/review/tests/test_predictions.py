"""Model predictions: validated, stored all or nothing; cleanlab ranks the likely wrong labels; the model-disagrees
rule raises them into review ahead of sampled items; another tenant sees none of it."""
import json
import uuid

import pytest

from tests.events import acme, consensus, project_configured, submitted

from assay_review.core.models import LabelIssue, Prediction, ReviewItem

pytestmark = pytest.mark.django_db


def labelled(deliver, labels):
    project = str(uuid.uuid4())
    deliver(project_configured(project_id=project, labels=["cat", "dog"]))
    tasks = []
    for label in labels:
        task = str(uuid.uuid4())
        deliver(consensus(type_="consensus.reached", project_id=project, task_id=task, batch_id="b-1",
                          annotators=["a1", "a2"], submission_ids=[str(uuid.uuid4()), str(uuid.uuid4())],
                          answer={"label": label}))
        tasks.append(task)
    return project, tasks


def line(task, probabilities, **extra):
    return json.dumps({"task_id": task, "model_name": "resnet", "model_version": "3", "probabilities": probabilities,
                       **extra})


def bulk(api, actor, project, lines):
    return api(actor).post(f"/api/v1/projects/{project}/predictions/bulk", "\n".join(lines),
                           content_type="application/x-ndjson")


def test_model_disagreement_ranks_wrong_labels_first_and_raises_them_into_review(deliver, api, cast, outbox_events):
    # given 40 labels: 30 cats and 6 dogs the model agrees with, 4 dogs it confidently calls cats
    labels = ["cat"] * 30 + ["dog"] * 10
    project, tasks = labelled(deliver, labels)
    wrong = set(tasks[36:])
    # and an item already sampled for review
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0}, content_type="application/json")
    deliver(submitted(project_id=project, annotator="a9"))
    lines = [line(t, {"cat": 0.97, "dog": 0.03} if t in wrong else {"cat": 0.8, "dog": 0.2} if i < 30
                  else {"cat": 0.15, "dog": 0.85}) for i, t in enumerate(tasks)]
    assert bulk(api, cast.owner, project, lines).json() == {"stored": 40}
    # when the label issues are computed with the worst 10% raised into review
    computed = api(cast.owner).post(f"/api/v1/projects/{project}/label-issues", {
        "model_name": "resnet", "model_version": "3", "worst_share": 0.1}, content_type="application/json")
    assert computed.json() == {"scored": 40, "issues": 4, "flagged": 4, "queued": 4, "rule": "request"}
    # then the ranked list starts with the four wrong labels
    ranked = api(cast.reviewer).get(f"/api/v1/projects/{project}/label-issues?limit=5").json()["results"]
    assert {r["task_id"] for r in ranked[:4]} == wrong
    assert [(r["label"], r["predicted"], r["is_issue"], r["flagged"]) for r in ranked[:4]] == [
        ({"label": "dog"}, "cat", True, True)] * 4
    assert ranked[0]["score"] == pytest.approx(0.03)
    assert (ranked[4]["is_issue"], ranked[4]["flagged"]) == (False, False)
    issues_only = api(cast.owner).get(f"/api/v1/projects/{project}/label-issues?issues_only=true").json()["results"]
    assert {r["task_id"] for r in issues_only} == wrong
    # and the reviewer gets them before the sampled item
    claimed = api(cast.reviewer).post("/api/v1/review-items/claim", {}, content_type="application/json").json()
    assert (claimed["reason"], claimed["task_id"] in wrong) == ("model_disagrees", True)
    assert sorted(e.payload["reason"] for e in outbox_events("review.requested")) == ["base_rate"] + ["model_disagrees"] * 4
    # another tenant sees none of it
    assert api(cast.outsider).get(f"/api/v1/projects/{project}/label-issues").json()["results"] == []


def test_a_threshold_rule_and_recomputation_replace_the_scores(deliver, api, cast):
    project, tasks = labelled(deliver, ["cat", "dog", "cat"])
    body = {"model_name": "resnet", "model_version": "3", "threshold": 0.3}
    # a first model run: the dog's label has probability 0.1
    bulk(api, cast.owner, project, [line(t, {"cat": 0.9, "dog": 0.1}) for t in tasks])
    first = api(cast.owner).post(f"/api/v1/projects/{project}/label-issues", body, content_type="application/json").json()
    assert (first["scored"], first["flagged"], first["queued"]) == (3, 1, 1)
    # predictions replaced: every label now has 0.5, none under the threshold; the scores are replaced too
    bulk(api, cast.owner, project, [line(t, {"cat": 0.5, "dog": 0.5}) for t in tasks])
    second = api(cast.owner).post(f"/api/v1/projects/{project}/label-issues", body, content_type="application/json").json()
    assert (second["scored"], second["flagged"], second["queued"]) == (3, 0, 0)
    with acme():
        assert sorted(LabelIssue.objects.filter(project_id=project).values_list("score", flat=True)) == [0.5] * 3
        assert Prediction.objects.filter(project_id=project).count() == 3
        assert ReviewItem.objects.filter(project_id=project, reason="model_disagrees").count() == 1


@pytest.mark.parametrize("body,status,fields", [
    ({"probabilities": {"cat": 0.5, "bird": 0.5}}, 400, {"probabilities.bird": ["is not a label of the project's schema"]}),
    ({"probabilities": {"cat": 0.5, "dog": 0.4}}, 400, {"probabilities": ["must sum to 1 (they sum to 0.9)"]}),
    ({"probabilities": {"cat": 1.5, "dog": -0.5}}, 400, {"probabilities.cat": ["must be a number in [0, 1]"],
                                                        "probabilities.dog": ["must be a number in [0, 1]"]}),
    ({}, 400, {"probabilities": ["give either probabilities (choices) or objects (boxes)"]}),
    ({"objects": [{"label": "cat", "bbox": [90, 0, 20, 10], "score": 0.9}], "image": {"width": 100, "height": 50}},
     400, {"objects[0].bbox": ["is outside the image (100 x 50)"]}),
    ({"objects": [{"label": "cat", "bbox": [0, 0, 20, 10], "score": 0.9}]}, 400,
     {"image": ["width and height (positive numbers) are needed to check the boxes"]}),
])
def test_bad_predictions_are_refused_naming_the_field_and_nothing_is_stored(deliver, api, cast, body, status, fields):
    project, tasks = labelled(deliver, ["cat"])
    response = api(cast.owner).post(f"/api/v1/projects/{project}/predictions", {
        "task_id": tasks[0], "model_name": "m", "model_version": "1", **body}, content_type="application/json")
    assert (response.status_code, response.json()["error"]["fields"]) == (status, fields)
    with acme():
        assert Prediction.objects.count() == 0


def test_unknown_or_another_tenants_task_is_refused(deliver, api, cast):
    project, tasks = labelled(deliver, ["cat"])
    prediction = {"task_id": tasks[0], "model_name": "m", "model_version": "1", "probabilities": {"cat": 1.0}}
    for actor, body in [(cast.owner, {**prediction, "task_id": str(uuid.uuid4())}), (cast.outsider, prediction)]:
        response = api(actor).post(f"/api/v1/projects/{project}/predictions", body, content_type="application/json")
        assert (response.status_code, response.json()["error"]["fields"]) == (404, {"task_id": ["no such task in this project"]})
    assert api(cast.reviewer).post(f"/api/v1/projects/{project}/predictions", prediction,
                                   content_type="application/json").status_code == 403
    with acme():
        assert Prediction.objects.count() == 0


def test_a_bulk_upload_with_one_bad_line_stores_nothing(deliver, api, cast):
    project, tasks = labelled(deliver, ["cat", "dog", "cat"])
    lines = [line(tasks[0], {"cat": 1.0}), "not json", line(tasks[2], {"cat": 0.2, "dog": 0.2}),
             line(str(uuid.uuid4()), {"cat": 1.0})]
    # the lines' shape is checked first, then their content against the project
    response = bulk(api, cast.owner, project, lines)
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["lines[1]"])
    assert response.json()["error"]["fields"]["lines[1]"][0].startswith("is not valid JSON")
    scalar = bulk(api, cast.owner, project, [lines[0], "42"])
    assert scalar.json()["error"]["fields"] == {"lines[1]": ["is not a JSON object"]}
    response = bulk(api, cast.owner, project, [lines[0], lines[2]])
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {
        "lines[1].probabilities": ["must sum to 1 (they sum to 0.4)"]})
    unknown = bulk(api, cast.owner, project, [lines[0], lines[3]])
    assert (unknown.status_code, unknown.json()["error"]["fields"]) == (404, {"lines[1].task_id": ["no such task in this project"]})
    assert bulk(api, cast.owner, project, []).status_code == 400
    assert api(cast.owner).post(f"/api/v1/projects/{project}/predictions/bulk", "x", content_type="text/plain").status_code == 415
    with acme():
        assert Prediction.objects.count() == 0 and ReviewItem.objects.count() == 0


def test_computing_without_predictions_or_for_free_text_is_refused(deliver, api, cast):
    project, _ = labelled(deliver, ["cat"])
    response = api(cast.owner).post(f"/api/v1/projects/{project}/label-issues",
                                    {"model_name": "none", "model_version": "1"}, content_type="application/json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (404, ["model_name"])
    bad = api(cast.owner).post(f"/api/v1/projects/{project}/label-issues", {"model_name": "m", "model_version": "1",
                                                                            "worst_share": 2}, content_type="application/json")
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["worst_share"])


def test_swapped_box_labels_rank_first_with_cleanlabs_object_detection(deliver, api, cast):
    # given 40 images with one box each; every tenth box carries the other class than the one the model sees there
    # confidently (each image also has a faint prediction of the other class elsewhere)
    project = str(uuid.uuid4())
    deliver(project_configured(project_id=project, answer_type="bbox", labels=["car", "person"]))
    tasks, swapped, lines = [], set(), []
    for i in range(40):
        task, truth = str(uuid.uuid4()), "car" if i % 2 else "person"
        given = ("person" if truth == "car" else "car") if i % 10 == 0 else truth
        x, y = 2.0 * i, 100 - 2.0 * i
        deliver(consensus(type_="consensus.reached", project_id=project, task_id=task, annotators=["a1", "a2"],
                          submission_ids=[str(uuid.uuid4()), str(uuid.uuid4())],
                          answer={"objects": [{"label": given, "bbox": [x, y, 30, 30]}]}))
        lines.append(json.dumps({"task_id": task, "model_name": "det", "model_version": "1",
                                 "image": {"width": 200, "height": 200},
                                 "objects": [{"label": truth, "bbox": [x + 1, y + 1, 30, 30], "score": 0.96 + i / 1000},
                                             {"label": given if given != truth else ("car" if truth == "person" else "person"),
                                              "bbox": [x + 50, y + 50, 10, 10], "score": 0.2}]}))
        tasks.append(task)
        if i % 10 == 0:
            swapped.add(task)
    assert bulk(api, cast.owner, project, lines).json() == {"stored": 40}
    computed = api(cast.owner).post(f"/api/v1/projects/{project}/label-issues",
                                    {"model_name": "det", "model_version": "1"}, content_type="application/json")
    assert computed.json() == {"scored": 40, "issues": 4, "flagged": 0, "queued": 0, "rule": "none"}
    ranked = api(cast.owner).get(f"/api/v1/projects/{project}/label-issues?limit=4").json()["results"]
    assert {r["task_id"] for r in ranked} == swapped and all(r["is_issue"] for r in ranked)
