"""Variational-Bayes MACE: hand-computed steps and behaviour on small designed inputs."""

import numpy as np
import pytest
from scipy.special import digamma

from assay_scoring.numerics.categorical import mace


def test_one_answer_posterior_equals_the_hand_computed_vb_step():
    # given: one worker answering label 0 on one item, 2 classes, Beta(1,1) and Dirichlet(1) priors
    # when: MACE starts from majority vote and runs no further iteration
    r = mace(items=np.array([0]), workers=np.array([0]), labels=np.array([0]), n_classes=2,
             init="majority", knowing_prior=(1.0, 1.0), strategy_prior=1.0, n_iter=0)
    # then: the MV start gives know = spam = 1/2 counts, so spam = know = exp(psi(1.5) - psi(3)),
    # strategy[0] = exp(psi(1.5) - psi(2.5)); P(T=0) = (s*t0 + k) / (2*s*t0 + k) with s = k
    t0 = np.exp(digamma(1.5) - digamma(2.5))
    assert r.posteriors[0, 0] == pytest.approx((t0 + 1) / (2 * t0 + 1), rel=1e-12)
    assert r.worker_skill[0] == pytest.approx(np.exp(digamma(1.5) - digamma(3.0)), rel=1e-12)


def _crowd(seed: int = 0, n_items: int = 60):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    items, workers, labels = [], [], []
    for i in range(n_items):
        for w in range(4):  # workers 0-3: right 90% of the time, else a random label
            items.append(i)
            workers.append(w)
            labels.append(truth[i] if rng.random() < 0.9 else rng.integers(0, 3))
        items.append(i)  # worker 4: spammer who always answers 0
        workers.append(4)
        labels.append(0)
        items.append(i)  # worker 5: uniformly random answers
        workers.append(5)
        labels.append(rng.integers(0, 3))
    return np.array(items), np.array(workers), np.array(labels), truth


@pytest.mark.parametrize("init", ["majority", "random", "both"])
def test_identical_answers_win_with_confidence_near_one(init):
    # given: five workers who all answer label 2 on item 0 (and a few other items)
    items, workers, labels, _ = _crowd()
    extra_i = np.full(5, items.max() + 1)
    items = np.concatenate([items, extra_i])
    workers = np.concatenate([workers, np.arange(5)])
    labels = np.concatenate([labels, np.full(5, 2)])
    # when
    r = mace(items=items, workers=workers, labels=labels, init=init, n_restarts=3)
    # then
    assert r.labels[extra_i[0]] == 2
    assert r.confidence[extra_i[0]] > 0.99


@pytest.mark.parametrize("prior", [((0.5, 0.5), 10.0), ((1.0, 1.0), 1.0)])
def test_spammers_get_near_zero_weight_and_truth_is_recovered(prior):
    # given: four good workers, a constant answerer and a random answerer
    items, workers, labels, truth = _crowd()
    # when
    r = mace(items=items, workers=workers, labels=labels, init="majority",
             knowing_prior=prior[0], strategy_prior=prior[1])
    # then: spammers' P(knowing) is near zero, good workers' near 0.9, truth recovered
    assert r.worker_skill[4] < 0.1
    assert r.worker_skill[5] < 0.2
    assert (r.worker_skill[:4] > 0.8).all()
    assert (r.labels == truth).mean() >= 0.95
    # and the constant answerer's strategy puts nearly all its mass on label 0
    assert r.extra["strategy"][4, 0] > 0.7  # 1/3 would be no preference


def test_clamped_gold_overrides_unanimous_answers():
    # given: all six workers disagree with the gold of item 0
    items, workers, labels, truth = _crowd()
    gold = (truth[0] + 1) % 3
    # when
    r = mace(items=items, workers=workers, labels=labels, init="both", select="elbo",
             gold_items=np.array([0]), gold_labels=np.array([gold]))
    # then: the gold label is kept with confidence 1, the rest is still recovered
    assert r.labels[0] == gold and r.confidence[0] == 1.0
    assert (r.labels[1:] == truth[1:]).mean() >= 0.95


def test_elbo_is_below_the_plug_in_likelihood_and_selection_is_checked():
    items, workers, labels, _ = _crowd()
    r = mace(items=items, workers=workers, labels=labels, init="both", n_restarts=2, select="elbo")
    assert np.isfinite(r.extra["elbo"])
    assert r.extra["elbo"] < r.extra["log_marginal_likelihood"]
    with pytest.raises(ValueError):
        mace(items=items, workers=workers, labels=labels, select="best")
    with pytest.raises(ValueError):
        mace(items=items, workers=workers, labels=labels, init="nope")
