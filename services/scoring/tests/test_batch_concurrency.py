"""Several consumers on one queue: the answers of one task applied by two consumers at once still make exactly
one consensus (the tasks' advisory locks, taken for a whole batch in one sorted statement, ADR 0062)."""
import threading

import pytest
from django.db import connection, connections

from assay_shared.bus.consumer import Outcome
from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id
from tests.test_batches import answer, processor, project_with

from assay_scoring.core.models import ConsensusResult

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(events, results: dict, key: str, barrier: threading.Barrier | None = None) -> threading.Thread:
    def run():
        try:
            if barrier is not None:
                barrier.wait(timeout=10)
            results[key] = [r.outcome for r in processor().process_batch([e.to_json() for e in events])]
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def waiting_advisory_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        return cursor.fetchone()[0]


def consensus_of(outbox_events) -> list:
    return outbox_events("consensus.reached") + outbox_events("consensus.disputed")


def test_two_consumers_with_halves_of_a_task_wait_for_each_other_and_make_one_consensus(outbox_events):
    # given a task of overlap 4, its answers split between two consumers' batches, and the task held elsewhere
    project, task = project_with(overlap=4), new_id()
    answers = [answer(task, project, f"ann-{i}", "cat", i) for i in range(4)]
    key = f"scoring:acme:{task}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
    results: dict = {}
    try:
        threads = [in_thread(answers[:2], results, "first"), in_thread(answers[2:], results, "second")]
        # when both consumers apply their batch at once, then both wait for the task
        for _ in range(200):
            if waiting_advisory_locks() == 2:
                break
            threading.Event().wait(0.02)
        assert waiting_advisory_locks() == 2 and results == {}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
    for thread in threads:
        thread.join(timeout=20)
    # and once it is free, one after the other: every answer applied, one consensus from all four, revision 1
    assert results == {"first": [Outcome.APPLIED] * 2, "second": [Outcome.APPLIED] * 2}
    [event] = consensus_of(outbox_events)
    assert (event.payload["annotators"], event.payload["revision"]) == ([f"ann-{i}" for i in range(4)], 1)
    with tenant_atomic(tenant="acme"):
        assert list(ConsensusResult.objects.values_list("revision", flat=True)) == [1]


def test_racing_consumers_over_many_tasks_neither_deadlock_nor_double_a_consensus(outbox_events):
    project, tasks = project_with(overlap=4), []
    for _ in range(3):
        # given ten tasks of overlap 4 and two consumers, each with two answers of every task, in opposite orders
        batch = [new_id() for _ in range(10)]
        tasks += batch
        answers = {t: [answer(t, project, f"ann-{i}", "cat" if i else "dog", i) for i in range(4)] for t in batch}
        first = [e for t in batch for e in answers[t][:2]]
        second = [e for t in reversed(batch) for e in answers[t][2:]]
        results: dict = {}
        barrier = threading.Barrier(2)
        # when both apply their batch at the same moment
        threads = [in_thread(first, results, "first", barrier), in_thread(second, results, "second", barrier)]
        for thread in threads:
            thread.join(timeout=30)
        # then both are applied whole (no deadlock, nothing requeued)
        assert results == {"first": [Outcome.APPLIED] * 20, "second": [Outcome.APPLIED] * 20}
    # and every task has exactly one consensus, revision 1, from its four answers
    events = consensus_of(outbox_events)
    assert sorted(e.payload["task_id"] for e in events) == sorted(tasks)
    assert {(e.payload["revision"], len(e.payload["annotators"])) for e in events} == {(1, 4)}
    with tenant_atomic(tenant="acme"):
        assert sorted(ConsensusResult.objects.values_list("revision", flat=True)) == [1] * 30
