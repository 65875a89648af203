"""Krippendorff's alpha with a distance: the published worked examples, and boxes and polygons with 1 − IoU."""
import math

import pytest

from assay_metrics.numerics.alpha import alpha_with_distance, iou_distance, object_units


def units_of(rows: list[list]) -> list[list[tuple[str, object]]]:
    """Reliability data (coders × units, None = missing) as units of (coder, value)."""
    return [[(f"c{c}", row[u]) for c, row in enumerate(rows) if row[u] is not None] for u in range(len(rows[0]))]


def test_krippendorff_2011_worked_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers, 12 units
    _ = None
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
            [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _]]
    got = alpha_with_distance(units=units_of(data), distance=lambda a, b: 0.0 if a == b else 1.0)
    # nominal alpha 0.743 over 40 pairable values in 11 units (unit 12 has one value)
    assert (round(got.alpha, 3), got.n_values, got.n_units) == (0.743, 40, 11)
    interval = alpha_with_distance(units=units_of(data), distance=lambda a, b: (a - b) ** 2)
    assert round(interval.alpha, 3) == 0.849


def test_krippendorff_package_documentation_example():
    _ = None
    data = [[_, _, _, _, _, 3, 4, 1, 2, 1, 1, 3, 3, _, 3],
            [1, _, 2, 1, 3, 3, 4, 3, _, _, _, _, _, _, _],
            [_, _, 2, 1, 3, 4, 4, _, 2, 1, 1, 3, 3, _, 4]]
    assert alpha_with_distance(units=units_of(data), distance=lambda a, b: float(a != b)).alpha == 0.691358
    assert alpha_with_distance(units=units_of(data), distance=lambda a, b: (a - b) ** 2).alpha == 0.810845


def test_per_coder_alpha_restricts_the_observed_disagreement():
    # coder c2 disagrees once with both others in the second unit; the others agree everywhere else
    got = alpha_with_distance(units=[[("c0", 1), ("c1", 1), ("c2", 1)], [("c0", 2), ("c1", 2), ("c2", 1)]],
                              distance=lambda a, b: float(a != b))
    # D_e = 2·4·2 / (6·5) = 16/30; D_o = (0.5 + 0.5 + 1) / 6 = 1/3 → alpha = 0.375;
    # c2: D_o = (0 + 1) / 2 → 1 − 0.5·30/16 = 0.0625; c0: D_o = (0 + 0.5) / 2 → 0.53125
    assert got.alpha == 0.375
    assert got.coders == {"c0": (0.53125, 2), "c1": (0.53125, 2), "c2": (0.0625, 2)}


def test_no_expected_disagreement_gives_no_alpha():
    got = alpha_with_distance(units=[[("a", 1), ("b", 1)]], distance=lambda a, b: float(a != b))
    assert got.alpha is None and got.n_values == 2
    assert alpha_with_distance(units=[[("a", 1)]], distance=lambda a, b: 0.0).alpha is None


def box(x, label="car"):
    return {"label": label, "bbox": [x, 0, 10, 10]}


def test_boxes_become_units_with_nothing_for_a_missed_object():
    # given one image: A and B drew a car at 0 (B shifted by 5: IoU 1/3), only A a second car
    units = object_units(answers=[("t", "A", [box(0), box(100)]), ("t", "B", [box(5)])])
    assert len(units) == 2
    first, second = units
    assert [c for c, _ in first] == ["A", "B"] and second[1] == ("B", None)
    assert iou_distance(first[0][1], first[1][1]) == pytest.approx(2 / 3)
    assert iou_distance(second[0][1], second[1][1]) == 1.0
    # alpha: 4 values, D_o = (2·2/3 + 2·1) / 4 = 5/6; D_e = sum over all ordered pairs / 12
    got = alpha_with_distance(units=units, distance=iou_distance)
    d = [[0, 2 / 3, 1, 1], [2 / 3, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]]
    expected = sum(map(sum, d)) / 12
    assert got.alpha == round(1 - (5 / 6) / expected, 6)


def test_another_label_is_full_disagreement_and_polygons_use_their_area():
    assert iou_distance(("car", object_units(answers=[("t", "A", [box(0)])])[0][0][1][1]), None) == 1.0
    square = {"label": "roof", "points": [[0, 0], [10, 0], [10, 10], [0, 10]]}
    half = {"label": "roof", "points": [[0, 0], [5, 0], [5, 10], [0, 10]]}
    [[(_, a), (_, b)]] = object_units(answers=[("t", "A", [square]), ("t", "B", [half])])
    assert iou_distance(a, b) == 0.5
    assert iou_distance(a, ("wall", b[1])) == 1.0
    assert math.isclose(iou_distance(a, a), 0.0)
