"""The default consensus chooses its model by held-out answer likelihood; stress sets it must survive."""

import sys
from pathlib import Path

import numpy as np
import pytest

from assay_scoring.numerics.categorical import categorical_consensus, dawid_skene, mace
from assay_scoring.numerics.categorical._common import check_answers
from assay_scoring.numerics.categorical.default import CANDIDATES, FALLBACK
from assay_scoring.numerics.categorical.selection import heldout_answer_loglik
from assay_scoring.numerics.errors import AggregationInputError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from stress import SCENARIOS, Recipe, generate, stress_set  # noqa: E402


def _fit(s, fn=categorical_consensus):
    return fn(items=s.items, workers=s.workers, labels=s.labels, n_classes=s.n_classes)


def test_stress_sets_are_reproducible_and_seeded():
    a, b, c = stress_set("spammers_30pct_r5", seed=3), stress_set("spammers_30pct_r5", seed=3), \
        stress_set("spammers_30pct_r5", seed=4)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("items", "workers", "labels", "truth"))
    assert not np.array_equal(a.labels, c.labels)


def test_stress_recipes_do_what_they_say():
    imb = stress_set("imbalanced_95_5_r3")
    assert abs((imb.truth == 0).mean() - 0.95) < 0.02
    assert np.all(np.bincount(imb.items) == 3)
    many = stress_set("classes_20_r7")
    assert many.n_classes == 20 and np.all(np.bincount(many.items) == 7)
    tail = stress_set("long_tail_workers_r3_6")
    per_item = np.bincount(tail.items)
    assert per_item.min() >= 3 and per_item.max() <= 6
    per_worker = np.bincount(tail.workers)
    assert np.median(per_worker) < 0.2 * per_worker.max()  # most workers answer few items
    for n, ans in ((2, 3), (20, 10)):
        s = generate(Recipe(n_items=50, n_classes=n, answers=(ans, ans), spammers=0.2, adversaries=0.2,
                            biased=0.1, hard=0.5), seed=1)
        assert np.all(np.bincount(s.items) == ans) and s.labels.max() < n
        key = s.items * 1000 + s.workers
        assert np.unique(key).size == key.size  # distinct workers per item


def test_stress_recipe_errors_are_refused():
    with pytest.raises(ValueError):
        generate(Recipe(spammers=0.7, adversaries=0.5), seed=0)
    with pytest.raises(ValueError):
        generate(Recipe(answers=(4, 2)), seed=0)
    with pytest.raises(KeyError):
        stress_set("no_such_scenario")


@pytest.mark.parametrize("name", ["imbalanced_88_12_r3", "adversaries_15pct_r5", "classes_10_r5",
                                  "mixed_imbalanced_hard_spam"])
def test_default_is_at_least_dawid_skene_on_stress_sets(name):
    s = stress_set(name, seed=0)
    r, ds = _fit(s), _fit(s, dawid_skene)
    assert (r.labels == s.truth).mean() >= (ds.labels == s.truth).mean() - 0.002


def test_imbalanced_set_no_longer_overpredicts_the_rare_class():
    # the case from the field: 88/12, three answers per item; MACE with equal priors predicted the
    # rare class about twice as often as it occurs
    s = stress_set("imbalanced_88_12_r3", seed=0)
    rare_true = (s.truth == 1).mean()
    old = mace(items=s.items, workers=s.workers, labels=s.labels, n_classes=2, init="majority",
               knowing_prior=(1.0, 1.0), strategy_prior=1.0)
    r = _fit(s)
    assert (old.labels == 1).mean() > 1.8 * rare_true
    assert abs((r.labels == 1).mean() - rare_true) < 0.3 * rare_true
    assert abs(r.class_priors[1] - rare_true) < 0.05


def test_the_choice_follows_the_data():
    # symmetric annotators over many classes: the one-coin model predicts held-out answers best;
    # systematic confusions (adversaries): a confusion-matrix model does
    assert _fit(stress_set("classes_20_r7")).extra["model"] == "one_coin_dawid_skene"
    assert _fit(stress_set("adversaries_15pct_r5")).extra["model"].startswith("dawid_skene_map")


def test_choice_reports_every_candidate_score_and_is_deterministic():
    s = stress_set("spammers_50pct_r7", seed=2)
    a, b = _fit(s), _fit(s)
    assert a.method == "default" and a.extra["model"] == b.extra["model"]
    assert set(a.extra["heldout_loglik"]) == {c.name for c in CANDIDATES}
    assert a.extra["heldout_loglik"][a.extra["model"]] == max(a.extra["heldout_loglik"].values())
    assert np.array_equal(a.labels, b.labels)
    assert a.worker_confusion.shape == (s.workers.max() + 1, 4, 4)
    assert np.allclose(a.class_priors.sum(), 1.0)


def test_heldout_loglik_prefers_the_true_model_shape():
    # every answer predicted; a perfect annotator pool is predicted almost surely
    s = generate(Recipe(n_items=300, n_classes=3, major=None, acc_a=200.0, acc_b=1.0, class_jitter=0.0), seed=0)
    data = check_answers(items=s.items, workers=s.workers, labels=s.labels, n_classes=3)
    score = heldout_answer_loglik(candidate=CANDIDATES[2], data=data, gold_items=None, gold_labels=None,
                                  folds=5, seed=0)
    assert -0.1 < score <= 0.0


def test_small_data_uses_the_fallback_and_gold_is_clamped():
    r = categorical_consensus(items=np.array([0, 0, 1]), workers=np.array([0, 1, 0]), labels=np.array([1, 1, 0]),
                              gold_items=np.array([0]), gold_labels=np.array([0]), n_classes=2)
    assert r.extra["model"] == FALLBACK and r.extra["heldout_loglik"] == {}
    assert r.labels[0] == 0


def test_bad_folds_are_refused():
    with pytest.raises(AggregationInputError):
        categorical_consensus(items=np.array([0]), workers=np.array([0]), labels=np.array([0]), folds=1)


def test_every_scenario_draws():
    for name in SCENARIOS:
        s = stress_set(name, seed=0)
        assert s.items.size == s.workers.size == s.labels.size and s.truth.size > 0


def test_large_projects_choose_on_a_subset_of_items_and_fit_on_all(monkeypatch):
    from assay_scoring.numerics.categorical import default
    s = stress_set("classes_10_r5", seed=0)
    gold_items, gold_labels = np.arange(0, 2000, 50), s.truth[np.arange(0, 2000, 50)]
    monkeypatch.setitem(default.DEFAULT_CONFIG, "max_choice_answers", 2_000)
    r = categorical_consensus(items=s.items, workers=s.workers, labels=s.labels, n_classes=10,
                              gold_items=gold_items, gold_labels=gold_labels)
    assert r.extra["model"] == "one_coin_dawid_skene" and r.labels.shape == (2000,)
    assert np.array_equal(r.labels[gold_items], gold_labels)
    assert (r.labels == s.truth).mean() > 0.95


def test_bad_gold_is_refused_before_any_fit():
    s = stress_set("balanced_2c_r5", seed=0)
    with pytest.raises(AggregationInputError, match="gold_labels"):
        categorical_consensus(items=s.items, workers=s.workers, labels=s.labels, n_classes=2,
                              gold_items=np.array([0]), gold_labels=np.array([7]))
