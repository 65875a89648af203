"""Pipeline figures of the scoring service (not collected by default; run this file explicitly).

Prints: annotation.submitted applied per second through the real processor (storage, gold scoring,
consensus at overlap, outbox), fed as the consumer feeds it (`batch`: `process_batch` on batches of 64)
or one event per transaction (`event`), with or without the task.completed that task assignment emits
after each task's last answer; the CPU time of this process per submission; the per-task posterior
from a fitted model; and a project refit. Checks the work was done; asserts no timings.

    BENCH_MODES=event,batch BENCH_COMPLETED=0,1 pytest services/scoring/tests/bench_pipeline.py -q -s
"""
import os
import time
import uuid

import numpy as np
import pytest
from django.conf import settings

from assay_shared.bus.consumer import EventProcessor, Outcome
from assay_shared.bus.registry import registry_from_settings
from assay_shared.db.tenancy import tenant_atomic
from tests.factories import submitted, task_completed

from assay_scoring.core.compute.config import FittedModel
from assay_scoring.core.compute.online import posterior_from_model
from assay_scoring.core.models import ConsensusResult, GoldScore
from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.projects import project_settings_update
from assay_scoring.core.services.refit import project_model_refit

pytestmark = pytest.mark.django_db
LABELS = [f"class-{i}" for i in range(5)]
BATCH = 64
MODES = os.environ.get("BENCH_MODES", "event,batch").split(",")
COMPLETED = [c == "1" for c in os.environ.get("BENCH_COMPLETED", "0,1").split(",")]


def workload(*, completed: bool, n_tasks: int = 400, overlap: int = 3, n_annotators: int = 30):
    """A project (dawid_skene, 10% gold) and its events in submission order, task after task."""
    rng = np.random.default_rng(7)
    project = str(uuid.uuid4())
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="bench", values={
            "answer_type": "single_choice", "labels": LABELS, "overlap": overlap, "consensus_method": "dawid_skene"})
    skill = rng.uniform(0.55, 0.95, n_annotators)
    tasks = [(str(uuid.uuid4()), LABELS[rng.integers(5)]) for _ in range(n_tasks)]
    with tenant_atomic(tenant="acme"):
        for task, truth in tasks[: n_tasks // 10]:
            gold_answer_set(project_id=project, task_id=task, answer={"label": truth}, reason="bench", actor="bench")
    events, n_submitted = [], 0
    for t, (task, truth) in enumerate(tasks):
        ids = []
        for a in rng.choice(n_annotators, overlap, replace=False):
            label = truth if rng.random() < skill[a] else LABELS[rng.integers(5)]
            event = submitted(task_id=task, project_id=project, annotator=f"ann-{a}", answer={"label": label},
                              overlap=None, minutes=t)
            events.append(event)
            ids.append(event.payload["submission_id"])
            n_submitted += 1
        if completed:
            events.append(task_completed(task_id=task, project_id=project, submission_ids=ids))
    return project, events, n_submitted


def feed(processor: EventProcessor, events, mode: str) -> list[Outcome]:
    raws = [e.to_json() for e in events]
    if mode == "event":
        return [processor.process(raw).outcome for raw in raws]
    return [r.outcome for start in range(0, len(raws), BATCH)
            for r in processor.process_batch(raws[start:start + BATCH])]


@pytest.mark.parametrize("completed", COMPLETED, ids=lambda c: "with-task-completed" if c else "submitted-only")
@pytest.mark.parametrize("mode", MODES)
def test_bench_pipeline(mode, completed):
    n_tasks, overlap = 400, 3
    project, events, n_submitted = workload(completed=completed, n_tasks=n_tasks, overlap=overlap)
    processor = EventProcessor(registry=registry_from_settings(), service=settings.ASSAY_SERVICE, base_delay=0.001)
    per_half = (len(events) // 2) // (overlap + completed) * (overlap + completed)  # whole tasks in the first half

    def run(batch, what):
        wall, cpu = time.perf_counter(), time.process_time()
        outcomes = feed(processor, batch, mode)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert outcomes.count(Outcome.APPLIED) == len(batch)
        n = sum(1 for e in batch if e.type == "annotation.submitted")
        print(f"[{mode}{', +task.completed' if completed else ''}] {what}: {n} submissions ({len(batch)} events) "
              f"in {wall:.2f} s = {n / wall:.0f} submissions/s, {wall / n * 1000:.2f} ms wall and "
              f"{cpu / n * 1000:.2f} ms CPU (this process) each")

    print()
    run(events[:per_half], "before any fit: weighted vote")
    started = time.perf_counter()
    with tenant_atomic(tenant="acme"):
        model = project_model_refit(project_id=project)
    print(f"refit (dawid_skene, {model.n_answers} answers, {model.n_tasks} tasks, {model.n_gold} gold, "
          f"30 skill events): {time.perf_counter() - started:.3f} s")
    run(events[per_half:], "after the fit: posterior from the fitted model")
    with tenant_atomic(tenant="acme"):
        assert GoldScore.objects.filter(project_id=project).count() == (n_tasks // 10) * overlap
        assert ConsensusResult.objects.filter(project_id=project).count() == n_tasks - n_tasks // 10
        assert set(ConsensusResult.objects.filter(project_id=project).values_list("revision", flat=True)) == {1}
        methods = set(ConsensusResult.objects.filter(project_id=project).values_list("method", flat=True))
    assert methods == {"weighted_vote", "dawid_skene"} and n_submitted == n_tasks * overlap


def test_bench_posterior():
    rng = np.random.default_rng(7)
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
    print(f"\nposterior from a fitted model ({k} labels, 5 answers, one unseen annotator): "
          f"{per_call * 1e6:.0f} us per task")
    try:
        from assay_scoring.core.compute.online import posteriors_from_model
    except ImportError:
        return
    tasks = [(names, labels)] * 64
    started = time.perf_counter()
    for _ in range(100):
        posts = posteriors_from_model(model=big, tasks=tasks)
    per_task = (time.perf_counter() - started) / 100 / 64
    assert np.allclose(posts[0], post, rtol=0, atol=1e-12)
    print(f"same, 64 tasks in one vectorised call: {per_task * 1e6:.0f} us per task")
