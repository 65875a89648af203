"""The annotators' hot endpoints as served by the real process (ASGI fast path): same answers, same errors."""
import uuid

import httpx
import pytest

from tests.conftest import CLASSES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_next_submit_heartbeat_and_their_refusals(server, cast):
    lead = httpx.Client(base_url=server.url, headers=cast.owner.headers, timeout=30)
    annotator = httpx.Client(base_url=server.url, headers=cast.teammate.headers, timeout=30)
    project = lead.post("/api/v1/projects", json={"name": "e2e", "schema": CLASSES, "overlap": 1}).json()
    lead.post(f"/api/v1/projects/{project['id']}/tasks", json={"url": "https://x/1.jpg"})
    # refusals: no token, wrong role, unknown project
    response = httpx.post(f"{server.url}/api/v1/projects/{project['id']}/next")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")
    assert response.headers["www-authenticate"] == 'Bearer realm="assay"'
    response = lead.post(f"/api/v1/projects/{project['id']}/next")
    assert response.json() == {"error": {"code": "forbidden", "message": "your roles do not allow this", "fields": {}}}
    missing = uuid.uuid4()
    response = annotator.post(f"/api/v1/projects/{missing}/next")
    assert (response.status_code, response.json()["error"]["message"]) == (404, f"project {missing} does not exist")
    # the happy path
    task = annotator.post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    assert task["data"] == {"url": "https://x/1.jpg", "metadata": {}}
    beat = annotator.post(f"/api/v1/tasks/{task['task_id']}/heartbeat")
    assert (beat.status_code, sorted(beat.json())) == (200, ["lease_expires_at", "task_id"])
    bad = annotator.post(f"/api/v1/tasks/{task['task_id']}/submit", content=b"{nope")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "malformed_body")
    bad = annotator.post(f"/api/v1/tasks/{task['task_id']}/submit", json={"answer": {"label": "cat"}})
    assert bad.json()["error"]["fields"] == {
        "duration_ms": ["is required: milliseconds spent, an integer from 0 to 86400000"]}
    bad = annotator.post(f"/api/v1/tasks/{task['task_id']}/submit",
                         json={"answer": {"label": "cat", "attributes": {"occluded": 1}}, "duration_ms": 5})
    assert bad.json()["error"]["fields"] == {"answer.attributes.occluded": ["must be true or false"]}
    sid = str(uuid.uuid4())
    body = {"answer": {"label": "cat"}, "duration_ms": 5, "submission_id": sid}
    first = annotator.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
    again = annotator.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
    assert (first.status_code, again.status_code, first.json() == again.json()) == (201, 200, True)
    assert annotator.post(f"/api/v1/projects/{project['id']}/next").json() == {"task": None}
    stranger = httpx.Client(base_url=server.url, headers=cast.make("globex", "x", ["annotator"]).headers)
    response = stranger.post(f"/api/v1/tasks/{task['task_id']}/submit", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    progress = lead.get(f"/api/v1/projects/{project['id']}/progress").json()
    assert (progress["answered"], progress["completed"], progress["queued"], progress["leased"]) == (1, 1, 0, 0)
