"""The fitted model's posteriors of many tasks in one vectorised step equal the per-task posterior (ADR 0062)."""
import numpy as np

from assay_scoring.core.compute.config import FittedModel, ScoringConfig
from assay_scoring.core.compute.consensus import model_posteriors
from assay_scoring.core.compute.online import posterior_from_model, posteriors_from_model


def model(rng, k: int = 3, seen: tuple[str, ...] = ("a", "b", "c")) -> FittedModel:
    return FittedModel(method="dawid_skene", labels=tuple(f"l{i}" for i in range(k)),
                       class_priors=tuple(rng.dirichlet(np.ones(k))), mean_skill=0.7,
                       mean_confusion=rng.dirichlet(np.ones(k), size=k).tolist(),
                       skills={n: 0.7 for n in seen}, confusions={n: rng.dirichlet(np.ones(k), size=k).tolist()
                                                                  for n in seen})


def test_batched_posteriors_equal_the_per_task_posteriors():
    # given a fitted model and tasks of 1 to 6 answers, by seen and unseen annotators
    rng = np.random.default_rng(3)
    fitted = model(rng)
    names = ["a", "b", "c", "new-1", "new-2", "a"]
    tasks = [(names[:n], [f"l{i}" for i in rng.integers(3, size=n)]) for n in range(1, 7) for _ in range(5)]
    # when they are computed in one call
    batched = posteriors_from_model(model=fitted, tasks=tasks)
    # then each equals the single-task posterior
    for (annotators, labels), post in zip(tasks, batched):
        assert np.allclose(post, posterior_from_model(model=fitted, annotators=annotators, labels=labels),
                           rtol=0, atol=1e-12)


def test_tasks_the_model_cannot_judge_get_none_and_leave_the_others_alone():
    rng = np.random.default_rng(4)
    fitted = model(rng)
    broken = FittedModel(**{**fitted.__dict__, "confusions": {**fitted.confusions, "b": [[1.0]]}})
    tasks = [(["a"], ["l0"]), (["a", "b"], ["l1", "l2"]), (["c"], ["unknown"]), (["c"], None), (["a"], ["l2"])]
    out = posteriors_from_model(model=broken, tasks=tasks)
    assert [p is None for p in out] == [False, True, True, True, False]
    assert np.allclose(out[4], posterior_from_model(model=fitted, annotators=["a"], labels=["l2"]), rtol=0, atol=1e-12)
    assert posteriors_from_model(model=FittedModel(method="dawid_skene", labels=(), class_priors=(), mean_skill=0.5,
                                                   mean_confusion=[]), tasks=tasks[:1]) == [None]


def test_model_posteriors_apply_only_to_the_fitted_method_and_skip_invalid_answers():
    rng = np.random.default_rng(5)
    fitted = model(rng)
    config = ScoringConfig(answer_type="single_choice", labels=("l0", "l1", "l2"), consensus_method="dawid_skene")
    tasks = [(["a", "b"], [{"label": "l0"}, {"label": "l1"}]), (["a"], [{"labels": ["l0"]}])]
    first, invalid = model_posteriors(config=config, model=fitted, tasks=tasks)
    assert np.allclose(first, posterior_from_model(model=fitted, annotators=["a", "b"], labels=["l0", "l1"]),
                       rtol=0, atol=1e-12)
    assert invalid is None
    other = ScoringConfig(answer_type="single_choice", labels=("l0", "l1", "l2"), consensus_method="mace")
    assert model_posteriors(config=other, model=fitted, tasks=tasks) == [None, None]
    assert model_posteriors(config=config, model=None, tasks=tasks) == [None, None]
