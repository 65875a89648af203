"""Queue semantics: overlap, priority, exclusions, leases, skip/release, caps, routing, suspension."""
import uuid

import pytest

from assay_shared.events.envelope import envelope_build
from tests.conftest import rows, sql, table_counts

pytestmark = pytest.mark.django_db


def expire(task_id, annotator):
    sql("UPDATE assignment_assignment SET expires_at = now() - interval '1 second' WHERE task_id = %s AND annotator = %s",
        [task_id, annotator])


def state_of(project_id):
    return sql("SELECT t.external_id, t.free_slots, t.answered, (SELECT array_agg(a.annotator || ':' || a.state ORDER BY"
               " a.annotator) FROM assignment_assignment a WHERE a.task_id = t.id) FROM assignment_task t"
               " WHERE t.project_id = %s ORDER BY t.seq", [project_id])


def test_overlap_never_exceeded_and_no_annotator_twice(make_project, import_tasks, work, cast):
    # given one task wanting two answers
    project = make_project(overlap=2)
    import_tasks(project["id"], rows(1))
    third = cast.make("acme", "third", ["annotator"])
    # when three annotators ask, and the first two answer
    a, b = work(cast.teammate).next_task(project["id"]), work(cast.annotator2).next_task(project["id"])
    assert a["task_id"] == b["task_id"]
    assert work(third).next_task(project["id"]) is None
    assert work(cast.teammate).submit(a["task_id"]).status_code == 201
    # then the one who answered never receives it again, and nobody else gets a third slot
    assert work(cast.teammate).next_task(project["id"]) is None
    assert work(cast.annotator2).submit(b["task_id"]).status_code == 201
    assert work(third).next_task(project["id"]) is None
    assert state_of(project["id"]) == [("t0", 0, 2, ["annotator2:done", "teammate:done"])]


def test_priority_order_then_import_order(make_project, import_tasks, work, cast):
    project = make_project()
    import_tasks(project["id"], [{"external_id": "low", "url": "https://x/l", "priority": 0},
                                 {"external_id": "high", "url": "https://x/h", "priority": 9},
                                 {"external_id": "mid1", "url": "https://x/m1", "priority": 5},
                                 {"external_id": "mid2", "url": "https://x/m2", "priority": 5}])
    seen = []
    for _ in range(4):
        task = work(cast.teammate).next_task(project["id"])
        seen.append(task["data"]["url"])
        work(cast.teammate).submit(task["task_id"])
    assert seen == ["https://x/h", "https://x/m1", "https://x/m2", "https://x/l"]


def test_skip_excludes_for_good_release_does_not(make_project, import_tasks, work, cast):
    project = make_project(overlap=1)
    import_tasks(project["id"], rows(2))
    first = work(cast.teammate).next_task(project["id"])
    assert work(cast.teammate).call(first["task_id"], "release").status_code == 204
    assert work(cast.teammate).next_task(project["id"])["task_id"] == first["task_id"]
    assert work(cast.teammate).call(first["task_id"], "skip").status_code == 204
    second = work(cast.teammate).next_task(project["id"])
    assert second["task_id"] != first["task_id"]
    work(cast.teammate).submit(second["task_id"])
    assert work(cast.teammate).next_task(project["id"]) is None
    # the skipped task is still there for others, and the skipper cannot answer it
    assert work(cast.annotator2).next_task(project["id"])["task_id"] == first["task_id"]
    refused = work(cast.teammate).submit(first["task_id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "task_skipped")


def test_release_of_a_task_not_held_is_refused(make_project, import_tasks, work, cast):
    project = make_project()
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    before = table_counts()
    for action in ("release", "skip", "heartbeat"):
        response = work(cast.annotator2).call(task["task_id"], action)
        assert (response.status_code, response.json()["error"]["code"]) == (409, "no_lease")
    assert table_counts() == before


def test_open_lease_cap(make_project, import_tasks, work, cast):
    project = make_project(max_open_leases=2)
    import_tasks(project["id"], rows(5))
    work(cast.teammate).next_task(project["id"])
    work(cast.teammate).next_task(project["id"])
    before = state_of(project["id"])
    response = work(cast.teammate).next(project["id"])
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "lease_cap_reached", "fields": {},
        "message": "you already hold 2 open lease(s), the most this project allows; submit, skip or release one first"}
    assert state_of(project["id"]) == before


def test_expired_lease_is_taken_over_at_claim_time(make_project, import_tasks, work, cast):
    # given the teammate's lease on the only task has lapsed (no sweeper has run)
    project = make_project(overlap=1)
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    expire(task["task_id"], "teammate")
    # when another annotator asks, they get it
    assert work(cast.annotator2).next_task(project["id"])["task_id"] == task["task_id"]
    assert state_of(project["id"]) == [("t0", 0, 0, ["annotator2:leased"])]
    # and the late answer of the first is refused, clearly, changing nothing
    refused = work(cast.teammate).submit(task["task_id"])
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "lease_expired", "fields": {},
        "message": "your lease on this task expired and its slot has since been given to another annotator;"
                   " the answer was not recorded"}
    assert state_of(project["id"]) == [("t0", 0, 0, ["annotator2:leased"])]


def test_sweeper_returns_expired_leases_and_heartbeat_keeps_them(make_project, import_tasks, work, cast):
    from assay_assignment.core.services.maintenance import leases_expire_all

    project = make_project(overlap=1, lease_ttl_seconds=60)
    import_tasks(project["id"], rows(2))
    kept = work(cast.teammate).next_task(project["id"])
    lost = work(cast.annotator2).next_task(project["id"])
    beat = work(cast.teammate).call(kept["task_id"], "heartbeat")
    assert beat.status_code == 200 and beat.json()["lease_expires_at"] >= kept["lease_expires_at"]
    expire(lost["task_id"], "annotator2")
    assert leases_expire_all() == 1
    assert state_of(project["id"]) == [("t0", 0, 0, ["teammate:leased"]), ("t1", 1, 0, None)]
    response = work(cast.annotator2).call(lost["task_id"], "heartbeat")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "no_lease")


def test_late_answer_accepted_while_the_slot_is_free(make_project, import_tasks, work, cast):
    from assay_assignment.core.services.maintenance import leases_expire_all

    project = make_project(overlap=1)
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    expire(task["task_id"], "teammate")
    leases_expire_all()
    response = work(cast.teammate).submit(task["task_id"])
    assert response.status_code == 201
    assert state_of(project["id"]) == [("t0", 0, 1, ["teammate:done"])]
    assert sql("SELECT late FROM assignment_submission") == [(True,)]


def test_retry_with_same_submission_id_is_idempotent(make_project, import_tasks, work, cast, outbox_events):
    project = make_project()
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    sid = uuid.uuid4()
    first = work(cast.teammate).submit(task["task_id"], submission_id=sid)
    again = work(cast.teammate).submit(task["task_id"], submission_id=sid)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(outbox_events("annotation.submitted")) == 1
    other = work(cast.teammate).submit(task["task_id"])
    assert (other.status_code, other.json()["error"]["code"]) == (409, "already_answered")
    stolen = work(cast.annotator2).submit(task["task_id"], submission_id=sid)
    assert (stolen.status_code, stolen.json()["error"]["code"]) == (409, "submission_id_reused")


@pytest.mark.parametrize("answer,duration,fields", [
    ({"label": "horse"}, 10, {"answer.label": ["must be one of the schema's labels (cat, dog)"]}),
    ({"label": "cat", "attributes": {"occluded": "yes"}}, 10, {"answer.attributes.occluded": ["must be true or false"]}),
    ({"label": "cat", "extra": 1}, 10, {"answer.extra": ["is not allowed here"]}),
    ("cat", 10, {"answer": ["must be an object"]}),
    ({"label": "cat"}, -1, {"duration_ms": ["is required: milliseconds spent, an integer from 0 to 86400000"]}),
])
def test_invalid_answer_refused_and_changes_nothing(make_project, import_tasks, work, cast, outbox_events,
                                                     answer, duration, fields):
    project = make_project()
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    before = (table_counts(), state_of(project["id"]))
    response = work(cast.teammate).submit(task["task_id"], answer, duration_ms=duration)
    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["fields"]) == ("validation_error", fields)
    assert (table_counts(), state_of(project["id"])) == before
    assert outbox_events("annotation.submitted") == []


def test_unknown_task_and_another_tenants_task(make_project, import_tasks, work, cast, api):
    project = make_project()
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    stranger = cast.make("globex", "stranger", ["annotator"])
    before = (table_counts(), state_of(project["id"]))
    for who, task_id in ((cast.teammate, uuid.uuid4()), (stranger, task["task_id"])):
        response = work(who).submit(task_id)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
        assert response.json()["error"]["message"] == f"task {task_id} does not exist"
    response = work(stranger).next(project["id"])
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert (table_counts(), state_of(project["id"])) == before


def standing(type_, annotator, project_id=None):
    return envelope_build(type=type_, tenant="acme", producer="metrics",
                          payload={"annotator": annotator, "project_id": project_id, "rule": "manual", "reason": "test"})


def test_suspended_annotator_receives_nothing_and_loses_leases(make_project, import_tasks, work, cast, deliver):
    project = make_project(overlap=1)
    import_tasks(project["id"], rows(2))
    held = work(cast.teammate).next_task(project["id"])
    deliver(standing("annotator.suspended", "teammate"))
    assert state_of(project["id"])[0][1:] == (1, 0, None)
    before = (table_counts(), state_of(project["id"]))
    response = work(cast.teammate).next(project["id"])
    assert response.status_code == 403
    assert response.json()["error"] == {"code": "annotator_suspended", "message": "you are suspended and receive no tasks",
                                        "fields": {}}
    assert (table_counts(), state_of(project["id"])) == before
    deliver(standing("annotator.reinstated", "teammate"))
    assert work(cast.teammate).next_task(project["id"])["task_id"] == held["task_id"]


def test_routing_by_required_skills(make_project, import_tasks, work, cast, api):
    project = make_project()
    import_tasks(project["id"], [{"external_id": "med", "url": "https://x/m", "required_skills": ["radiology"], "priority": 9},
                                 {"external_id": "any", "url": "https://x/a"}])
    assert work(cast.teammate).next_task(project["id"])["data"]["url"] == "https://x/a"
    response = api(cast.owner).put("/api/v1/annotators/annotator2/skills", {"skills": ["radiology"]},
                                   content_type="application/json")
    assert response.json() == {"annotator": "annotator2", "skills": ["radiology"]}
    assert work(cast.annotator2).next_task(project["id"])["data"]["url"] == "https://x/m"


def test_project_required_skills_gate_the_whole_project(make_project, import_tasks, work, cast):
    project = make_project(required_skills=["french"])
    import_tasks(project["id"], rows(1))
    response = work(cast.teammate).next(project["id"])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "missing_skills")


def consensus(type_, task_id, project_id):
    return envelope_build(type=type_, tenant="acme", producer="scoring", payload={
        "task_id": task_id, "project_id": project_id, "answer_type": "single_choice", "method": "mv",
        "answer": {"label": "cat"}, "confidence": 0.5, "agreement": 0.5, "annotators": ["a"],
        "submission_ids": [str(uuid.uuid4())]})


def test_disputed_consensus_adds_slots_up_to_max(make_project, import_tasks, work, cast, deliver, outbox_events):
    project = make_project(overlap=1, max_overlap=2)
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    work(cast.teammate).submit(task["task_id"])
    assert [e.payload["task_id"] for e in outbox_events("task.completed")] == [task["task_id"]]
    deliver(consensus("consensus.disputed", task["task_id"], project["id"]))
    deliver(consensus("consensus.disputed", task["task_id"], project["id"]))
    assert sql("SELECT overlap, free_slots FROM assignment_task") [-1] == (2, 1)
    assert work(cast.annotator2).next_task(project["id"])["task_id"] == task["task_id"]
    assert work(cast.make("acme", "third", ["annotator"])).next_task(project["id"]) is None


def test_rejected_in_review_goes_back_for_relabelling(make_project, import_tasks, work, cast, deliver, api):
    project = make_project(overlap=1)
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    submission = work(cast.teammate).submit(task["task_id"]).json()
    review = {"review_id": str(uuid.uuid4()), "task_id": task["task_id"], "project_id": project["id"],
              "submission_id": submission["submission_id"], "annotator": "teammate", "reviewer": "reviewer"}
    deliver(envelope_build(type="review.completed", tenant="acme", producer="review", payload={**review, "verdict": "rejected"}))
    assert work(cast.teammate).next_task(project["id"]) is None
    again = work(cast.annotator2).next_task(project["id"])
    assert again["task_id"] == task["task_id"]
    accepted = work(cast.annotator2).submit(again["task_id"]).json()
    deliver(envelope_build(type="review.completed", tenant="acme", producer="review",
                           payload={**review, "review_id": str(uuid.uuid4()), "submission_id": accepted["submission_id"],
                                    "annotator": "annotator2", "verdict": "accepted"}))
    deliver(consensus("consensus.reached", task["task_id"], project["id"]))
    progress = api(cast.owner).get(f"/api/v1/projects/{project['id']}/progress").json()
    assert {k: progress[k] for k in ("tasks", "queued", "leased", "answered", "completed", "consensus", "accepted")} == {
        "tasks": 1, "queued": 0, "leased": 0, "answered": 2, "completed": 1, "consensus": 1, "accepted": 1}


def test_events_about_unknown_tasks_are_dead_lettered(deliver, make_project):
    from assay_shared.bus.consumer import Outcome

    project = make_project()
    result = deliver(consensus("consensus.disputed", str(uuid.uuid4()), project["id"]))
    assert result.outcome is Outcome.DEAD
    assert result.reason.startswith("handler refused the event: task ")


def test_progress_and_open_leases_for_leads(make_project, import_tasks, work, cast, api):
    project = make_project(overlap=2)
    import_tasks(project["id"], rows(3))
    task = work(cast.teammate).next_task(project["id"])
    work(cast.annotator2).next_task(project["id"])
    work(cast.teammate).submit(task["task_id"])
    progress = api(cast.owner).get(f"/api/v1/projects/{project['id']}/progress").json()
    assert {k: progress[k] for k in ("queued", "leased", "answered", "completed")} == {
        "queued": 4, "leased": 1, "answered": 1, "completed": 0}
    leases = api(cast.owner).get(f"/api/v1/projects/{project['id']}/leases").json()["results"]
    assert [(lease["annotator"], lease["task_id"], lease["expired"]) for lease in leases] == [("annotator2", task["task_id"], False)]
    assert api(cast.teammate).get(f"/api/v1/projects/{project['id']}/leases").status_code == 403
    assert api(cast.teammate).get(f"/api/v1/projects/{project['id']}/progress").status_code == 403
