"""Streamed imports and intake against a real uvicorn process: commits as the body arrives, a cut connection keeps
what arrived, and a waiting annotator is handed a task taken by intake at once."""
import asyncio
import json
import socket
import time

import httpx
import pytest
import websockets

from tests.conftest import CLASSES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def eventually(read, until, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def line(n: int) -> bytes:
    return json.dumps({"external_id": f"s{n}", "url": f"https://img.example/{n}.jpg"}).encode() + b"\n"


def test_a_cut_upload_keeps_the_lines_that_arrived_and_says_which(server, cast):
    lead = httpx.Client(base_url=server.url, headers=cast.owner.headers, timeout=30)
    project = lead.post("/api/v1/projects", json={"name": "stream", "schema": CLASSES}).json()
    batch = lead.post(f"/api/v1/projects/{project['id']}/batches/open", json={"name": "cams"}).json()
    imports = f"/api/v1/projects/{project['id']}/imports"

    # given an upload streaming in, blocks of 2 lines or 100 ms
    conn = socket.create_connection(("127.0.0.1", server.port))
    conn.sendall((f"POST {imports}?batch={batch['id']}&commit_lines=2&commit_ms=100 HTTP/1.1\r\n"
                  f"Host: assignment\r\nAuthorization: Bearer {cast.owner.token}\r\n"
                  "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
    conn.sendall(chunk(line(1) + line(2) + line(3)))
    # then the first three lines are committed while the body is still open (two by count, the third by time)
    listed = eventually(lambda: lead.get(imports, params={"batch": batch["id"]}).json()["results"],
                        lambda r: r and r[0]["imported"] == 3)
    assert (listed[0]["state"], listed[0]["committed"]) == ("running", [[1, 3]])
    assert lead.get(f"/api/v1/projects/{project['id']}/progress").json()["tasks"] == 3

    # when the connection breaks inside line 5
    conn.sendall(chunk(line(4) + line(5)[:12]))
    time.sleep(0.3)
    conn.close()

    # then what arrived whole is kept, the import says it broke, and the cut line is refused by number
    record = eventually(lambda: lead.get(imports, params={"batch": batch["id"]}).json()["results"][0],
                        lambda r: r["state"] != "running")
    assert (record["state"], record["lines"], record["imported"], record["committed"]) == ("broken", 4, 4, [[1, 4]])
    assert record["refused"] == [{"line": 5, "field": "",
                                  "reason": "incomplete: the connection broke before the line ended"}]
    assert lead.get(f"/api/v1/projects/{project['id']}/progress").json()["tasks"] == 4

    # and sending the whole file again into the batch adds only what was missing
    again = lead.post(f"{imports}?batch={batch['id']}", content=b"".join(line(n) for n in range(1, 7)),
                      headers={"Content-Type": "application/x-ndjson"})
    assert again.status_code == 201
    assert (again.json()["imported"], again.json()["duplicates"]) == (2, 4)


def test_a_stream_is_refused_without_a_lead_token_or_the_right_type(server, cast):
    lead = httpx.Client(base_url=server.url, headers=cast.owner.headers, timeout=30)
    project = lead.post("/api/v1/projects", json={"name": "stream", "schema": CLASSES}).json()
    path = f"/api/v1/projects/{project['id']}/imports"
    body, ndjson = line(1), {"Content-Type": "application/x-ndjson"}
    assert httpx.post(server.url + path, content=body, headers=ndjson).status_code == 401
    annotator = httpx.post(server.url + path, content=body, headers={**ndjson, **cast.teammate.headers})
    assert annotator.status_code == 403
    outsider = httpx.post(server.url + path, content=body, headers={**ndjson, **cast.outsider.headers})
    assert outsider.status_code == 404
    wrong = lead.post(path, content=body, headers={"Content-Type": "text/plain"})
    assert (wrong.status_code, wrong.json()["error"]["fields"]) == (415, {"Content-Type": ["text/plain is not supported"]})
    bad = lead.post(path + "?commit_lines=0", content=body, headers=ndjson)
    assert bad.status_code == 400 and "commit_lines" in bad.json()["error"]["fields"]
    assert lead.get(path).json()["results"] == []
    assert lead.get(f"/api/v1/projects/{project['id']}/batches").json()["results"] == []


def test_a_waiting_annotator_receives_a_task_taken_by_intake_at_once(server, cast):
    lead = httpx.Client(base_url=server.url, headers=cast.owner.headers, timeout=30)
    project = lead.post("/api/v1/projects", json={"name": "live", "schema": CLASSES}).json()

    async def scenario():
        url = f"ws://127.0.0.1:{server.port}/ws/work?project={project['id']}&token={cast.teammate.token}"
        async with websockets.connect(url) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "waiting"}
            taken = await asyncio.to_thread(lead.post, f"/api/v1/projects/{project['id']}/intake",
                                            json={"tasks": [{"external_id": "e1", "url": "https://img.example/e1.jpg"}]})
            assert taken.status_code == 201
            pushed = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (pushed["type"], pushed["task"]["task_id"]) == ("task", taken.json()["tasks"][0]["task_id"])

    asyncio.run(scenario())
