"""Gold scoring and consensus of every answer type, end to end through the event processor."""
import pytest

from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, submitted

from assay_scoring.core.models import GoldScore
from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.projects import project_settings_update

pytestmark = pytest.mark.django_db


def project_with(answer_type: str, **settings) -> str:
    project = new_id()
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, values={"answer_type": answer_type, **settings}, actor="owner")
    return project


def score_one(deliver, outbox_events, *, answer_type: str, gold, answer, **settings):
    project, task = project_with(answer_type, **settings), new_id()
    with tenant_atomic(tenant="acme"):
        gold_answer_set(project_id=project, task_id=task, answer=gold, reason="expert", actor="owner")
    deliver(submitted(task_id=task, project_id=project, annotator="teammate", answer=answer,
                      answer_type=answer_type, overlap=None))
    [event] = outbox_events("gold.scored")
    with tenant_atomic(tenant="acme"):
        row = GoldScore.objects.get(submission_id=event.payload["submission_id"])
    return event.payload, row


def counts(**kw):
    return {"missing": 0, "extra": 0, "wrong_label": 0, "low_overlap": 0, "wrong_attribute": 0, **kw}


def test_multi_choice_jaccard_with_missing_and_extra(deliver, outbox_events):
    payload, row = score_one(deliver, outbox_events, answer_type="multi_choice",
                             gold={"labels": ["a", "b"]}, answer={"labels": ["a", "c"]})
    assert (payload["score"], payload["error_counts"]) == (pytest.approx(1 / 3), counts(missing=1, extra=1))
    assert row.metrics == {"jaccard": pytest.approx(1 / 3), "f1": 0.5}


def test_multi_choice_f1_when_the_project_says_so(deliver, outbox_events):
    payload, _ = score_one(deliver, outbox_events, answer_type="multi_choice", multi_choice_metric="f1",
                           gold={"labels": ["a", "b"]}, answer={"labels": ["a", "c"]})
    assert payload["score"] == 0.5


def test_boxes_hungarian_matching_with_typed_errors_and_attributes(deliver, outbox_events):
    gold = {"objects": [{"label": "car", "bbox": [0, 0, 10, 10], "attributes": {"occluded": False}},
                        {"label": "person", "bbox": [50, 50, 10, 20]}]}
    answer = {"objects": [{"label": "car", "bbox": [1, 1, 10, 10], "attributes": {"occluded": True}},
                          {"label": "car", "bbox": [200, 200, 5, 5]}]}
    payload, row = score_one(deliver, outbox_events, answer_type="bbox", gold=gold, answer=answer)
    assert (payload["score"], payload["passed"]) == (0.5, False)
    assert payload["error_counts"] == counts(missing=1, extra=1, wrong_attribute=1)
    assert row.metrics["mean_iou"] == pytest.approx(81 / 119)
    assert row.confusion == [{"gold": None, "answer": "car", "count": 1}, {"gold": "car", "answer": "car", "count": 1},
                             {"gold": "person", "answer": None, "count": 1}]


def test_boxes_low_overlap_and_wrong_label(deliver, outbox_events):
    gold = {"objects": [{"label": "car", "bbox": [0, 0, 10, 10]}, {"label": "bus", "bbox": [100, 0, 10, 10]}]}
    answer = {"objects": [{"label": "car", "bbox": [6, 6, 10, 10]}, {"label": "car", "bbox": [100, 0, 10, 10]}]}
    payload, _ = score_one(deliver, outbox_events, answer_type="bbox", gold=gold, answer=answer)
    assert payload["error_counts"] == counts(missing=1, extra=1, low_overlap=1, wrong_label=1)
    assert payload["score"] == 0.0


def test_polygons_by_iou(deliver, outbox_events):
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    shifted = [[1, 1], [11, 1], [11, 11], [1, 11]]
    payload, row = score_one(deliver, outbox_events, answer_type="polygon",
                             gold={"objects": [{"label": "roof", "points": square}]},
                             answer={"objects": [{"label": "roof", "points": shifted}]})
    assert (payload["score"], payload["error_counts"]) == (1.0, counts())
    assert row.metrics["mean_iou"] == pytest.approx(81 / 119)


def test_keypoints_in_task_assignment_shape_by_oks(deliver, outbox_events):
    gold = {"objects": [{"label": "person", "points": [[10, 10], [20, 30]]}]}
    payload, row = score_one(deliver, outbox_events, answer_type="keypoints", gold=gold, answer=gold)
    assert (payload["score"], payload["error_counts"], row.metrics["mean_oks"]) == (1.0, counts(), 1.0)


def test_text_spans_f1(deliver, outbox_events):
    payload, _ = score_one(deliver, outbox_events, answer_type="text_span",
                           gold={"spans": [{"label": "PER", "start": 0, "end": 5}]},
                           answer={"spans": [{"label": "PER", "start": 0, "end": 5},
                                             {"label": "LOC", "start": 10, "end": 15}]})
    assert (payload["score"], payload["error_counts"]) == (pytest.approx(2 / 3), counts(extra=1))


@pytest.mark.parametrize("answer,score", [("hello   WORLD", 1.0), ("hello word", 1 - 1 / 11)])
def test_free_text_normalised_edit_distance(deliver, outbox_events, answer, score):
    payload, _ = score_one(deliver, outbox_events, answer_type="free_text", gold={"text": "Hello World"},
                           answer={"text": answer})
    assert payload["score"] == pytest.approx(score)


def aggregate(deliver, outbox_events, *, answer_type: str, answers: list, **settings):
    project, task = project_with(answer_type, overlap=len(answers), **settings), new_id()
    for i, answer in enumerate(answers):
        deliver(submitted(task_id=task, project_id=project, annotator=f"ann-{i}", answer=answer,
                          answer_type=answer_type, overlap=None, minutes=i))
    events = outbox_events("consensus.reached") + outbox_events("consensus.disputed")
    assert len(events) == 1
    return events[0]


def test_multi_choice_consensus_per_label(deliver, outbox_events):
    event = aggregate(deliver, outbox_events, answer_type="multi_choice",
                      answers=[{"labels": ["a", "b"]}, {"labels": ["a"]}, {"labels": ["a", "b"]}])
    assert (event.type, event.payload["answer"]) == ("consensus.disputed", {"labels": ["a", "b"]})
    assert (event.payload["confidence"], event.payload["agreement"]) == (pytest.approx(2 / 3), pytest.approx(5 / 6))


def test_box_consensus_clusters_fuses_and_drops_a_lone_box(deliver, outbox_events):
    event = aggregate(deliver, outbox_events, answer_type="bbox", answers=[
        {"objects": [{"label": "car", "bbox": [0, 0, 10, 10]}, {"label": "dog", "bbox": [300, 300, 5, 5]}]},
        {"objects": [{"label": "car", "bbox": [1, 1, 10, 10]}]},
        {"objects": [{"label": "car", "bbox": [0, 0, 11, 11]}]},
    ])
    assert event.type == "consensus.reached"
    assert event.payload["answer"] == {"objects": [{"label": "car", "bbox": [0.0, 0.0, 11.0, 11.0], "attributes": {}}]}
    assert event.payload["confidence"] == 1.0
    assert event.payload["method"] == "bbox_clustering"


def test_polygon_consensus_takes_the_medoid(deliver, outbox_events):
    sq = [[0, 0], [10, 0], [10, 10], [0, 10]]
    event = aggregate(deliver, outbox_events, answer_type="polygon", answers=[
        {"objects": [{"label": "roof", "points": sq}]},
        {"objects": [{"label": "roof", "points": [[1, 0], [11, 0], [11, 10], [1, 10]]}]},
        {"objects": [{"label": "roof", "points": [[-1, 0], [9, 0], [9, 10], [-1, 10]]}]},
    ])
    assert event.payload["answer"] == {"objects": [{"label": "roof", "points": [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0],
                                                                                [0.0, 10.0]], "attributes": {}}]}
    assert event.payload["confidence"] == 1.0


def test_keypoint_consensus(deliver, outbox_events):
    event = aggregate(deliver, outbox_events, answer_type="keypoints", answers=[
        {"objects": [{"label": "person", "points": [[10, 10], [20, 30]]}]},
        {"objects": [{"label": "person", "points": [[10, 10], [20, 30]]}]},
    ])
    assert event.payload["answer"] == {"objects": [{"label": "person", "keypoints": [[10.0, 10.0, 2], [20.0, 30.0, 2]],
                                                    "attributes": {}}]}
    assert (event.type, event.payload["confidence"], event.payload["agreement"]) == ("consensus.reached", 1.0, 1.0)


def test_span_consensus_by_character_vote(deliver, outbox_events):
    event = aggregate(deliver, outbox_events, answer_type="text_span", answers=[
        {"spans": [{"label": "PER", "start": 0, "end": 5}]}, {"spans": [{"label": "PER", "start": 0, "end": 5}]},
        {"spans": [{"label": "PER", "start": 0, "end": 4}]}])
    assert event.payload["answer"] == {"spans": [{"label": "PER", "start": 0, "end": 5}]}
    assert event.payload["confidence"] == pytest.approx((4 + 2 / 3) / 5)


def test_free_text_consensus_is_the_medoid(deliver, outbox_events):
    event = aggregate(deliver, outbox_events, answer_type="free_text",
                      answers=[{"text": "a dog"}, {"text": "The cat"}, {"text": "the cat"}])
    assert (event.type, event.payload["answer"], event.payload["confidence"]) == (
        "consensus.disputed", {"text": "The cat"}, pytest.approx(2 / 3))
