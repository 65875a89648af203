"""Round trips per batch: annotation.submitted and task.completed cost a fixed number of statements per batch,
whatever its length (ADR 0062; one event at a time they cost 8-12 handler queries each, task.completed 18).

The counts include every query of one batch through the real processor inside the test's transaction: the
tenant's SAVEPOINT, set_config, the inbox insert (one for the whole batch), RELEASE and the set_config that
takes the tenant back out (5, the consumer's share), plus the handler's own statements.
"""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assay_shared.bus.consumer import EventProcessor, Outcome
from assay_shared.bus.registry import registry_from_settings
from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, task_completed
from tests.test_batches import answer, project_with

from assay_scoring.core.models import ConsensusResult, GoldScore, Submission
from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.refit import project_model_refit

pytestmark = pytest.mark.django_db

CONSUMER = 5  # SAVEPOINT, set_config, inbox insert, RELEASE, set_config('')
# projects, task locks, gold, submissions insert, completions upsert, gold scores insert, answers, consensus rows,
# completions read, fitted model, its annotators' parameters, consensus insert, consensus update, outbox, refit due
HANDLER = 15


def count(events) -> int:
    processor = EventProcessor(registry=registry_from_settings(), service="scoring", base_delay=0.001)
    with CaptureQueriesContext(connection) as ctx:
        assert {r.outcome for r in processor.process_batch([e.to_json() for e in events])} == {Outcome.APPLIED}
    return len(ctx.captured_queries)


def workload(project: str, n_tasks: int, revised: str) -> list:
    """Per task three answers and task.completed, the first task gold, the last one short of its overlap and
    completed; one more answer to a task that has its consensus (a new revision)."""
    events = [answer(revised, project, "late", "dog", 50)]
    for t in range(n_tasks):
        task = new_id()
        if t == 0:
            with tenant_atomic(tenant="acme"):
                gold_answer_set(project_id=project, task_id=task, answer={"label": "cat"}, reason="r", actor="owner")
        answers = [answer(task, project, f"ann-{i}", "cat", i) for i in range(2 if t == n_tasks - 1 else 3)]
        events += [*answers, task_completed(task_id=task, project_id=project,
                                            submission_ids=[e.payload["submission_id"] for e in answers])]
    return events


def test_a_batch_costs_the_same_statements_as_one_event():
    # given a fitted dawid_skene project and a task with a consensus
    project, revised = project_with(consensus_method="dawid_skene"), new_id()
    seed = [answer(revised, project, f"ann-{i}", "cat", i) for i in range(3)]
    assert count(seed) <= CONSUMER + HANDLER
    with tenant_atomic(tenant="acme"):
        project_model_refit(project_id=project)
    # when batches of 9 and of 65 events exercise every statement
    small, large = workload(project, 2, revised), workload(project, 16, revised)
    # then each costs the same fixed number of round trips (was 8-12 handler queries per event, 18 per task.completed)
    assert count(small) == CONSUMER + HANDLER
    assert count(large) == CONSUMER + HANDLER
    with tenant_atomic(tenant="acme"):
        assert Submission.objects.count() == 3 + 1 + 3 + 2 + 1 + 15 * 3 + 2
        assert GoldScore.objects.count() == 3 + 3
        assert sorted(ConsensusResult.objects.values_list("revision", flat=True)) == [1] * (1 + 15) + [3]
