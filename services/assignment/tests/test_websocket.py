"""Live push over WebSocket, against a real uvicorn process of the service."""
import asyncio
import json
import uuid

import httpx
import pytest
import websockets

from assay_shared.events.envelope import envelope_build
from tests.conftest import CLASSES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def receive(ws, timeout=10.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def test_waiting_annotator_receives_a_task_the_moment_it_is_created(server, cast, deliver):
    lead = httpx.Client(base_url=server.url, headers=cast.owner.headers, timeout=30)
    project = lead.post("/api/v1/projects", json={"name": "live", "schema": CLASSES}).json()

    async def scenario():
        url = f"ws://127.0.0.1:{server.port}/ws/work?project={project['id']}&token={cast.teammate.token}"
        async with websockets.connect(url) as ws:
            assert await receive(ws) == {"type": "ready", "project_id": project["id"]}
            assert await receive(ws) == {"type": "waiting"}
            # when a task is created while the annotator waits
            created = await asyncio.to_thread(lead.post, f"/api/v1/projects/{project['id']}/tasks",
                                              json={"url": "https://x/live.jpg"})
            assert created.status_code == 201
            # then it is pushed to them, leased to them
            pushed = await receive(ws)
            assert pushed["type"] == "task"
            assert (pushed["task"]["task_id"], pushed["task"]["data"]) == (created.json()["id"],
                                                                           {"url": "https://x/live.jpg", "metadata": {}})
            # heartbeats and submissions go over the same socket; an invalid answer names the field
            await ws.send(json.dumps({"type": "heartbeat", "task_id": pushed["task"]["task_id"]}))
            assert (await receive(ws))["type"] == "lease"
            await ws.send(json.dumps({"type": "submit", "task_id": pushed["task"]["task_id"],
                                      "answer": {"label": "owl"}, "duration_ms": 900}))
            refused = await receive(ws)
            assert (refused["type"], refused["for"], refused["error"]["fields"]) == (
                "error", "submit", {"answer.label": ["must be one of the schema's labels (cat, dog)"]})
            sid = str(uuid.uuid4())
            await ws.send(json.dumps({"type": "submit", "task_id": pushed["task"]["task_id"], "submission_id": sid,
                                      "answer": {"label": "cat"}, "duration_ms": 900}))
            submitted = await receive(ws)
            assert (submitted["type"], submitted["submission_id"]) == ("submitted", sid)
            assert await receive(ws) == {"type": "waiting"}
            # and a review outcome is pushed as it arrives
            review = envelope_build(type="review.completed", tenant="acme", producer="review", payload={
                "review_id": str(uuid.uuid4()), "task_id": pushed["task"]["task_id"], "project_id": project["id"],
                "submission_id": sid, "annotator": "teammate", "reviewer": "reviewer", "verdict": "accepted"})
            await asyncio.to_thread(deliver, review)
            feedback = await receive(ws)
            assert feedback == {"type": "feedback", "feedback": {
                "kind": "review", "review_id": review.payload["review_id"], "task_id": pushed["task"]["task_id"],
                "submission_id": sid, "verdict": "accepted"}}

    asyncio.run(scenario())


def test_authentication_by_first_message_and_refusals(server, cast):
    lead = httpx.Client(base_url=server.url, headers=cast.owner.headers, timeout=30)
    project = lead.post("/api/v1/projects", json={"name": "live", "schema": CLASSES}).json()

    async def scenario():
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/work") as ws:
            await ws.send(json.dumps({"type": "auth", "token": cast.annotator2.token, "project_id": project["id"]}))
            assert await receive(ws) == {"type": "ready", "project_id": project["id"]}
            assert await receive(ws) == {"type": "waiting"}
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/work?project={project['id']}&token=nope") as ws:
            refused = await receive(ws)
            assert (refused["type"], refused["error"]["code"]) == ("error", "token_malformed")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await receive(ws)
            assert closed.value.rcvd.code == 4401
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/work") as ws:
            await ws.send(json.dumps({"type": "next"}))
            refused = await receive(ws)
            assert refused["error"]["code"] == "not_authenticated"
        token = cast.owner.token  # a lead, not an annotator
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/work?project={project['id']}&token={token}") as ws:
            assert (await receive(ws))["error"]["code"] == "forbidden"

    asyncio.run(scenario())
