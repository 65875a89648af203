"""The hot endpoints as the ASGI fast path serves them (async connections, server-side functions), against a
real uvicorn process: the same answers, errors and events as the DRF views."""
import json
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from assay_shared.events.envelope import envelope_build, envelope_validate
from tests.conftest import CLASSES, rows, sql, table_counts

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def http(server):
    clients = []

    def client(actor=None):
        made = httpx.Client(base_url=server.url, headers=actor.headers if actor else {}, timeout=30)
        clients.append(made)
        return made

    yield client
    for made in clients:
        made.close()


@pytest.fixture
def project(http, cast):
    def make(n=2, **settings):
        lead = http(cast.owner)
        created = lead.post("/api/v1/projects", json={"name": "fast", "schema": CLASSES, **settings})
        assert created.status_code == 201, created.text
        body = "".join(f'{{"external_id":"{r["external_id"]}","url":"{r["url"]}"}}\n' for r in rows(n))
        imported = lead.post(f"/api/v1/projects/{created.json()['id']}/batches?name=b", content=body,
                             headers={"Content-Type": "application/x-ndjson"})
        assert imported.status_code == 201, imported.text
        return created.json()["id"]
    return make


def outbox(type_):
    """The events in the outbox, each checked as a consumer would."""
    bodies = [r[0] for r in sql("SELECT body FROM bus_outbox WHERE event_type = %s ORDER BY id", [type_])]
    return [envelope_validate(json.loads(b) if isinstance(b, str) else b).to_dict() for b in bodies]


def test_next_submit_and_retry_write_the_answer_and_its_events(http, cast, project):
    project_id = project(n=1, overlap=1)
    me = http(cast.teammate)
    handout = me.post(f"/api/v1/projects/{project_id}/next")
    assert handout.status_code == 200
    task = handout.json()["task"]
    assert set(task) == {"task_id", "project_id", "data", "schema_version", "lease_expires_at"}
    sid = str(uuid.uuid4())
    body = {"submission_id": sid, "answer": {"label": "cat"}, "duration_ms": 1200}
    first = me.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
    assert first.status_code == 201, first.text
    # a retry answers with the first receipt and writes nothing
    before = table_counts()
    again = me.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
    assert (again.status_code, again.json()) == (200, first.json())
    assert table_counts() == before
    stored_at = sql("SELECT submitted_at FROM assignment_submission WHERE id = %s", [sid])[0][0]
    assert datetime.fromisoformat(first.json()["submitted_at"]) == stored_at
    [submitted] = outbox("annotation.submitted")
    assert submitted["payload"]["submission_id"] == sid
    assert datetime.fromisoformat(submitted["payload"]["submitted_at"]) == stored_at
    assert submitted["payload"]["submitted_at"].endswith("+00:00")
    assert (submitted["payload"]["answer"], submitted["payload"]["duration_ms"]) == ({"label": "cat"}, 1200)
    # overlap 1: the task is complete, and says with which answers; the submit function composed the event
    # (ADR 0057): it passed the consumer's check above and shares the answer's envelope fields
    [completed] = outbox("task.completed")
    assert completed["payload"] == {"task_id": task["task_id"], "project_id": project_id,
                                    "batch_id": submitted["payload"]["batch_id"], "submission_ids": [sid]}
    assert completed["payload"]["batch_id"] is not None
    assert completed["id"] != submitted["id"]
    for field in ("tenant", "producer", "correlation_id", "version"):
        assert completed[field] == submitted[field]
    assert completed["occurred_at"] == submitted["payload"]["submitted_at"]
    # the same submission id for another task is refused
    other = me.post(f"/api/v1/tasks/{uuid.uuid4()}/submit", json=body)
    assert other.status_code == 404
    assert me.post(f"/api/v1/projects/{project_id}/next").json() == {"task": None}


def test_task_completed_of_a_task_outside_any_batch(http, cast):
    lead = http(cast.owner)
    project_id = lead.post("/api/v1/projects", json={"name": "loose", "schema": CLASSES, "overlap": 1}).json()["id"]
    made = lead.post(f"/api/v1/projects/{project_id}/tasks", json={"url": "https://img.example/loose.jpg"})
    assert made.status_code == 201, made.text
    me = http(cast.teammate)
    task = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    sent = me.post(f"/api/v1/tasks/{task['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 3})
    assert sent.status_code == 201, sent.text
    [completed] = outbox("task.completed")
    assert completed["payload"] == {"task_id": task["task_id"], "project_id": project_id, "batch_id": None,
                                    "submission_ids": [sent.json()["submission_id"]]}


def test_task_completed_lists_every_answer_in_order(http, cast, project):
    project_id = project(n=1, overlap=2)
    sids = []
    for actor in (cast.teammate, cast.annotator2):
        client = http(actor)
        task = client.post(f"/api/v1/projects/{project_id}/next").json()["task"]
        sids.append(str(uuid.uuid4()))
        sent = client.post(f"/api/v1/tasks/{task['task_id']}/submit",
                           json={"submission_id": sids[-1], "answer": {"label": "dog"}, "duration_ms": 5})
        assert sent.status_code == 201
    assert [e["payload"]["submission_ids"] for e in outbox("task.completed")] == [sids]
    assert len(outbox("annotation.submitted")) == 2


@pytest.mark.parametrize("body,code,field", [
    ({"answer": {"label": "owl"}, "duration_ms": 5}, "validation_error", "answer.label"),
    ({"answer": {"label": "cat"}}, "validation_error", "duration_ms"),
    ({"answer": {"label": "cat"}, "duration_ms": 5, "submission_id": "nope"}, "validation_error", "submission_id"),
    ({"answer": {"label": "cat"}, "duration_ms": 5, "extra": 1}, "validation_error", "extra"),
])
def test_bad_submissions_are_refused_naming_the_field_and_change_nothing(http, cast, project, body, code, field):
    project_id = project(n=1)
    me = http(cast.teammate)
    task = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    before = table_counts()
    refused = me.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == code and field in refused.json()["error"]["fields"]
    assert table_counts() == before
    # the lease is still held: the corrected answer goes through
    fixed = me.post(f"/api/v1/tasks/{task['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 5})
    assert fixed.status_code == 201


def test_refusals_of_the_fast_path(http, cast, project):
    project_id = project(n=1)
    task = http(cast.teammate).post(f"/api/v1/projects/{project_id}/next").json()["task"]
    before = table_counts()
    anonymous = http().post(f"/api/v1/projects/{project_id}/next")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "not_authenticated")
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="assay"'
    reviewer = http(cast.reviewer).post(f"/api/v1/projects/{project_id}/next")
    assert (reviewer.status_code, reviewer.json()["error"]["code"]) == (403, "forbidden")
    malformed = http(cast.teammate).post(f"/api/v1/tasks/{task['task_id']}/submit", content=b"{nope",
                                         headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed_body")
    unknown = http(cast.teammate).post(f"/api/v1/projects/{uuid.uuid4()}/next")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    # another tenant's annotator sees neither the project nor the task
    stranger = cast.make("globex", "teammate", ["annotator"])
    assert http(stranger).post(f"/api/v1/projects/{project_id}/next").status_code == 404
    foreign = http(stranger).post(f"/api/v1/tasks/{task['task_id']}/submit",
                                  json={"answer": {"label": "cat"}, "duration_ms": 5})
    assert foreign.status_code == 404
    # a second lease is over the project's cap of one
    capped = http(cast.teammate).post(f"/api/v1/projects/{project_id}/next")
    assert (capped.status_code, capped.json()["error"]["code"]) == (409, "lease_cap_reached")
    assert table_counts() == before


def test_suspended_annotator_is_refused(http, cast, project, deliver):
    project_id = project(n=1)
    deliver(envelope_build(type="annotator.suspended", tenant="acme", producer="metrics", payload={
        "annotator": "teammate", "project_id": None, "rule": "manual", "reason": "test"}))
    refused = http(cast.teammate).post(f"/api/v1/projects/{project_id}/next")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "annotator_suspended")


def test_late_answers_take_a_free_slot_or_are_refused(http, cast, project):
    project_id = project(n=1, overlap=1)
    me, other = http(cast.teammate), http(cast.annotator2)
    task = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    # the lease lapses and the sweeper returns it: the slot is free, so the late answer is accepted
    sql("DELETE FROM assignment_assignment WHERE task_id = %s", [task["task_id"]])
    sql("UPDATE assignment_task SET free_slots = 1 WHERE id = %s", [task["task_id"]])
    late = me.post(f"/api/v1/tasks/{task['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 5})
    assert late.status_code == 201, late.text
    assert sql("SELECT late FROM assignment_submission WHERE task_id = %s", [task["task_id"]]) == [(True,)]
    assert len(outbox("annotation.submitted")) == 1 and len(outbox("task.completed")) == 1

    project_id = project(n=1, overlap=1)
    task = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    sql("DELETE FROM assignment_assignment WHERE task_id = %s", [task["task_id"]])
    sql("UPDATE assignment_task SET free_slots = 1 WHERE id = %s", [task["task_id"]])
    assert other.post(f"/api/v1/projects/{project_id}/next").json()["task"]["task_id"] == task["task_id"]
    before = table_counts()
    refused = me.post(f"/api/v1/tasks/{task['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 5})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "lease_expired")
    assert table_counts() == before


def test_heartbeat_extends_the_lease(http, cast, project):
    project_id = project(n=1)
    me = http(cast.teammate)
    task = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    sql("UPDATE assignment_assignment SET expires_at = now() + interval '5 seconds' WHERE task_id = %s",
        [task["task_id"]])
    beat = me.post(f"/api/v1/tasks/{task['task_id']}/heartbeat")
    assert beat.status_code == 200
    assert datetime.fromisoformat(beat.json()["lease_expires_at"]) > datetime.now(timezone.utc).replace(microsecond=0)
    assert http(cast.annotator2).post(f"/api/v1/tasks/{task['task_id']}/heartbeat").status_code == 409


def test_submission_id_of_another_answer_is_refused_even_for_a_task_just_handed_out(http, cast, project):
    project_id = project(n=2, overlap=1)
    me = http(cast.teammate)
    first = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    sid = str(uuid.uuid4())
    body = {"submission_id": sid, "answer": {"label": "cat"}, "duration_ms": 5}
    assert me.post(f"/api/v1/tasks/{first['task_id']}/submit", json=body).status_code == 201
    second = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    before = table_counts()
    reused = me.post(f"/api/v1/tasks/{second['task_id']}/submit", json=body)
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "submission_id_reused")
    assert table_counts() == before
    fresh = me.post(f"/api/v1/tasks/{second['task_id']}/submit", json={**body, "submission_id": str(uuid.uuid4())})
    assert fresh.status_code == 201


def test_overlap_raised_after_the_handout_is_what_the_event_says(http, cast, project):
    project_id = project(n=1, overlap=1)
    me = http(cast.teammate)
    task = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    sql("UPDATE assignment_task SET overlap = 2, free_slots = 1 WHERE id = %s", [task["task_id"]])
    assert me.post(f"/api/v1/tasks/{task['task_id']}/submit",
                   json={"answer": {"label": "dog"}, "duration_ms": 5}).status_code == 201
    [submitted] = outbox("annotation.submitted")
    assert submitted["payload"]["overlap"] == 2
    assert outbox("task.completed") == []


def test_many_annotators_at_once_answer_every_slot_once_with_consistent_progress(http, cast, project, server):
    """Concurrent requests share database calls (ADR 0058); every rule and counter holds as if served alone."""
    import asyncio

    from assay_shared.testing import env as test_env
    from assay_shared.testing.cast import actor_make

    project_id = project(n=30, overlap=3)
    annotators = [actor_make(keys=test_env.SESSION_KEYS, tenant="acme", subject=f"crowd-{i}", roles=["annotator"])
                  for i in range(16)]

    async def annotate(actor, client):
        answered = []
        while True:
            got = await client.post(f"/api/v1/projects/{project_id}/next", headers=actor.headers)
            assert got.status_code == 200, got.text
            task = got.json()["task"]
            if task is None:
                return answered
            sent = await client.post(f"/api/v1/tasks/{task['task_id']}/submit", headers=actor.headers,
                                     json={"answer": {"label": "cat"}, "duration_ms": 7})
            assert sent.status_code == 201, sent.text
            answered.append(sent.json()["submission_id"])

    async def crowd():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await asyncio.gather(*(annotate(actor, client) for actor in annotators))

    answered = [sid for batch in asyncio.run(crowd()) for sid in batch]
    assert len(answered) == len(set(answered)) == 90
    assert sql("SELECT count(*), count(DISTINCT (task_id, annotator)) FROM assignment_submission")[0] == (90, 90)
    assert sql("SELECT count(*) FROM assignment_task WHERE answered <> 3 OR free_slots <> 0")[0][0] == 0
    completed = outbox("task.completed")
    assert len(completed) == 30 and all(len(e["payload"]["submission_ids"]) == 3 for e in completed)
    assert len(outbox("annotation.submitted")) == 90
    progress = http(cast.owner).get(f"/api/v1/projects/{project_id}/progress").json()
    assert {k: progress[k] for k in ("queued", "leased", "answered", "completed")} == {
        "queued": 0, "leased": 0, "answered": 90, "completed": 30}
    # and the requests did share calls: some database call carried more than one
    metrics = httpx.get(f"{server.url}/metrics").text
    shared = [line for line in metrics.splitlines() if line.startswith("assay_assignment_hot_batch_requests_bucket")
              and 'le="1.0"' in line]
    counts = [line for line in metrics.splitlines() if line.startswith("assay_assignment_hot_batch_requests_count")]
    assert any(float(c.rsplit(" ", 1)[1]) > float(s.rsplit(" ", 1)[1]) for c, s in zip(sorted(counts), sorted(shared)))


@pytest.mark.parametrize("answer, code, reason", [
    ('{"label": ' + "[" * 100_000 + "]" * 100_000 + "}", "malformed_body", "is nested deeper than 32 levels"),
    ('{"label": "c\\u0000at"}', "validation_error", "NUL"),
])
def test_a_submission_nested_100k_deep_or_with_a_nul_is_a_400_and_keeps_the_lease(http, cast, project, answer, code,
                                                                                   reason):
    project_id = project(n=1, overlap=1)
    me = http(cast.teammate)
    task = me.post(f"/api/v1/projects/{project_id}/next").json()["task"]
    body = '{"submission_id": "%s", "answer": %s, "duration_ms": 5}' % (uuid.uuid4(), answer)
    refused = me.post(f"/api/v1/tasks/{task['task_id']}/submit", content=body,
                      headers={"Content-Type": "application/json"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == code
    assert reason in json.dumps(refused.json()["error"]["fields"])
    assert outbox("annotation.submitted") == []
    # the lease is still held: a good answer is accepted afterwards
    good = me.post(f"/api/v1/tasks/{task['task_id']}/submit",
                   json={"submission_id": str(uuid.uuid4()), "answer": {"label": "cat"}, "duration_ms": 5})
    assert good.status_code == 201, good.text
