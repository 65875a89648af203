"""Pipeline figures of the scoring service (not collected by default; run this file explicitly).

Prints: annotation.submitted applied per second through the real processor (storage, gold scoring,
consensus at overlap, outbox), the per-task posterior from a fitted model, and a project refit.
Checks the work was done; asserts no timings.
"""
import time
import uuid

import numpy as np
import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.db.tenancy import tenant_atomic

from assay_scoring.core.compute.config import FittedModel
from assay_scoring.core.compute.online import posterior_from_model
from assay_scoring.core.models import ConsensusResult, GoldScore
from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.projects import project_settings_update
from assay_scoring.core.services.refit import project_model_refit
from tests.factories import submitted

pytestmark = pytest.mark.django_db
LABELS = [f"class-{i}" for i in range(5)]


def test_bench_pipeline(deliver):
    rng = np.random.default_rng(7)
    n_tasks, overlap, n_annotators = 400, 3, 30
    project = str(uuid.uuid4())
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="bench", values={
            "answer_type": "single_choice", "labels": LABELS, "overlap": overlap, "consensus_method": "dawid_skene"})
    skill = rng.uniform(0.55, 0.95, n_annotators)
    tasks = [(str(uuid.uuid4()), LABELS[rng.integers(5)]) for _ in range(n_tasks)]
    with tenant_atomic(tenant="acme"):
        for task, truth in tasks[: n_tasks // 10]:
            gold_answer_set(project_id=project, task_id=task, answer={"label": truth}, reason="bench", actor="bench")
    events = []
    for t, (task, truth) in enumerate(tasks):
        for a in rng.choice(n_annotators, overlap, replace=False):
            label = truth if rng.random() < skill[a] else LABELS[rng.integers(5)]
            events.append(submitted(task_id=task, project_id=project, annotator=f"ann-{a}", answer={"label": label},
                                    overlap=None, minutes=t))
    half = len(events) // 2

    def run(batch, what):
        started = time.perf_counter()
        outcomes = [deliver(e).outcome for e in batch]
        elapsed = time.perf_counter() - started
        assert outcomes.count(Outcome.APPLIED) == len(batch)
        print(f"annotation.submitted applied ({what}): {len(batch)} in {elapsed:.2f} s = {len(batch) / elapsed:.0f}/s "
              f"({elapsed / len(batch) * 1000:.2f} ms each, one process, gold 10%, overlap {overlap})")

    print()
    run(events[:half], "before any fit: weighted vote")
    started = time.perf_counter()
    with tenant_atomic(tenant="acme"):
        model = project_model_refit(project_id=project)
    print(f"refit (dawid_skene, {model.n_answers} answers, {model.n_tasks} tasks, {model.n_gold} gold, "
          f"{n_annotators} skill events): {time.perf_counter() - started:.3f} s")
    run(events[half:], "after the fit: posterior from the fitted model")
    with tenant_atomic(tenant="acme"):
        assert GoldScore.objects.count() == (n_tasks // 10) * overlap
        assert ConsensusResult.objects.count() == n_tasks - n_tasks // 10
        methods = set(ConsensusResult.objects.values_list("method", flat=True))
    assert methods == {"weighted_vote", "dawid_skene"}

    k = 20
    names = [f"w{i}" for i in range(5)]
    big = FittedModel(method="dawid_skene", labels=tuple(f"l{i}" for i in range(k)), class_priors=tuple([1 / k] * k),
                      mean_skill=0.8, mean_confusion=rng.dirichlet(np.ones(k), size=k).tolist(),
                      skills={n: 0.8 for n in names[:4]},
                      confusions={n: rng.dirichlet(np.ones(k), size=k).tolist() for n in names[:4]})
    labels = [f"l{i}" for i in rng.integers(k, size=5)]
    started = time.perf_counter()
    for _ in range(1000):
        post = posterior_from_model(model=big, annotators=names, labels=labels)
    per_call = (time.perf_counter() - started) / 1000
    assert post.shape == (k,) and abs(post.sum() - 1) < 1e-9
    print(f"posterior from a fitted model ({k} labels, 5 answers, one unseen annotator): {per_call * 1e6:.0f} us per task")
