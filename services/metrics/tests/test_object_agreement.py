"""Agreement of box and polygon projects: Krippendorff's alpha with the 1 − IoU distance in the API (ADR 0096)."""
import uuid

import pytest

from assay_shared.bus.consumer import Outcome
from tests.events import submitted

from assay_metrics.numerics.alpha import alpha_with_distance, iou_distance, object_units

pytestmark = pytest.mark.django_db


def car(x, label="car"):
    return {"label": label, "bbox": [x, 0, 10, 10]}


def answer(deliver, project, task, annotator, objects, **extra):
    assert deliver(submitted(project_id=project, task_id=task, annotator=annotator,
                             answer={"objects": objects}, **extra)).outcome is Outcome.APPLIED


def test_box_project_alpha_overall_and_per_annotator(deliver, api, cast):
    # given two images: A and B agree exactly on the first; on the second B is off by 5 and misses a car
    project, t1, t2 = (str(uuid.uuid4()) for _ in range(3))
    answer(deliver, project, t1, "A", [car(0)])
    answer(deliver, project, t1, "B", [car(0)])
    answer(deliver, project, t2, "A", [car(0), car(100)])
    answer(deliver, project, t2, "B", [car(5)])
    # and a careless C in another project does not count here
    answer(deliver, str(uuid.uuid4()), t1, "C", [car(50)])
    # when a QA lead asks for the project's object agreement
    response = api(cast.owner).get(f"/api/v1/object-agreement?project_id={project}")
    assert response.status_code == 200, response.json()
    body = response.json()
    # then the figures are those of the numerics on the same units
    want = alpha_with_distance(units=object_units(answers=[
        (t1, "A", [car(0)]), (t1, "B", [car(0)]), (t2, "A", [car(0), car(100)]), (t2, "B", [car(5)])]),
        distance=iou_distance)
    assert body == {"project_id": project, "answer_type": "bbox", "distance": "1 - IoU", "alpha": want.alpha,
                    "answers": 4, "units": 3, "values": 6,
                    "annotators": [{"annotator": "A", "alpha": want.coders["A"][0], "values": 3},
                                   {"annotator": "B", "alpha": want.coders["B"][0], "values": 3}]}
    # by hand: D_o = (2·0 + 2·(2/3) + 2·1) / 6 = 5/9 (t2's second car against B's nothing); D_e over the six
    # values (three cars at 0, one at 100, one at 5, nothing) = 22/30 → alpha = 1 − (5/9)/(11/15) = 24/99
    assert body["alpha"] == round(24 / 99, 6) == want.coders["A"][0]
    # and another tenant's admin sees none of it
    other = api(cast.outsider).get(f"/api/v1/object-agreement?project_id={project}").json()
    assert (other["answers"], other["alpha"], other["annotators"]) == (0, None, [])


def test_a_resubmission_replaces_the_earlier_answer_and_bad_shapes_are_left_out(deliver, api, cast):
    from datetime import datetime, timedelta, timezone
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    answer(deliver, project, task, "A", [car(80)], submitted_at=now - timedelta(minutes=5))
    answer(deliver, project, task, "A", [car(0)], submitted_at=now)
    answer(deliver, project, task, "B", [car(0)])
    answer(deliver, project, task, "C", [{"label": "car", "bbox": [0, 0, -1, 10]}])
    assert deliver(submitted(project_id=project, task_id=task, annotator="D",
                             answer={"label": "cat"})).outcome is Outcome.APPLIED
    body = api(cast.owner).get(f"/api/v1/object-agreement?project_id={project}").json()
    # then only A's latest and B's count: one unit of two identical boxes, nothing to expect disagreement from
    assert (body["answers"], body["units"], body["values"], body["alpha"]) == (2, 1, 2, None)


def test_polygons_are_measured_by_their_area(deliver, api, cast):
    project, task = str(uuid.uuid4()), str(uuid.uuid4())
    square = {"label": "roof", "points": [[0, 0], [10, 0], [10, 10], [0, 10]]}
    half = {"label": "roof", "points": [[0, 0], [5, 0], [5, 10], [0, 10]]}
    answer(deliver, project, task, "A", [square])
    answer(deliver, project, task, "B", [half])
    answer(deliver, project, str(uuid.uuid4()), "A", [])
    body = api(cast.owner).get(f"/api/v1/object-agreement?project_id={project}").json()
    assert (body["answer_type"], body["units"], body["values"]) == ("polygon", 1, 2)
    # D_o = D_e = 0.5 over the only pair: alpha 0
    assert body["alpha"] == 0.0


def test_an_empty_project_answers_nulls(api, cast):
    project = str(uuid.uuid4())
    body = api(cast.owner).get(f"/api/v1/object-agreement?project_id={project}").json()
    assert body == {"project_id": project, "answer_type": None, "distance": "1 - IoU", "alpha": None, "answers": 0,
                    "units": 0, "values": 0, "annotators": []}


def test_bad_requests_and_annotators_are_refused(api, cast):
    response = api(cast.owner).get("/api/v1/object-agreement?project_id=nope")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["project_id"]
    response = api(cast.owner).get("/api/v1/object-agreement")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["project_id"]
    assert api(cast.teammate).get(f"/api/v1/object-agreement?project_id={uuid.uuid4()}").status_code == 403
