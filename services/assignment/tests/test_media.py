"""Media by signed URL against real HTTP: moto's S3 server (the one fake point, standing for S3 and for Cloud
Storage's S3 endpoint), a private origin on http.server, and the real assignment process."""
import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
import websockets

from tests.conftest import CLASSES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIGNING_KEY = "test-media-signing-key"
ORIGIN_SECRET = "Bearer origin-secret"
KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3():
    from moto.server import ThreadedMotoServer

    from assay_shared.testing.processes import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    for bucket in ("frames", "gcs-frames"):
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket="frames", Key="cam/1.jpg", Body=b"s3-image-bytes", ContentType="image/jpeg")
    client.put_object(Bucket="gcs-frames", Key="depth/1.png", Body=b"gs-depth-bytes", ContentType="image/png")
    yield endpoint
    server.stop()


class _Origin(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.headers.get("Authorization") != ORIGIN_SECRET:
            self.send_response(401)
            self.end_headers()
            return
        body = b"origin:" + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Type", "image/webp")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def media_settings(s3, origin) -> dict:
    return {"s3": {"endpoint_url": s3, **KEYS},
            "gs": {"endpoint_url": s3, **KEYS, "presign": False},
            "https": [{"prefix": f"{origin}/private/", "headers": {"Authorization": ORIGIN_SECRET}}]}


@pytest.fixture
def media_server(django_db_setup, s3, origin):
    from assay_shared.testing import env as test_env
    from assay_shared.testing.processes import ServiceProcess

    env = {**test_env.service_env(service="assignment", database=test_env.test_database("assignment")),
           "ASSAY_MEDIA_ACME": json.dumps(media_settings(s3, origin)), "MEDIA_SIGNING_KEY": SIGNING_KEY}
    process = ServiceProcess(service="assignment", env=env)
    process.start(worker=False, timeout=60)
    yield process
    process.stop()


def setup_project(server, cast, rows, **settings):
    lead = httpx.Client(base_url=server.url, headers=cast.owner.headers, timeout=30)
    project = lead.post("/api/v1/projects", json={"name": "media", "schema": CLASSES, **settings}).json()
    imported = lead.post(f"/api/v1/projects/{project['id']}/batches", content="\n".join(map(json.dumps, rows)),
                         headers={"Content-Type": "application/x-ndjson"})
    assert imported.status_code == 201, imported.text
    return lead, project


def client(server, actor=None):
    return httpx.Client(base_url=server.url, headers=actor.headers if actor else {}, timeout=30)


def test_s3_media_is_handed_out_presigned_for_the_lease(media_server, cast):
    lead, project = setup_project(media_server, cast, [
        {"external_id": "a", "url": "s3://frames/cam/1.jpg", "metadata": {"depth": "gs://gcs-frames/depth/1.png",
                                                                          "camera": "front"}}],
        lease_ttl_seconds=120)
    handed = client(media_server, cast.teammate).post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    assert "s3://" not in json.dumps(handed) and "gs://" not in json.dumps(handed)
    # the S3 store signs: a presigned GET on the store, expiring with the lease
    query = parse_qs(urlsplit(handed["data"]["url"]).query)
    assert 110 <= int(query["X-Amz-Expires"][0]) <= 120
    assert httpx.get(handed["data"]["url"]).content == b"s3-image-bytes"
    # the gs store is configured not to presign: an Assay link, streamed from the store
    depth = handed["data"]["metadata"]["depth"]
    assert urlsplit(depth).path.startswith("/api/v1/media/")
    fetched = httpx.get(media_server.url + depth)
    assert (fetched.status_code, fetched.content, fetched.headers["content-type"]) == (200, b"gs-depth-bytes", "image/png")
    assert handed["data"]["metadata"]["camera"] == "front"
    # the lead still sees where the task's media is stored
    stored = lead.get(f"/api/v1/tasks/{handed['task_id']}").json()["data"]
    assert (json.loads(stored) if isinstance(stored, str) else stored)["url"] == "s3://frames/cam/1.jpg"


def test_a_private_origin_link_works_for_the_holder_only_while_the_lease_lasts(media_server, cast, origin):
    _, project = setup_project(media_server, cast, [{"external_id": "p", "url": f"{origin}/private/p.webp"},
                                                    {"external_id": "q", "url": "https://img.example/public.jpg"}])
    annotator = client(media_server, cast.teammate)
    handed = annotator.post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    link = handed["data"]["url"]
    assert link.startswith("/api/v1/media/") and origin not in link
    # the link alone works (an <img> sends no token), as does the holder's own token
    assert httpx.get(media_server.url + link).content == b"origin:/private/p.webp"
    assert annotator.get(link).status_code == 200
    # another person's token, another tenant's, an altered link: 403
    other = client(media_server, cast.annotator2).get(link)
    assert (other.status_code, other.json()["error"]["code"]) == (403, "media_link_not_yours")
    outsider = client(media_server, cast.outsider).get(link)
    assert (outsider.status_code, outsider.json()["error"]["code"]) == (403, "media_link_not_yours")
    body, signature = link.rsplit(".", 1)
    for altered in (body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature, body + "." + signature[::-1],
                    link.split(".")[0]):
        refused = httpx.get(media_server.url + altered)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "media_link_invalid"), altered
    # a public URL is handed out as it is
    second = client(media_server, cast.annotator2).post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    assert second["data"]["url"] == "https://img.example/public.jpg"
    # once the holder gives the task back, the link is gone with the lease
    assert annotator.post(f"/api/v1/tasks/{handed['task_id']}/release").status_code == 204
    gone = httpx.get(media_server.url + link)
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "lease_ended")


def test_an_expired_link_is_410(media_server, cast, origin, monkeypatch):
    from assay_assignment.core.services import media

    _, project = setup_project(media_server, cast, [{"external_id": "p", "url": f"{origin}/private/p.webp"}])
    handed = client(media_server, cast.teammate).post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    monkeypatch.setenv("MEDIA_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setattr(media, "_KEY", [])
    fresh = media.link_sign(tenant="acme", task_id=handed["task_id"], holder=media.holder_tag("teammate"),
                            field="url", expires=int(time.time()) + 30, scope="lease")
    assert httpx.get(media_server.url + fresh).status_code == 200  # signed alike: the key is the service's
    expired = media.link_sign(tenant="acme", task_id=handed["task_id"], holder=media.holder_tag("teammate"),
                              field="url", expires=int(time.time()) - 1, scope="lease")
    refused = httpx.get(media_server.url + expired)
    assert (refused.status_code, refused.json()["error"]["code"]) == (410, "media_link_expired")
    other_task = media.link_sign(tenant="acme", task_id=str(uuid.uuid4()), holder=media.holder_tag("teammate"),
                                 field="url", expires=int(time.time()) + 30, scope="lease")
    assert httpx.get(media_server.url + other_task).status_code == 410


def test_the_websocket_hands_out_the_same_signed_links(media_server, cast, origin):
    _, project = setup_project(media_server, cast, [{"external_id": "p", "url": f"{origin}/private/ws.webp"}])

    async def scenario():
        url = f"ws://127.0.0.1:{media_server.port}/ws/work?project={project['id']}&token={cast.teammate.token}"
        async with websockets.connect(url) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
            return json.loads(await asyncio.wait_for(ws.recv(), 10))["task"]

    task = asyncio.run(scenario())
    assert task["data"]["url"].startswith("/api/v1/media/")
    assert httpx.get(media_server.url + task["data"]["url"]).content == b"origin:/private/ws.webp"


def test_reviewers_see_links_signed_for_them_not_the_store(media_server, cast, origin):
    _, project = setup_project(media_server, cast, [{"external_id": "p", "url": f"{origin}/private/r.webp"}])
    handed = client(media_server, cast.teammate).post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    reviewer = client(media_server, cast.reviewer)
    seen = reviewer.get(f"/api/v1/tasks/{handed['task_id']}/answers").json()["data"]["url"]
    assert seen.startswith("/api/v1/media/") and seen != handed["data"]["url"]
    assert reviewer.get(seen).content == b"origin:/private/r.webp"
    assert client(media_server, cast.teammate).get(seen).status_code == 403


def test_a_tenant_without_a_store_gets_links_that_answer_503(media_server, cast):
    outsider = client(media_server, cast.outsider)
    project = outsider.post("/api/v1/projects", json={"name": "m", "schema": CLASSES}).json()
    outsider.post(f"/api/v1/projects/{project['id']}/intake", json={"tasks": [{"external_id": "a",
                                                                                 "url": "s3://theirs/a.jpg"}]})
    annotator = client(media_server, cast.make("globex", "g-annotator", ["annotator"]))
    handed = annotator.post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    assert handed["data"]["url"].startswith("/api/v1/media/")
    refused = httpx.get(media_server.url + handed["data"]["url"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "media_store_not_configured")


def test_handout_cost_per_task(s3, origin, monkeypatch, capsys):
    """The CPU a hand-out pays for signing, per task (printed: tests assert behaviour, not timings)."""
    from assay_assignment.core.services import media

    monkeypatch.setenv("ASSAY_MEDIA_ACME", json.dumps(media_settings(s3, origin)))
    monkeypatch.setenv("MEDIA_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setattr(media, "_cache", {})
    monkeypatch.setattr(media, "_KEY", [])
    expires = time.time() + 600
    cases = {"no stored media": {"url": "https://img.example/a.jpg", "metadata": {"camera": "front"}},
             "HMAC link (private origin)": {"url": f"{origin}/private/a.jpg", "metadata": {}},
             "boto3 presign (S3)": {"url": "s3://frames/cam/1.jpg", "metadata": {}}}
    media.data_signed(cases["boto3 presign (S3)"], tenant="acme", task_id="t", subject="s", expires_at=expires)
    lines = []
    for name, data in cases.items():
        n = 2000
        started = time.process_time()
        for _ in range(n):
            media.data_signed(data, tenant="acme", task_id="t", subject="s", expires_at=expires)
        lines.append(f"  {name}: {(time.process_time() - started) / n * 1e6:.1f} µs CPU per hand-out")
    with capsys.disabled():
        print("\nmedia signing on hand-out:\n" + "\n".join(lines))


def test_unsupported_schemes_are_refused_at_import_naming_line_and_field(api, cast, make_project):
    project = make_project()
    body = "\n".join(json.dumps(r) for r in [{"external_id": "a", "url": "https://x/a"},
                                              {"external_id": "b", "url": "file:///etc/passwd"},
                                              {"external_id": "c", "url": "gs://bucket"}]).encode()
    response = api(cast.owner).post(f"/api/v1/projects/{project['id']}/batches", body,
                                    content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines[2].url": ["the scheme file: is not supported; use https://, http://, s3:// or gs://"],
        "lines[3].url": ["must be gs://<bucket>/<key>"]}
    single = api(cast.owner).post(f"/api/v1/projects/{project['id']}/tasks", {"url": "ftp://x/y"},
                                  content_type="application/json")
    assert single.json()["error"]["fields"] == {
        "url": ["the scheme ftp: is not supported; use https://, http://, s3:// or gs://"]}


def test_a_heartbeat_signs_the_links_again_for_the_longer_lease(media_server, cast, origin):
    _, project = setup_project(media_server, cast, [{"external_id": "p", "url": f"{origin}/private/h.webp"},
                                                    {"external_id": "q", "url": "https://img.example/q.jpg"}],
                               lease_ttl_seconds=60)
    annotator = client(media_server, cast.teammate)
    handed = annotator.post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    time.sleep(1.1)
    beat = annotator.post(f"/api/v1/tasks/{handed['task_id']}/heartbeat").json()
    assert set(beat) == {"task_id", "lease_expires_at", "data"}
    assert beat["data"]["url"].startswith("/api/v1/media/") and beat["data"]["url"] != handed["data"]["url"]
    assert httpx.get(media_server.url + beat["data"]["url"]).content == b"origin:/private/h.webp"
    public = client(media_server, cast.annotator2)
    other = public.post(f"/api/v1/projects/{project['id']}/next").json()["task"]
    assert set(public.post(f"/api/v1/tasks/{other['task_id']}/heartbeat").json()) == {"task_id", "lease_expires_at"}


@pytest.mark.parametrize("settings, problem", [
    ("{not json", "Expecting property name"),
    ('{"s3": {"access_key_id": "k"}}', "ASSAY_MEDIA_ACME: s3.secret_access_key: is required"),
    ('{"azure": {}}', "ASSAY_MEDIA_ACME: azure: is not a media setting (s3, gs, https)"),
    ('{"https": [{"prefix": "media.internal/"}]}', "ASSAY_MEDIA_ACME: https[0].prefix: must be an origin and path"),
])
def test_bad_media_settings_never_stop_a_hand_out(monkeypatch, settings, problem):
    from assay_assignment.core.services import media

    monkeypatch.setenv("ASSAY_MEDIA_ACME", settings)
    monkeypatch.setattr(media, "_cache", {})
    found = media.tenant_media("acme")
    assert problem in found.problem and found.stores == {}
    signed = media.data_signed({"url": "s3://frames/a.jpg", "metadata": {}}, tenant="acme", task_id="t", subject="s",
                               expires_at=time.time() + 60)
    assert signed["url"].startswith("/api/v1/media/")


def test_the_rest_views_hand_out_the_same_links(make_project, import_tasks, work, cast, monkeypatch, s3, origin):
    """The DRF views (the sync database, as Django's test client runs them) go through the same hand-out."""
    from assay_assignment.core.services import media

    monkeypatch.setenv("ASSAY_MEDIA_ACME", json.dumps(media_settings(s3, origin)))
    monkeypatch.setattr(media, "_cache", {})
    project = make_project()
    import_tasks(project["id"], [{"external_id": "a", "url": "s3://frames/cam/1.jpg",
                                  "metadata": {"mask": f"{origin}/private/m.png"}}])
    task = work(cast.teammate).next_task(project["id"])
    assert urlsplit(task["data"]["url"]).path == "/frames/cam/1.jpg" and "X-Amz-Signature" in task["data"]["url"]
    assert task["data"]["metadata"]["mask"].startswith("/api/v1/media/")
    assert httpx.get(task["data"]["url"]).content == b"s3-image-bytes"
