"""Late answers — the lease was returned, or lapsed and was taken over — are written by the same SQL function as
every other answer (assignment_submit through assignment_submit_late, ADR 0064): the same events, task.completed
composed by it, and progress counted from where the slot came."""
import uuid

import pytest

from assay_shared.db.tenancy import tenant_atomic
from tests.conftest import rows, sql, table_counts

from assay_assignment.core.models import NO_BATCH, Progress
from assay_assignment.core.services import projects
from assay_assignment.core.services.maintenance import leases_expire_all
from assay_assignment.hotpath.functions import CONTEXT, SUBMIT_MANY, SubmissionContext, SubmitRow
from assay_assignment.hotpath.submissions import submission_plan

pytestmark = pytest.mark.django_db


def expire(task_id, annotator):
    sql("UPDATE assignment_assignment SET expires_at = now() - interval '1 second' WHERE task_id = %s"
        " AND annotator = %s", [task_id, annotator])


def counters(api, cast, project_id):
    progress = api(cast.owner).get(f"/api/v1/projects/{project_id}/progress").json()
    return {k: progress[k] for k in ("queued", "leased", "answered", "completed")}


def test_a_late_answer_takes_a_free_slot_and_is_counted_from_the_queue(make_project, import_tasks, work, cast, api,
                                                                        outbox_events):
    project = make_project(overlap=2)
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    # given the teammate's lease lapsed and the sweeper returned it
    expire(task["task_id"], "teammate")
    assert leases_expire_all() == 1
    assert counters(api, cast, project["id"]) == {"queued": 2, "leased": 0, "answered": 0, "completed": 0}
    # when the answer arrives after all
    sid = uuid.uuid4()
    late = work(cast.teammate).submit(task["task_id"], submission_id=sid)
    # then it is recorded, late, on a slot taken from the queue
    assert late.status_code == 201, late.json()
    assert sql("SELECT late FROM assignment_submission WHERE id = %s", [sid]) == [(True,)]
    assert sql("SELECT free_slots, answered FROM assignment_task WHERE id = %s", [task["task_id"]]) == [(1, 1)]
    assert counters(api, cast, project["id"]) == {"queued": 1, "leased": 0, "answered": 1, "completed": 0}
    [submitted] = outbox_events("annotation.submitted")
    assert (submitted.payload["submission_id"], submitted.payload["overlap"]) == (str(sid), 2)
    assert submitted.payload["submitted_at"] == late.json()["submitted_at"]
    # and a retry of it is recognised as one
    assert work(cast.teammate).submit(task["task_id"], submission_id=sid).json() == late.json()
    # when the task's second answer comes, task.completed names both, composed by the same function
    other = work(cast.annotator2).next_task(project["id"])
    second = work(cast.annotator2).submit(other["task_id"])
    assert second.status_code == 201
    [completed] = outbox_events("task.completed")
    # (in commit order; here both share the test's transaction and its now())
    assert sorted(completed.payload["submission_ids"]) == sorted([str(sid), second.json()["submission_id"]])
    assert counters(api, cast, project["id"]) == {"queued": 0, "leased": 0, "answered": 2, "completed": 1}


def test_a_late_answer_takes_over_a_lapsed_lease_and_is_counted_from_the_leases(make_project, import_tasks, work,
                                                                                 cast, api, outbox_events):
    project = make_project(overlap=1)
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    # given the teammate's lease lapsed and annotator2 took it over, and then annotator2's lapsed too
    expire(task["task_id"], "teammate")
    assert work(cast.annotator2).next_task(project["id"])["task_id"] == task["task_id"]
    expire(task["task_id"], "annotator2")
    # when the teammate's answer arrives, there is no free slot but a lapsed lease: it takes that one
    late = work(cast.teammate).submit(task["task_id"])
    assert late.status_code == 201, late.json()
    assert sql("SELECT annotator, state FROM assignment_assignment WHERE task_id = %s", [task["task_id"]]) == [
        ("teammate", "done")]
    assert counters(api, cast, project["id"]) == {"queued": 0, "leased": 0, "answered": 1, "completed": 1}
    assert len(outbox_events("task.completed")) == 1
    # and annotator2's answer now finds no slot at all: refused, nothing written
    before = table_counts()
    refused = work(cast.annotator2).submit(task["task_id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "lease_expired")
    assert table_counts() == before


def test_a_late_answer_to_a_gold_task_is_recorded_without_a_slot(make_project, import_tasks, work, cast, api,
                                                                 outbox_events):
    project = make_project(exam_size=1)
    import_tasks(project["id"], rows(1) + rows(1, prefix="g", gold=True))
    task = work(cast.teammate).next_task(project["id"])  # the exam: the gold task
    # given the sweeper returned the gold lease
    expire(task["task_id"], "teammate")
    assert leases_expire_all() == 1
    before = counters(api, cast, project["id"])
    late = work(cast.teammate).submit(task["task_id"])
    assert late.status_code == 201, late.json()
    assert sql("SELECT state, gold FROM assignment_assignment WHERE task_id = %s", [task["task_id"]]) == [
        ("done", True)]
    assert counters(api, cast, project["id"]) == before
    assert len(outbox_events("annotation.submitted")) == 1 and outbox_events("task.completed") == []


def test_late_answers_of_a_batch_are_counted_like_single_ones(make_project, import_tasks, work, cast, api):
    """assignment_submit_many counts each answer's progress from where its slot came (ADRs 0058, 0064)."""
    project = make_project(overlap=2)
    import_tasks(project["id"], rows(2))
    held = work(cast.teammate).next_task(project["id"])
    returned = work(cast.annotator2).next_task(project["id"])
    assert held["task_id"] == returned["task_id"]
    expire(returned["task_id"], "annotator2")
    assert leases_expire_all() == 1

    def plan(task_id, annotator):
        with tenant_atomic(tenant="acme"):
            context = SubmissionContext.of(dict(zip(SubmissionContext.COLUMNS, sql(
                CONTEXT.sync, ["acme", task_id, uuid.uuid4()])[0])))
            definition = projects.schema_definition(project_id=context.project, version=context.version)
        return submission_plan(context, definition=definition, tenant="acme", task_id=task_id, annotator=annotator,
                               answer={"label": "cat"}, duration_ms=5, submission_id=uuid.uuid4()).args

    # one answer on a held lease, one late on a free slot, in one call
    batch = [plan(held["task_id"], "teammate"), plan(returned["task_id"], "annotator2")]
    columns = [[getattr(args, field) for args in batch] for field in ("annotator", "task", "submission", "project",
                                                                        "batch", "version", "answer", "duration")]
    result = sql(SUBMIT_MANY.sync, ["acme", *columns, Progress.answer_shard(), NO_BATCH,
                                    [args.event for args in batch], False])
    names = ["o_index", *SubmitRow.COLUMNS]
    outcomes = [SubmitRow.of(dict(zip(names, row))) for row in sorted(result)]
    assert [(row.outcome, row.counted, row.queued, row.done) for row in outcomes] == [
        ("submitted", True, False, False), ("submitted", True, True, True)]
    assert counters(api, cast, project["id"]) == {"queued": 2, "leased": 0, "answered": 2, "completed": 1}
