"""Worker reliability for multi choice, boxes, polygons and spans: a reliable and a careless worker told
apart on synthetic answers, exact skills and Beta intervals on small cases."""
import numpy as np
import pytest

from assay_scoring.numerics.errors import AggregationInputError
from assay_scoring.numerics.skills import multi_choice_skills, object_skills, span_skills


def test_multi_choice_tells_a_reliable_from_a_careless_worker():
    # given 40 items with a true label set over five labels, two reliable workers and one choosing at random
    rng = np.random.default_rng(3)
    labels = ["a", "b", "c", "d", "e"]
    items, workers, answers = [], [], []
    for i in range(40):
        truth = [x for x in labels if rng.random() < 0.3]
        for w in ("good-1", "good-2", "good-3"):
            items.append(f"t{i}"), workers.append(w), answers.append(truth)
        items.append(f"t{i}"), workers.append("careless"), answers.append([x for x in labels if rng.random() < 0.5])
    # when skills are fitted
    fit = multi_choice_skills(items=items, annotators=workers, answers=answers)
    # then the careless worker's interval lies wholly below every reliable worker's
    assert fit.annotators == ["careless", "good-1", "good-2", "good-3"]
    assert fit.n_answers.tolist() == [40, 40, 40, 40]
    careless = fit.interval(0)
    for w in (1, 2, 3):
        assert fit.skill[w] > 0.95
        assert careless.high < fit.interval(w).low
    assert fit.skill[0] == pytest.approx(0.5, abs=0.12)


def test_multi_choice_gold_is_clamped():
    # given two workers who always disagree on one label, and gold saying the first is right
    fit = multi_choice_skills(items=["t1", "t1", "t2", "t2"], annotators=["x", "y", "x", "y"],
                              answers=[["a"], [], ["a"], []], gold={"t1": ["a"], "t2": ["a"]})
    # then the one matching gold is the reliable one
    assert fit.skill[0] > 0.9 > 0.1 > fit.skill[1]


def box(x, label="car", w=10):
    return {"label": label, "bbox": [x, 0, w, 10]}


def test_boxes_exact_match_rates_and_beta_intervals():
    # given one item: A drew two boxes, B one box identical to A's first
    fit = object_skills(items=["t", "t"], annotators=["A", "B"], objects=[[box(0), box(50)], [box(0)]], kind="bbox")
    # then each matched one object of a union of two: 1/2, Beta(2, 2) interval
    assert fit.successes.tolist() == [1, 1] and fit.trials.tolist() == [2, 2]
    assert fit.skill.tolist() == [0.5, 0.5]
    assert fit.interval(0).as_dict() == pytest.approx(
        {"low": 0.094299, "high": 0.905701, "level": 0.95, "method": "beta"}, abs=1e-6)
    # given both drew the same single box: skill 1, Beta(2, 1) interval [sqrt(.025), sqrt(.975)]
    fit = object_skills(items=["t", "t"], annotators=["A", "B"], objects=[[box(0)], [box(0)]], kind="bbox")
    assert fit.skill.tolist() == [1.0, 1.0]
    assert (fit.interval(1).low, fit.interval(1).high) == pytest.approx((0.158114, 0.987421), abs=1e-6)


def test_boxes_with_another_label_or_low_iou_do_not_match():
    fit = object_skills(items=["t", "t", "t"], annotators=["A", "B", "C"],
                        objects=[[box(0)], [box(0, label="bus")], [box(6)]], kind="bbox")
    # then A and B each face two consensus objects (the others' boxes overlap by IoU 0.25 < 0.5, each kept at
    # quorum 0.5) and match neither (another label, too little overlap); C faces one box, A's and B's together
    assert fit.successes.tolist() == [0, 0, 0]
    assert fit.trials.tolist() == [3, 3, 2]


def test_a_lone_answer_gives_no_evidence_and_the_prior_interval():
    fit = object_skills(items=["t"], annotators=["A"], objects=[[box(0)]], kind="bbox")
    assert (fit.skill.tolist(), fit.trials.tolist(), fit.n_answers.tolist()) == ([0.5], [0], [1])
    assert (fit.interval(0).low, fit.interval(0).high) == pytest.approx((0.025, 0.975))


def test_boxes_tell_a_reliable_from_a_careless_worker():
    # given 30 images with two true cars each; three careful workers jitter by a pixel, a careless one
    # misses one car in two and draws a stray box in one image of three
    rng = np.random.default_rng(5)
    items, workers, objects = [], [], []
    for i in range(30):
        truth = [rng.uniform(0, 200, 2) for _ in range(2)]
        for w in ("good-1", "good-2", "good-3"):
            items.append(i), workers.append(w)
            objects.append([{"label": "car", "bbox": [*(t + rng.normal(0, 1, 2)), 30, 20]} for t in truth])
        mine = [{"label": "car", "bbox": [*truth[0], 30, 20]}]
        if i % 2:
            mine.append({"label": "car", "bbox": [*truth[1], 30, 20]})
        if i % 3 == 0:
            mine.append({"label": "car", "bbox": [400, 400, 10, 10]})
        items.append(i), workers.append("careless"), objects.append(mine)
    fit = object_skills(items=items, annotators=workers, objects=objects, kind="bbox")
    assert fit.annotators[0] == "careless"
    assert all(fit.skill[w] > 0.95 for w in (1, 2, 3))
    assert all(fit.interval(0).high < fit.interval(w).low for w in (1, 2, 3))


def test_polygons_match_like_boxes():
    square = {"label": "roof", "points": [[0, 0], [10, 0], [10, 10], [0, 10]]}
    apart = {"label": "roof", "points": [[50, 50], [60, 50], [60, 60], [50, 60]]}
    fit = object_skills(items=["t", "t"], annotators=["A", "B"], objects=[[square, apart], [square]], kind="polygon")
    assert fit.successes.tolist() == [1, 1] and fit.trials.tolist() == [2, 2]


def test_spans_exact_f1_and_interval():
    # given A marks characters 0-10 PER and B 0-5 PER: both have F1 2·5/(2·5+5) = 2/3
    fit = span_skills(items=["t", "t"], annotators=["A", "B"],
                      spans=[[{"label": "PER", "start": 0, "end": 10}], [{"label": "PER", "start": 0, "end": 5}]])
    assert fit.skill == pytest.approx([2 / 3, 2 / 3])
    assert fit.trials.tolist() == [1, 1]
    # Beta(1 + 2/3, 1 + 1/3)
    assert (fit.interval(0).low, fit.interval(0).high) == pytest.approx((0.087092, 0.960078), abs=1e-6)


def test_spans_both_empty_agree_and_another_label_disagrees():
    fit = span_skills(items=["t", "t", "u", "u"], annotators=["A", "B", "A", "B"],
                      spans=[[], [], [{"label": "PER", "start": 0, "end": 4}], [{"label": "ORG", "start": 0, "end": 4}]])
    assert fit.successes.tolist() == [1.0, 1.0] and fit.trials.tolist() == [2, 2]


def test_spans_tell_a_reliable_from_a_careless_worker():
    rng = np.random.default_rng(9)
    items, workers, spans = [], [], []
    for i in range(25):
        start = int(rng.integers(0, 80))
        truth = [{"label": "PER", "start": start, "end": start + 12}]
        for w in ("good-1", "good-2", "good-3"):
            items.append(i), workers.append(w), spans.append(truth)
        s = int(rng.integers(0, 80))
        items.append(i), workers.append("careless"), spans.append([{"label": "PER", "start": s, "end": s + 12}])
    fit = span_skills(items=items, annotators=workers, spans=spans)
    assert fit.skill[1:].tolist() == [1.0, 1.0, 1.0]
    assert all(fit.interval(0).high < fit.interval(w).low for w in (1, 2, 3))


def test_bad_inputs_are_refused_with_the_reason():
    with pytest.raises(AggregationInputError, match="same length"):
        span_skills(items=["t"], annotators=[], spans=[])
    with pytest.raises(AggregationInputError, match="kind"):
        object_skills(items=[], annotators=[], objects=[], kind="keypoints")
