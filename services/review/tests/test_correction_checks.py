"""A reviewer's correction becomes the label that ships: a label outside the schema, or a box outside the task's
image (its size known from a prediction), is refused naming the field, and nothing changes."""
import uuid

import pytest

from tests.events import acme, project_configured, submitted

from assay_review.core.models import FinalLabel, ReviewItem

pytestmark = pytest.mark.django_db


def held_box_item(deliver, api, cast, *, image=True):
    project = str(uuid.uuid4())
    deliver(project_configured(project_id=project, answer_type="bbox", labels=("car", "person")))
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0},
                        content_type="application/json")
    event = submitted(project_id=project, answer={"objects": [{"label": "car", "bbox": [10, 10, 20, 20]}]})
    deliver(event)
    if image:
        stored = api(cast.owner).post(f"/api/v1/projects/{project}/predictions", {
            "task_id": event.payload["task_id"], "model_name": "none", "model_version": "0", "objects": [],
            "image": {"width": 100, "height": 80}}, content_type="application/json")
        assert stored.status_code == 201
    item = api(cast.reviewer).post("/api/v1/review-items/claim", {}, content_type="application/json").json()
    return project, item


def correct(api, actor, item, answer):
    return api(actor).post(f"/api/v1/review-items/{item['review_id']}/decision",
                           {"verdict": "corrected", "corrected_answer": answer}, content_type="application/json")


@pytest.mark.parametrize("answer,fields", [
    ({"objects": [{"label": "car", "bbox": [90, 10, 20, 20]}]},
     {"corrected_answer.objects[0].bbox": ["is outside the image (100 x 80)"]}),
    ({"objects": [{"label": "car", "bbox": [1, 1, 5, 5]}, {"label": "car", "bbox": [10, 70, 5, 20]}]},
     {"corrected_answer.objects[1].bbox": ["is outside the image (100 x 80)"]}),
    ({"objects": [{"label": "car", "bbox": [-1, 0, 5, 5]}]},
     {"corrected_answer.objects[0].bbox": ["is outside the image (100 x 80)"]}),
    ({"objects": [{"label": "car", "bbox": [1, 1, 0, 5]}]},
     {"corrected_answer.objects[0].bbox": ["width and height must be positive"]}),
    ({"objects": [{"label": "truck", "bbox": [1, 1, 5, 5]}]},
     {"corrected_answer": ["not labels of the project's schema: truck"]}),
])
def test_a_correction_that_cannot_ship_is_refused_and_changes_nothing(deliver, api, cast, outbox_events, answer,
                                                                      fields):
    _, item = held_box_item(deliver, api, cast)
    refused = correct(api, cast.reviewer, item, answer)
    assert (refused.status_code, refused.json()["error"]["fields"]) == (400, fields)
    with acme():
        assert ReviewItem.objects.get(id=item["review_id"]).status == "claimed"
        assert not FinalLabel.objects.filter(task_id=item["task_id"], source="correction").exists()
    assert outbox_events("review.completed") == [] and outbox_events("label.finalized") == []


def test_a_correction_inside_the_image_ships(deliver, api, cast, outbox_events):
    _, item = held_box_item(deliver, api, cast)
    answer = {"objects": [{"label": "person", "bbox": [80, 60, 20, 20]}]}
    assert correct(api, cast.reviewer, item, answer).status_code == 200
    with acme():
        assert FinalLabel.objects.get(task_id=item["task_id"]).answer == answer
    assert [e.payload["verdict"] for e in outbox_events("review.completed")] == ["corrected"]


def test_without_a_known_image_size_only_the_labels_are_checked(deliver, api, cast):
    _, item = held_box_item(deliver, api, cast, image=False)
    assert correct(api, cast.reviewer, item, {"objects": [{"label": "car", "bbox": [500, 500, 20, 20]}]}).status_code == 200
