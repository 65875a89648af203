"""Categorical aggregators, object consensus and agreement on hand-computed cases."""

import numpy as np
import pytest

from assay_scoring.numerics.agreement import fleiss_kappa, krippendorff_alpha, pairwise_cohen_kappa
from assay_scoring.numerics.categorical import (
    categorical_consensus,
    dawid_skene,
    glad,
    mace,
    majority_vote,
    multi_choice_consensus,
    one_coin_dawid_skene,
    weighted_vote,
)
from assay_scoring.numerics.consensus_objects import box_consensus, span_consensus
from assay_scoring.numerics.errors import AggregationInputError

ALL = [majority_vote, weighted_vote, dawid_skene, one_coin_dawid_skene, glad, mace, categorical_consensus]


def test_majority_tie_goes_to_lowest_label():
    r = majority_vote(items=np.array([0, 0]), workers=np.array([0, 1]), labels=np.array([1, 0]))
    assert r.labels[0] == 0 and r.confidence[0] == 0.5 and r.agreement[0] == 0.5


@pytest.mark.parametrize("fn", ALL)
def test_one_annotator_and_unanswered_item(fn):
    r = fn(items=np.array([0, 1]), workers=np.array([0, 0]), labels=np.array([1, 0]), n_items=3, n_classes=2)
    assert r.labels[:2].tolist() == [1, 0] and r.labels[2] == -1
    assert np.isnan(r.agreement[2]) and r.posteriors.shape == (3, 2)


@pytest.mark.parametrize("fn", ALL)
def test_all_disagreeing_gives_low_confidence(fn):
    r = fn(items=np.zeros(3, dtype=int), workers=np.arange(3), labels=np.arange(3))
    assert r.confidence[0] < 0.9 and r.agreement[0] == pytest.approx(1 / 3)


@pytest.mark.parametrize("fn", ALL)
def test_clamped_gold_is_respected(fn):
    r = fn(items=np.array([0, 0, 0]), workers=np.arange(3), labels=np.array([1, 1, 1]),
           gold_items=np.array([0]), gold_labels=np.array([0]), n_classes=2)
    assert r.labels[0] == 0 and r.confidence[0] == 1.0


def test_inputs_are_checked():
    with pytest.raises(AggregationInputError):
        majority_vote(items=np.array([0]), workers=np.array([0, 1]), labels=np.array([0]))
    with pytest.raises(AggregationInputError):
        dawid_skene(items=np.array([0]), workers=np.array([0]), labels=np.array([3]), n_classes=2)
    with pytest.raises(AggregationInputError):
        mace(items=np.array([0]), workers=np.array([0]), labels=np.array([0]),
             gold_items=np.array([0]), gold_labels=np.array([5]), n_classes=2)


def test_dawid_skene_finds_the_reliable_worker():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 300)
    items = np.repeat(np.arange(300), 5)
    workers = np.tile(np.arange(5), 300)
    flip = rng.random(1500) < np.where(workers == 0, 0.0, 0.35)
    labels = np.where(flip, 1 - truth[items], truth[items])
    r = dawid_skene(items=items, workers=workers, labels=labels)
    assert (r.labels == truth).mean() > 0.9 and r.worker_skill.argmax() == 0


def test_multi_choice_consensus_per_option():
    sel = np.array([[1, 0], [1, 1], [1, 0]])
    out = multi_choice_consensus(items=np.zeros(3, dtype=int), workers=np.arange(3), selections=sel)
    assert [o.labels[0] for o in out] == [1, 0]


def test_box_consensus_quorum_and_median():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 10, 10], [0, 1, 10, 10], [100, 100, 5, 5]])
    r = box_consensus(boxes=boxes, annotators=np.array([0, 1, 2, 0]), n_annotators=3)
    assert len(r.geometry) == 1 and np.allclose(r.geometry[0], [0, 0, 10, 10])
    assert r.support[0] == 1.0


def test_span_consensus_token_vote():
    a = [[{"label": "PER", "start": 0, "end": 4}]] * 2 + [[]]
    r = span_consensus(answers=a, text_length=6)
    assert r.spans == [("PER", 0, 4, pytest.approx(2 / 3))]


def test_krippendorff_known_value_and_kappas():
    # Krippendorff (2011) example: nominal alpha = 0.691358 (reliability data of the krippendorff docs)
    data = [[np.nan, np.nan, np.nan, np.nan, np.nan, 3, 4, 1, 2, 1, 1, 3, 3, np.nan, 3],
            [1, np.nan, 2, 1, 3, 3, 4, 3, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
            [np.nan, np.nan, 2, 1, 3, 4, 4, np.nan, 2, 1, 1, 3, 3, np.nan, 4]]
    m = np.array(data)
    w, i = np.nonzero(~np.isnan(m))
    lab = m[w, i].astype(int) - 1
    assert krippendorff_alpha(items=i, workers=w, labels=lab) == pytest.approx(0.691358, abs=1e-6)
    assert krippendorff_alpha(items=i, workers=w, labels=lab, level="interval", values=np.arange(1, 5)) \
        == pytest.approx(0.810845, abs=1e-6)
    f = fleiss_kappa(items=np.array([0, 0, 1, 1]), workers=np.array([0, 1, 0, 1]), labels=np.array([0, 0, 1, 1]))
    assert f.kappa == pytest.approx(1.0)
    pk = pairwise_cohen_kappa(items=np.array([0, 1, 0, 1]), workers=np.array([0, 0, 1, 1]), labels=np.array([0, 1, 1, 0]))
    assert pk.kappa[0, 1] == pytest.approx(-1.0) and pk.overlap[0, 1] == 2
