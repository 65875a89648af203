"""The service's ASGI application driven in-process (httpx's ASGITransport; asgiref's ApplicationCommunicator): the
fast path's next, submit and heartbeat with every refusal in its shape, the WebSocket's use of the same checks, and
the admission rule's 503, without a server process."""
import asyncio
import json
import uuid

import httpx
import pytest
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer

from assay_shared.bus.lag import Lag
from assay_shared.errors import error_body
from tests.conftest import CLASSES, rows, sql, table_counts

from assay_assignment.asgi import application
from assay_assignment.core import admission
from assay_assignment.core.admission_rule import AdmissionRule
from assay_assignment.hotpath import aio, checks

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario):
    """Run a scenario on a fresh event loop, closing the hot path's connections (they belong to the loop) after."""
    async def main():
        try:
            return await scenario()
        finally:
            await aio.pool_close()
            layer = get_channel_layer()
            if hasattr(layer, "close_pools"):
                await layer.close_pools()
    return asyncio.run(main())


def client(actor=None, **headers) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://assignment",
                             headers={**(actor.headers if actor else {}), **headers})


@pytest.fixture
def project(api, cast, import_tasks):
    def make(n=2, **settings):
        created = api(cast.owner).post("/api/v1/projects", {"name": "asgi", "schema": CLASSES, **settings},
                                       content_type="application/json")
        assert created.status_code == 201, created.json()
        import_tasks(created.json()["id"], rows(n))
        return created.json()["id"]
    return make


def refusal(response, status: int, code: str, **checks_):
    """The response is a refusal in the one error shape, with this status and code."""
    body = response.json()
    assert (response.status_code, set(body), set(body["error"]), body["error"]["code"]) == (
        status, {"error"}, {"code", "message", "fields"}, code), body
    for key, value in checks_.items():
        assert body["error"][key] == value
    return body["error"]


def test_next_heartbeat_submit_and_retry(cast, project):
    project_id = project(n=1, overlap=1)

    async def scenario():
        async with client(cast.teammate, **{"X-Correlation-ID": "c-1"}) as me:
            got = await me.post(f"/api/v1/projects/{project_id}/next")
            assert got.status_code == 200 and got.headers["x-correlation-id"] == "c-1"
            task = got.json()["task"]
            assert set(task) == {"task_id", "project_id", "data", "schema_version", "lease_expires_at"}
            assert (task["project_id"], task["data"]["url"]) == (project_id, "https://img.example/t0.jpg")
            beat = await me.post(f"/api/v1/tasks/{task['task_id']}/heartbeat")
            assert (beat.status_code, beat.json()["task_id"]) == (200, task["task_id"])
            assert beat.json()["lease_expires_at"] >= task["lease_expires_at"]
            sid = str(uuid.uuid4())
            body = {"answer": {"label": "cat"}, "duration_ms": 5, "submission_id": sid}
            first = await me.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
            assert (first.status_code, first.json()["submission_id"], first.json()["task_id"]) == (
                201, sid, task["task_id"])
            again = await me.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
            assert (again.status_code, again.json()) == (200, first.json())
            assert (await me.post(f"/api/v1/projects/{project_id}/next")).json() == {"task": None}
            return sid

    sid = run(scenario)
    assert sql("SELECT id, late FROM assignment_submission") == [(uuid.UUID(sid), False)]
    assert [r[0] for r in sql("SELECT event_type FROM bus_outbox WHERE event_type IN"
                              " ('annotation.submitted', 'task.completed') ORDER BY id")] == [
        "annotation.submitted", "task.completed"]


@pytest.mark.parametrize("kind", ["next", "submit", "heartbeat"])
def test_who_may_call_each_hot_endpoint(cast, project, kind):
    project_id = project(n=1)
    path = {"next": f"/api/v1/projects/{project_id}/next", "submit": f"/api/v1/tasks/{uuid.uuid4()}/submit",
            "heartbeat": f"/api/v1/tasks/{uuid.uuid4()}/heartbeat"}[kind]
    before = table_counts()

    async def scenario():
        async with client() as anonymous, client(Authorization="Basic abc") as basic, \
                client(Authorization="Bearer not-a-token") as forged, client(cast.reviewer) as reviewer:
            nobody = await anonymous.post(path, json={})
            assert nobody.headers["www-authenticate"] == checks.WWW_AUTHENTICATE
            refusal(nobody, 401, "not_authenticated", message="Authentication credentials were not provided.")
            refusal(await basic.post(path, json={}), 401, "token_malformed")
            refusal(await forged.post(path, json={}), 401, "token_malformed")
            refusal(await reviewer.post(path, json={}), 403, "forbidden", message="your roles do not allow this",
                    fields={})

    run(scenario)
    assert table_counts() == before


def test_refusals_of_next(cast, project):
    project_id = project(n=2, max_open_leases=1)
    stranger = cast.make("globex", "stranger", ["annotator"])

    async def scenario():
        async with client(cast.teammate) as me, client(stranger) as other:
            missing = uuid.uuid4()
            refusal(await me.post(f"/api/v1/projects/{missing}/next"), 404, "not_found",
                    message=f"project {missing} does not exist")
            # another tenant's annotator: row-level security hides the project
            refusal(await other.post(f"/api/v1/projects/{project_id}/next"), 404, "not_found")
            assert (await me.post(f"/api/v1/projects/{project_id}/next")).status_code == 200
            refusal(await me.post(f"/api/v1/projects/{project_id}/next"), 409, "lease_cap_reached")
            # not a hot route: Django answers
            assert (await me.post(f"/api/v1/projects/{project_id}/nxt")).status_code == 404

    run(scenario)


@pytest.mark.parametrize("body,field,reason", [
    ({"answer": {"label": "owl"}, "duration_ms": 5}, "answer.label", "must be one of the schema's labels (cat, dog)"),
    ({"answer": {"label": "cat"}}, "duration_ms", "is required: milliseconds spent, an integer from 0 to 86400000"),
    ({"answer": {"label": "cat"}, "duration_ms": True}, "duration_ms",
     "is required: milliseconds spent, an integer from 0 to 86400000"),
    ({"duration_ms": 5}, "answer", "is required"),
    ({"answer": {"label": "cat"}, "duration_ms": 5, "submission_id": "nope"}, "submission_id", "must be a UUID"),
    ({"answer": {"label": "cat"}, "duration_ms": 5, "colour": 1}, "colour", "is not a submission field"),
    ([1, 2], "body", "must be a JSON object"),
])
def test_bad_submissions_name_the_field_and_change_nothing(cast, project, body, field, reason):
    project_id = project(n=1)

    async def scenario():
        async with client(cast.teammate) as me:
            task = (await me.post(f"/api/v1/projects/{project_id}/next")).json()["task"]
            before = await asyncio.to_thread(table_counts)
            refusal(await me.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body), 400, "validation_error",
                    fields={field: [reason]})
            assert await asyncio.to_thread(table_counts) == before
            # the lease is still held: the corrected answer goes through
            fixed = await me.post(f"/api/v1/tasks/{task['task_id']}/submit",
                                  json={"answer": {"label": "cat"}, "duration_ms": 5})
            assert fixed.status_code == 201

    run(scenario)


def test_refusals_of_submit_and_heartbeat(cast, project):
    project_id = project(n=2, overlap=1)

    async def scenario():
        async with client(cast.teammate) as me, client(cast.annotator2) as other:
            task = (await me.post(f"/api/v1/projects/{project_id}/next")).json()["task"]
            submit = f"/api/v1/tasks/{task['task_id']}/submit"
            error = refusal(await me.post(submit, content=b"{nope"), 400, "malformed_body")
            assert error["fields"]["body"][0].startswith("is not valid JSON: ")
            refusal(await me.post(submit, content=b"x" * (2 * 1024 * 1024 + 1)), 413, "body_too_large")
            refusal(await other.post(f"/api/v1/tasks/{task['task_id']}/heartbeat"), 409, "no_lease")
            unknown = uuid.uuid4()
            refusal(await me.post(f"/api/v1/tasks/{unknown}/submit", json={"answer": {"label": "cat"},
                                                                         "duration_ms": 5}),
                    404, "not_found", message=f"task {unknown} does not exist")
            sid = str(uuid.uuid4())
            body = {"answer": {"label": "cat"}, "duration_ms": 5, "submission_id": sid}
            assert (await me.post(submit, json=body)).status_code == 201
            refusal(await me.post(submit, json={**body, "submission_id": str(uuid.uuid4())}), 409, "already_answered")
            refusal(await other.post(submit, json=body), 409, "submission_id_reused",
                    fields={"submission_id": ["was already used"]})
            refusal(await me.post(f"/api/v1/tasks/{task['task_id']}/heartbeat"), 409, "no_lease")

    run(scenario)


class Socket:
    """A WebSocket client of the application, in-process."""

    def __init__(self, query: str) -> None:
        self.app = ApplicationCommunicator(application, {
            "type": "websocket", "path": "/ws/work", "query_string": query.encode(), "headers": [],
            "subprotocols": []})

    async def connect(self) -> None:
        await self.app.send_input({"type": "websocket.connect"})
        assert (await self.app.receive_output(10))["type"] == "websocket.accept"

    async def receive(self) -> dict:
        message = await self.app.receive_output(10)
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def closed_with(self) -> int:
        message = await self.app.receive_output(10)
        assert message["type"] == "websocket.close", message
        return message["code"]

    async def send(self, message: dict) -> None:
        await self.app.send_input({"type": "websocket.receive", "text": json.dumps(message)})

    async def disconnect(self) -> None:
        await self.app.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.app.wait(5)


class Lags:
    """Stands in for the Redis reader of the admission rule: fixed lags."""

    def __init__(self, **seconds):
        self.seconds = seconds

    def lags(self):
        return {s: Lag(service=s, seconds=v, depth=1, at=0.0) for s, v in self.seconds.items()}


@pytest.fixture
def scoring_lags(settings, monkeypatch):
    settings.ASSAY_ADMISSION = AdmissionRule(max_lag_seconds=2.0, services=("scoring",))
    monkeypatch.setattr(admission, "_watch", Lags(scoring=9.0))


def test_busy_hand_outs_answer_503_with_retry_after_and_answers_go_on(cast, project, scoring_lags):
    project_id = project(n=2)
    task_id = None

    async def scenario():
        nonlocal task_id
        async with client(cast.teammate) as me:
            # a task handed out before scoring fell behind
            admission._watch.seconds["scoring"] = 0.0
            task_id = (await me.post(f"/api/v1/projects/{project_id}/next")).json()["task"]["task_id"]
            admission._watch.seconds["scoring"] = 9.0
            busy = await me.post(f"/api/v1/projects/{project_id}/next")
            refusal(busy, 503, "system_busy", message="no new tasks for now: scoring is 9.0 s behind (bound 2 s)",
                    fields={"retry_after": ["7"]})
            assert busy.headers["retry-after"] == "7"
            sent = await me.post(f"/api/v1/tasks/{task_id}/submit", json={"answer": {"label": "dog"},
                                                                          "duration_ms": 9})
            assert sent.status_code == 201

    run(scenario)
    assert sql("SELECT count(*) FROM assignment_assignment") == [(1,)]


def test_the_websocket_uses_the_same_checks_and_says_busy(cast, project, scoring_lags):
    project_id = project(n=1)

    async def scenario():
        refused = Socket(f"project={project_id}&token={cast.reviewer.token}")
        await refused.connect()
        assert await refused.receive() == {"type": "error", "for": "auth",
                                           **error_body(code="forbidden", message="your roles do not allow this")}
        assert await refused.closed_with() == 4403
        await refused.disconnect()

        admission._watch.seconds["scoring"] = 0.0
        ws = Socket(f"project={project_id}&token={cast.teammate.token}")
        await ws.connect()
        assert await ws.receive() == {"type": "ready", "project_id": project_id}
        task = (await ws.receive())["task"]
        # a submission is checked as over HTTP
        await ws.send({"type": "submit", "task_id": task["task_id"], "answer": {"label": "cat"}, "duration_ms": 5,
                       "colour": 1})
        assert await ws.receive() == {"type": "error", "for": "submit", **error_body(
            code="validation_error", message="the request is invalid: colour: is not a submission field",
            fields={"colour": ["is not a submission field"]})}
        # while scoring lags, the answer is accepted and the next hand-out is held back
        admission._watch.seconds["scoring"] = 9.0
        await ws.send({"type": "submit", "task_id": task["task_id"], "answer": {"label": "cat"}, "duration_ms": 5})
        assert (await ws.receive())["type"] == "submitted"
        busy = await ws.receive()
        assert (busy["type"], busy["retry_after"]) == ("busy", 7)
        await ws.disconnect()

    run(scenario)


def test_many_annotators_at_once_share_database_calls_and_every_rule_holds(cast, project):
    """Concurrent requests share database calls (ADR 0058); every slot is answered once, progress adds up."""
    from assay_shared.testing import env as test_env
    from assay_shared.testing.cast import actor_make

    project_id = project(n=30, overlap=3)
    annotators = [actor_make(keys=test_env.SESSION_KEYS, tenant="acme", subject=f"crowd-{i}", roles=["annotator"])
                  for i in range(16)]
    carried = lambda: {call: aio.BATCH_REQUESTS.labels(call)._sum.get() for call in ("next", "submit")}  # noqa: E731
    counts = lambda: {call: sum(b.get() for b in aio.BATCH_REQUESTS.labels(call)._buckets) for call in ("next", "submit")}  # noqa: E731
    before_sum, before_count = carried(), counts()

    async def annotate(actor):
        answered = []
        async with client(actor) as me:
            while True:
                got = await me.post(f"/api/v1/projects/{project_id}/next")
                assert got.status_code == 200, got.text
                task = got.json()["task"]
                if task is None:
                    return answered
                sent = await me.post(f"/api/v1/tasks/{task['task_id']}/submit",
                                     json={"answer": {"label": "cat"}, "duration_ms": 7})
                assert sent.status_code == 201, sent.text
                answered.append(sent.json()["submission_id"])

    async def crowd():
        return await asyncio.gather(*(annotate(actor) for actor in annotators))

    answered = [sid for batch in run(crowd) for sid in batch]
    assert len(answered) == len(set(answered)) == 90
    assert sql("SELECT count(*), count(DISTINCT (task_id, annotator)) FROM assignment_submission") == [(90, 90)]
    assert sql("SELECT count(*) FROM assignment_task WHERE answered <> 3 OR free_slots <> 0") == [(0,)]
    assert sql("SELECT count(*) FROM bus_outbox WHERE event_type = 'task.completed'") == [(30,)]
    progress = sql("SELECT sum(queued), sum(leased), sum(answered), sum(completed) FROM assignment_progress"
                   " WHERE project_id = %s", [project_id])
    assert progress == [(0, 0, 90, 30)]
    # requests carried by calls, against calls made: more requests than calls means some calls carried several
    after_sum, after_count = carried(), counts()
    assert sum(after_sum.values()) - sum(before_sum.values()) == 90 + 90 + 16  # every next and submit, once
    assert sum(after_count.values()) - sum(before_count.values()) < 90 + 90 + 16
