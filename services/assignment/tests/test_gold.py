"""Gold injection: mixed in at the project's rate, gating by a qualification exam, and never recognisable."""
import uuid
from datetime import date, datetime

import pytest

from assay_shared.db.tenancy import tenant_atomic
from assay_shared.events.envelope import envelope_build
from tests.conftest import rows, sql

from assay_assignment.core.services.queue import gold_draw
from assay_assignment.core.services.status import gold_feedback_flush, gold_result_record

pytestmark = pytest.mark.django_db


def gold_ids(project_id):
    return {str(r[0]) for r in sql("SELECT id FROM assignment_task WHERE project_id = %s AND is_gold", [project_id])}


def shape(value):
    """The structure of a JSON value with the values themselves erased."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def work_through(work, actor, project_id, n):
    handed = []
    for _ in range(n):
        response = work(actor).next(project_id)
        task = response.json()["task"]
        if task is None:
            break
        submitted = work(actor).submit(task["task_id"])
        handed.append((response, task, submitted))
    return handed


def test_gold_is_mixed_in_at_the_rate_by_a_deterministic_stream(make_project, import_tasks, work, cast):
    # given a project with gold rate 0.3, 10 gold tasks and 30 regular ones
    project = make_project(gold_rate=0.3)
    import_tasks(project["id"], rows(30) + rows(10, prefix="g", gold=True))
    seed = sql("SELECT gold_seed FROM assignment_project WHERE id = %s", [project["id"]])[0][0]
    # when the teammate works 20 tasks
    handed = work_through(work, cast.teammate, project["id"], 20)
    # then gold tasks came exactly where the annotator's stream said so
    gold = gold_ids(project["id"])
    expected = [gold_draw(seed=seed, annotator="teammate", position=n) < 0.3 for n in range(1, 21)]
    assert [task["task_id"] in gold for _, task, _ in handed] == expected
    assert 0 < sum(expected) < 20


def test_gold_tasks_are_indistinguishable_to_the_annotator(make_project, import_tasks, work, cast, api, outbox_events):
    project = make_project(gold_rate=0.5, lease_ttl_seconds=300)
    import_tasks(project["id"], rows(10) + rows(10, prefix="g", gold=True))
    handed = work_through(work, cast.teammate, project["id"], 20)
    gold = gold_ids(project["id"])
    gold_handed = [h for h in handed if h[1]["task_id"] in gold]
    regular_handed = [h for h in handed if h[1]["task_id"] not in gold]
    assert gold_handed and regular_handed
    for group in (gold_handed, regular_handed):
        for response, task, submitted in group:
            # same status, same fields, same kinds of values, same kind of id, same lease length
            assert response.status_code == 200 and submitted.status_code == 201
            assert shape(response.json()) == {"task": {
                "data": {"metadata": {}, "url": "str"}, "lease_expires_at": "str", "project_id": "str",
                "schema_version": "int", "task_id": "str"}}
            assert shape(submitted.json()) == {"submission_id": "str", "submitted_at": "str", "task_id": "str"}
            assert uuid.UUID(task["task_id"]).version == 4
            lease = datetime.fromisoformat(task["lease_expires_at"]) - datetime.fromisoformat(submitted.json()["submitted_at"])
            assert 290 < lease.total_seconds() <= 300
    # the events about the answers have the same fields too
    events = {e.payload["task_id"]: e.payload for e in outbox_events("annotation.submitted")}
    assert {tuple(sorted(events[t["task_id"]])) for _, t, _ in handed} == {tuple(sorted(events[handed[0][1]["task_id"]]))}
    # and no annotator-facing endpoint says which task is gold
    some_gold = gold_handed[0][1]["task_id"]
    assert api(cast.teammate).get(f"/api/v1/tasks/{some_gold}").status_code == 403
    assert api(cast.teammate).get(f"/api/v1/projects/{project['id']}/batches").status_code == 403
    assert api(cast.teammate).get(f"/api/v1/projects/{project['id']}/progress").status_code == 403


def test_errors_about_gold_and_regular_tasks_read_the_same(make_project, import_tasks, work, cast):
    project = make_project(gold_rate=0.5)
    import_tasks(project["id"], rows(10) + rows(10, prefix="g", gold=True))
    gold = gold_ids(project["id"])
    seen = {}
    for _ in range(12):
        task = work(cast.teammate).next_task(project["id"])
        kind = "gold" if task["task_id"] in gold else "regular"
        bad = work(cast.teammate).submit(task["task_id"], {"label": "zebra"})
        body = bad.json()
        seen.setdefault(kind, (bad.status_code, body))
        beat = work(cast.teammate).call(task["task_id"], "heartbeat")
        seen.setdefault(kind + "-beat", (beat.status_code, sorted(beat.json())))
        assert work(cast.teammate).call(task["task_id"], "skip").status_code == 204
    assert seen["gold"] == seen["regular"]
    assert seen["gold-beat"] == seen["regular-beat"] == (200, ["lease_expires_at", "task_id"])


def test_gold_alone_is_never_served_when_regular_work_runs_out(make_project, import_tasks, work, cast):
    project = make_project(gold_rate=0.5)
    import_tasks(project["id"], rows(3, prefix="g", gold=True))
    assert work(cast.teammate).next_task(project["id"]) is None


def test_qualification_exam_gates_regular_work(make_project, import_tasks, work, cast, deliver):
    project = make_project(exam_size=2)
    import_tasks(project["id"], rows(5) + rows(3, prefix="g", gold=True))
    gold = gold_ids(project["id"])
    exam = [work(cast.teammate).next_task(project["id"]) for _ in range(1)]
    work(cast.teammate).submit(exam[0]["task_id"])
    exam.append(work(cast.teammate).next_task(project["id"]))
    work(cast.teammate).submit(exam[1]["task_id"])
    assert {t["task_id"] for t in exam} <= gold
    waiting = work(cast.teammate).next(project["id"])
    assert (waiting.status_code, waiting.json()["error"]["code"]) == (409, "awaiting_qualification")
    deliver(envelope_build(type="annotator.qualified", tenant="acme", producer="metrics", payload={
        "annotator": "teammate", "project_id": project["id"], "rule": "qualification", "reason": "passed the exam"}))
    assert work(cast.teammate).next_task(project["id"])["task_id"] not in gold


def test_tenant_wide_qualification_opens_every_project(make_project, import_tasks, work, cast, deliver):
    project = make_project(exam_size=1)
    import_tasks(project["id"], rows(2) + rows(1, prefix="g", gold=True))
    deliver(envelope_build(type="annotator.qualified", tenant="acme", producer="metrics", payload={
        "annotator": "teammate", "project_id": None, "rule": "manual", "reason": "vetted"}))
    assert work(cast.teammate).next_task(project["id"])["task_id"] not in gold_ids(project["id"])


def gold_result(project_id, annotator, score, n, today):
    with tenant_atomic(tenant="acme"):
        return gold_result_record(project_id=project_id, annotator=annotator, submission_id=str(uuid.uuid4()),
                                  task_id=str(uuid.uuid4()), score=score, passed=score > 0.5,
                                  error_counts={"missing": 0, "extra": 0, "wrong_label": n, "low_overlap": 0,
                                                "wrong_attribute": 0}, today=today)


def flush(project_id, annotator, today):
    with tenant_atomic(tenant="acme"):
        return gold_feedback_flush(project_id=project_id, annotator=annotator, today=today)


def test_gold_feedback_outside_training_is_a_day_late_and_names_no_task(make_project, import_tasks, work, cast):
    project = make_project()
    monday, tuesday, wednesday = date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)
    # results arriving push nothing, and asking for work the same day reports nothing
    assert [gold_result(project["id"], "teammate", s, 0, monday) for s in (1.0, 0.0, 0.5)] == [None] * 3
    assert flush(project["id"], "teammate", monday) is None
    # the first request for work of a later day reports the earlier days' totals, once
    assert flush(project["id"], "teammate", tuesday) == {
        "kind": "quality", "project_id": project["id"], "gold_scored": 3, "mean_score": 0.5}
    assert flush(project["id"], "teammate", tuesday) is None
    assert gold_result(project["id"], "teammate", 1.0, 0, tuesday) is None
    assert gold_result(project["id"], "teammate", 1.0, 0, wednesday) is None
    assert flush(project["id"], "teammate", wednesday) == {
        "kind": "quality", "project_id": project["id"], "gold_scored": 4, "mean_score": 0.625}
    # and the next-task request is what triggers it
    sql("UPDATE assignment_annotator_status SET gold_day = gold_day - 1, gold_pending = 1, gold_pending_score = 0"
        " WHERE annotator = 'teammate' AND project_id = %s", [project["id"]])
    import_tasks(project["id"], rows(1))
    work(cast.teammate).next_task(project["id"])
    assert sql("SELECT gold_scored, gold_reported FROM assignment_annotator_status WHERE annotator = 'teammate'"
               " AND project_id = %s", [project["id"]]) == [(5, 5)]


def test_gold_feedback_in_training_mode_is_per_task(make_project):
    project = make_project(training_mode=True)
    feedback = gold_result(project["id"], "teammate", 0.25, 2, date(2026, 11, 16))
    assert sorted(feedback) == ["error_counts", "kind", "passed", "score", "submission_id", "task_id"]
    assert (feedback["kind"], feedback["score"], feedback["passed"]) == ("score", 0.25, False)


def test_gold_scored_event_applied_through_the_consumer(make_project, deliver):
    from assay_shared.bus.consumer import Outcome

    project = make_project()
    event = envelope_build(type="gold.scored", tenant="acme", producer="scoring", payload={
        "submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": project["id"],
        "annotator": "teammate", "answer_type": "single_choice", "score": 1.0, "passed": True,
        "error_counts": {"missing": 0, "extra": 0, "wrong_label": 0, "low_overlap": 0, "wrong_attribute": 0}})
    assert (deliver(event).outcome, deliver(event).outcome) == (Outcome.APPLIED, Outcome.DUPLICATE)
    assert sql("SELECT gold_pending, gold_pending_score FROM assignment_annotator_status WHERE annotator = 'teammate'"
               " AND project_id = %s", [project["id"]]) == [(1, 1.0)]


def test_gold_draw_in_sql_is_the_documented_function():
    cases = [(seed, f"annotator-{a}", position) for seed in (1, 987654321987, -42) for a in range(5)
             for position in (1, 2, 17, 10_000)]
    drawn = [sql("SELECT assignment_gold_draw(%s, %s, %s)", [seed, annotator, position])[0][0]
             for seed, annotator, position in cases]
    expected = [gold_draw(seed=seed, annotator=annotator, position=position) for seed, annotator, position in cases]
    assert drawn == expected
    assert all(0 <= d < 1 for d in drawn) and len(set(drawn)) == len(drawn)
