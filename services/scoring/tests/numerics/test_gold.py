"""Gold scorers on hand-computed cases, validation errors and degenerate geometry."""

import numpy as np
import pytest

from assay_scoring.numerics.errors import AnswerValidationError
from assay_scoring.numerics.gold_objects import score_boxes, score_keypoints, score_polygons
from assay_scoring.numerics.gold_simple import (
    normalized_edit_distance,
    score_free_text,
    score_multi_choice,
    score_single_choice,
    score_spans,
)


def test_single_choice_exact_and_cost_matrix():
    assert score_single_choice(answer={"label": "a"}, gold={"label": "a"}).score == 1.0
    s = score_single_choice(answer={"label": "b"}, gold={"label": "a"})
    assert s.score == 0.0 and s.error_counts["wrong_label"] == 1 and s.confusion[("a", "b")] == 1
    assert score_single_choice(answer={"label": "b"}, gold={"label": "a"}, cost={("a", "b"): 0.25}).score == 0.75


def test_single_choice_unknown_label_is_refused_with_path():
    with pytest.raises(AnswerValidationError) as e:
        score_single_choice(answer={"label": "z"}, gold={"label": "a"}, labels=frozenset({"a", "b"}))
    assert e.value.path == "label" and "unknown label" in e.value.reason


def test_multi_choice_jaccard_and_f1():
    s = score_multi_choice(answer={"labels": ["a", "b"]}, gold={"labels": ["b", "c"]})
    assert s.metrics["jaccard"] == pytest.approx(1 / 3) and s.metrics["f1"] == pytest.approx(0.5)
    assert s.error_counts["missing"] == 1 and s.error_counts["extra"] == 1
    assert score_multi_choice(answer={"labels": []}, gold={"labels": []}).score == 1.0


def test_boxes_matching_errors_and_attributes():
    gold = {"objects": [{"label": "car", "bbox": [0, 0, 10, 10], "attributes": {"color": "red"}},
                        {"label": "car", "bbox": [50, 50, 10, 10]},
                        {"label": "bus", "bbox": [200, 200, 10, 10]}]}
    ans = {"objects": [{"label": "car", "bbox": [0, 0, 10, 10], "attributes": {"color": "blue"}},
                       {"label": "bus", "bbox": [50, 50, 10, 10]},
                       {"label": "bus", "bbox": [207, 207, 10, 10]}]}
    s = score_boxes(answer=ans, gold=gold)
    c = s.error_counts
    assert (c["wrong_label"], c["wrong_attribute"], c["missing"], c["extra"], c["low_overlap"]) == (1, 1, 1, 1, 1)
    assert s.metrics["precision"] == pytest.approx(1 / 3) and s.score == pytest.approx(1 / 3)
    assert s.metrics["mean_iou"] == pytest.approx(1.0)


def test_boxes_empty_answers():
    assert score_boxes(answer={"objects": []}, gold={"objects": []}).score == 1.0
    s = score_boxes(answer={"objects": []}, gold={"objects": [{"label": "a", "bbox": [0, 0, 1, 1]}]})
    assert s.score == 0.0 and s.error_counts["missing"] == 1


def test_degenerate_box_refused_with_field_path():
    with pytest.raises(AnswerValidationError) as e:
        score_boxes(answer={"objects": [{"label": "a", "bbox": [0, 0, 5, 5]}, {"label": "a", "bbox": [0, 0, 0, 5]}]},
                    gold={"objects": []})
    assert e.value.path == "objects[1].bbox[2]"


def test_polygon_zero_area_refused_and_bowtie_repaired():
    line = {"objects": [{"label": "a", "points": [[0, 0], [1, 1], [2, 2]]}]}
    with pytest.raises(AnswerValidationError) as e:
        score_polygons(answer=line, gold=line)
    assert e.value.path == "objects[0].points" and "zero area" in e.value.reason
    bowtie = {"objects": [{"label": "a", "points": [[0, 0], [10, 10], [10, 0], [0, 10]]}]}
    square = {"objects": [{"label": "a", "points": [[0, 0], [10, 0], [10, 10], [0, 10]]}]}
    assert score_polygons(answer=bowtie, gold=bowtie).score == 1.0
    s = score_polygons(answer=bowtie, gold=square, iou_threshold=0.4)
    assert s.metrics["mean_iou"] == pytest.approx(0.5)


def test_keypoints_oks_and_outside_image():
    sig = np.array([0.1, 0.1])
    gold = {"objects": [{"label": "p", "keypoints": [[10, 10, 2], [20, 20, 2]]}]}
    assert score_keypoints(answer=gold, gold=gold, sigmas=sig).score == 1.0
    outside = {"objects": [{"label": "p", "keypoints": [[10, 10, 2], [500, 20, 2]]}]}
    s = score_keypoints(answer=outside, gold=gold, sigmas=sig, width=100, height=100)
    assert s.metrics["mean_oks"] == pytest.approx(0.5)
    with pytest.raises(AnswerValidationError) as e:
        score_keypoints(answer={"objects": [{"label": "p", "keypoints": [[1, 1, 2]]}]}, gold=gold, sigmas=sig)
    assert e.value.path == "objects[0].keypoints"


def test_spans_exact_and_overlap():
    gold = {"spans": [{"label": "PER", "start": 0, "end": 5}, {"label": "LOC", "start": 10, "end": 15}]}
    ans = {"spans": [{"label": "PER", "start": 0, "end": 5}, {"label": "LOC", "start": 11, "end": 15}]}
    assert score_spans(answer=ans, gold=gold, mode="exact").score == pytest.approx(0.5)
    assert score_spans(answer=ans, gold=gold, mode="overlap").score == pytest.approx(1.0)
    with pytest.raises(AnswerValidationError) as e:
        score_spans(answer={"spans": [{"label": "PER", "start": 3, "end": 3}]}, gold=gold)
    assert e.value.path == "spans[0].end"


def test_free_text_edit_distance():
    assert normalized_edit_distance(a="kitten", b="sitting") == pytest.approx(3 / 7)
    assert score_free_text(answer={"text": "Hello  World"}, gold={"text": "hello world"}).score == 1.0
    assert score_free_text(answer={"text": ""}, gold={"text": ""}).score == 1.0
