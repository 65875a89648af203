"""Concurrency: real threads, each on its own Postgres connection, racing through the hot path's calls (on the sync
database, in the thread's tenant transaction)."""
import threading
import uuid

import pytest
from django.db import connection

from assay_shared.db.tenancy import tenant_atomic
from assay_shared.errors import ApplicationError
from tests.conftest import CLASSES

from assay_assignment.core.services import projects
from assay_assignment.hotpath import calls, syncdb

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(calls):
    """Run each zero-argument call in its own thread, all released at once; return results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def setup_project(*, tasks: int, overlap: int, **settings):
    from assay_assignment.core.services.imports import batch_import

    with tenant_atomic(tenant="acme"):
        project = projects.project_create(name="race", schema=CLASSES, overlap=overlap, **settings)
        lines = [f'{{"external_id": "r{i}", "url": "https://x/{i}"}}\n'.encode() for i in range(tasks)]
        batch_import(project_id=project.id, name="b", lines=lines, file_format="jsonl")
    return project.id


def next_for(project_id, annotator):
    def call():
        with tenant_atomic(tenant="acme"):
            return calls.run_sync(calls.work_next(syncdb.DATABASE, tenant="acme", project_id=project_id,
                                                  annotator=annotator))
    return call


def submit_for(task_id, annotator, submission_id=None):
    def call():
        with tenant_atomic(tenant="acme"):
            return calls.run_sync(calls.submission_create(syncdb.DATABASE, tenant="acme", task_id=task_id,
                                                          annotator=annotator, answer={"label": "cat"}, duration_ms=5,
                                                          submission_id=submission_id))
    return call


def query(sql, params=()):
    with tenant_atomic(tenant="acme"), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_many_annotators_racing_for_the_last_slots():
    # given 2 tasks with overlap 3 (6 slots) and 12 annotators asking at the same instant
    project_id = setup_project(tasks=2, overlap=3)
    handouts = in_threads([next_for(project_id, f"racer{i}") for i in range(12)])
    # then exactly 6 get a task, each task goes to exactly 3 different annotators
    got = [(f"racer{i}", h.task_id) for i, h in enumerate(handouts) if h is not None]
    assert not [h for h in handouts if isinstance(h, Exception)]
    assert len(got) == 6
    per_task = {}
    for annotator, task_id in got:
        per_task.setdefault(task_id, set()).add(annotator)
    assert sorted(len(v) for v in per_task.values()) == [3, 3]
    # and when all of them submit at once, every answer is kept and no task exceeds its overlap
    receipts = in_threads([submit_for(task_id, annotator) for annotator, task_id in got])
    assert not [r for r in receipts if isinstance(r, Exception)]
    assert query("SELECT answered, overlap, free_slots FROM assignment_task ORDER BY seq") == [(3, 3, 0), (3, 3, 0)]
    assert query("SELECT count(*), count(DISTINCT (task_id, annotator)) FROM assignment_submission") == [(6, 6)]
    assert query("SELECT count(*) FROM bus_outbox WHERE event_type = 'task.completed'") == [(2,)]


def test_one_annotator_racing_with_themselves_gets_one_lease():
    project_id = setup_project(tasks=5, overlap=3)
    results = in_threads([next_for(project_id, "eager") for _ in range(6)])
    handed = [r for r in results if r is not None and not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(handed) == 1
    assert {r.code for r in refused} == {"lease_cap_reached"}
    assert len(handed) + len(refused) == 6
    assert query("SELECT count(*) FROM assignment_assignment WHERE annotator = 'eager'") == [(1,)]


def test_crash_mid_submit_loses_nothing_and_duplicates_nothing():
    project_id = setup_project(tasks=1, overlap=1)
    handout = next_for(project_id, "crashy")()
    sid = uuid.uuid4()

    # when the process dies after writing the submission but before the commit
    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        with tenant_atomic(tenant="acme"):
            calls.run_sync(calls.submission_create(syncdb.DATABASE, tenant="acme", task_id=handout.task_id,
                                                   annotator="crashy", answer={"label": "dog"}, duration_ms=7,
                                                   submission_id=sid))
            raise Crash()
    # then nothing of it remains and the lease is still held
    assert query("SELECT count(*) FROM assignment_submission") == [(0,)]
    assert query("SELECT count(*) FROM bus_outbox WHERE event_type = 'annotation.submitted'") == [(0,)]
    assert query("SELECT state FROM assignment_assignment") == [("leased",)]
    # and the client's retries (two at once, then one more after a lost response) store it exactly once
    results = in_threads([submit_for(handout.task_id, "crashy", sid) for _ in range(2)])
    results.append(submit_for(handout.task_id, "crashy", sid)())
    assert [type(r).__name__ for r in results] == ["Receipt"] * 3
    assert {r.submission_id for r in results} == {str(sid)}
    assert sorted(r.replayed for r in results) == [False, True, True]
    assert query("SELECT id, answer FROM assignment_submission") == [(sid, '{"label": "cat"}')]
    assert query("SELECT count(*) FROM bus_outbox WHERE event_type = 'annotation.submitted'") == [(1,)]
    assert query("SELECT answered, free_slots FROM assignment_task") == [(1, 0)]


@pytest.mark.parametrize("overlap", [1, 3])
def test_retries_of_a_late_answer_racing_store_it_once(overlap):
    from assay_assignment.core.services.maintenance import leases_expire_all

    project_id = setup_project(tasks=1, overlap=overlap)
    handout = next_for(project_id, "tardy")()
    # given the lease lapsed and the sweeper returned it
    query("UPDATE assignment_assignment SET expires_at = now() - interval '1 second' RETURNING id")
    assert leases_expire_all() == 1
    # when three copies of the late answer arrive at once (the first takes the free slot; the others wait for it on
    # the task row, then find no slot (overlap 1) or find their own answer's row taken (overlap 3))
    sid = uuid.uuid4()
    results = in_threads([submit_for(handout.task_id, "tardy", sid) for _ in range(3)])
    # then it is stored once, and every copy gets its receipt
    assert [type(r).__name__ for r in results] == ["Receipt"] * 3, results
    assert sorted(r.replayed for r in results) == [False, True, True]
    assert query("SELECT id, late FROM assignment_submission") == [(sid, True)]
    assert query("SELECT answered, free_slots FROM assignment_task") == [(1, overlap - 1)]
    assert query("SELECT count(*) FROM bus_outbox WHERE event_type = 'annotation.submitted'") == [(1,)]
