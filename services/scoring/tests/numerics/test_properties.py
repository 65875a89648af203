"""Property tests: bounds, identity, consensus of identical answers, label permutation."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from assay_scoring.numerics.categorical import categorical_consensus, dawid_skene, majority_vote
from assay_scoring.numerics.gold_objects import score_boxes
from assay_scoring.numerics.gold_simple import score_free_text

box = st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(1, 50), st.floats(1, 50))
boxes = st.lists(box, max_size=5).map(lambda bs: {"objects": [{"label": "a", "bbox": list(b)} for b in bs]})


@settings(max_examples=60, deadline=None)
@given(boxes, boxes)
def test_box_scores_in_unit_interval_and_identity(a, g):
    s = score_boxes(answer=a, gold=g).score
    assert 0.0 <= s <= 1.0
    assert score_boxes(answer=g, gold=g).score == 1.0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20))
def test_free_text_bounds(a, b):
    assert 0.0 <= score_free_text(answer={"text": a}, gold={"text": b}).score <= 1.0
    assert score_free_text(answer={"text": a}, gold={"text": a}).score == 1.0


answers = st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 4), min_size=n, max_size=n), st.lists(st.integers(0, 2), min_size=n, max_size=n)))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2))
def test_identical_answers_consensus_with_confidence_one(n, label):
    items = np.zeros(n, dtype=int)
    for fn in (majority_vote, dawid_skene, categorical_consensus):
        r = fn(items=items, workers=np.arange(n), labels=np.full(n, label), n_classes=3)
        assert r.labels[0] == label
        if fn is majority_vote:
            assert r.confidence[0] == 1.0
        assert r.agreement[0] == 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 5), st.integers(0, 2)), min_size=1, max_size=40),
       st.permutations([0, 1, 2]))
def test_label_permutation_does_not_change_accuracy(rows, perm):
    arr = np.array(rows)
    _, keep = np.unique(arr[:, 0] * 10 + arr[:, 1], return_index=True)
    arr = arr[keep]
    perm = np.array(perm)
    truth = np.arange(10) % 3
    for fn in (dawid_skene, categorical_consensus):
        a = fn(items=arr[:, 0], workers=arr[:, 1], labels=arr[:, 2], n_items=10, n_classes=3)
        b = fn(items=arr[:, 0], workers=arr[:, 1], labels=perm[arr[:, 2]], n_items=10, n_classes=3)
        pa, pb = a.posteriors, b.posteriors[:, perm]
        assert np.allclose(pa, pb, atol=1e-6)
        acc_a = (a.labels == truth)[a.labels >= 0].mean() if (a.labels >= 0).any() else 0
        unique_top = (np.sort(pa, axis=1)[:, -1] - np.sort(pa, axis=1)[:, -2]) > 1e-6
        if unique_top.all():
            acc_b = (np.argsort(perm)[b.labels] == truth)[b.labels >= 0].mean()
            assert acc_a == acc_b
