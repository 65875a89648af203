"""A small Kubernetes API server for the tenant tests: the one point where the API is faked (ADR 0068).

It implements the subset of the REST API the provisioner uses — GET (one or a list, with label selectors), POST,
PUT, PATCH (merge patch) and DELETE of Namespaces, ResourceQuotas, LimitRanges, Secrets, ConfigMaps and
NetworkPolicies — and answers as the real one does: 404 NotFound, 409 AlreadyExists / Conflict (stale
resourceVersion), 422 Invalid (the body fails the Kubernetes schema, strictly), Secrets' stringData stored as
base64 data, a Namespace's deletion taking its objects with it. The real `kubernetes` client talks to it over HTTP.
The tests below hold it to those answers.
"""
from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

KINDS = {  # (group/version, plural) -> (kind, namespaced)
    ("v1", "namespaces"): ("Namespace", False),
    ("v1", "resourcequotas"): ("ResourceQuota", True),
    ("v1", "limitranges"): ("LimitRange", True),
    ("v1", "secrets"): ("Secret", True),
    ("v1", "configmaps"): ("ConfigMap", True),
    ("networking.k8s.io/v1", "networkpolicies"): ("NetworkPolicy", True),
}
PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<gv>[a-z0-9.-]+/v1))"
                  r"(?:/namespaces/(?P<ns>[a-z0-9-]+)(?=/))?/(?P<plural>[a-z]+)(?:/(?P<name>[a-z0-9.-]+))?$")


class FakeKubernetes:
    def __init__(self, *, validate=None):
        self.objects: dict[tuple, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.validate = validate
        self._version = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict]:
        path, _, query = raw_path.partition("?")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        m = PATH.match(path)
        # /api/v1/namespaces/<name> is a Namespace, not a collection inside one
        if m and m["plural"] != "namespaces" and m["ns"] is None and path.startswith("/api/v1/namespaces/"):
            m = None
        if not m:
            return 404, status(404, "NotFound", f"the server could not find the requested resource {path}")
        gv, plural, ns, name = m["core"] or m["gv"], m["plural"], m["ns"], m["name"]
        if (gv, plural) not in KINDS:
            return 404, status(404, "NotFound", f"the server could not find the requested resource {path}")
        kind, namespaced = KINDS[(gv, plural)]
        if kind == "Namespace" and m["ns"]:
            name = m["ns"] if name is None else name
        with self._lock:
            self.requests.append((method, path))
            return self._do(method, gv, plural, kind, namespaced, ns if namespaced else None, name, params, body)

    def _do(self, method, gv, plural, kind, namespaced, ns, name, params, body):
        key = (gv, plural, ns, name)
        if method == "GET" and name is None:
            selector = [s for s in params.get("labelSelector", "").split(",") if s]
            items = [copy.deepcopy(o) for (g, p, n, _), o in sorted(self.objects.items())
                     if (g, p) == (gv, plural) and (ns is None or n == ns) and matches(o, selector)]
            return 200, {"apiVersion": gv, "kind": f"{kind}List", "metadata": {"resourceVersion": "1"},
                         "items": items}
        if method == "GET":
            if key not in self.objects:
                return 404, status(404, "NotFound", f'{plural} "{name}" not found')
            return 200, copy.deepcopy(self.objects[key])
        if method == "DELETE":
            if key not in self.objects:
                return 404, status(404, "NotFound", f'{plural} "{name}" not found')
            gone = self.objects.pop(key)
            if kind == "Namespace":  # what the namespace controller does, at once
                for k in [k for k in self.objects if k[2] == name]:
                    del self.objects[k]
            return 200, gone
        obj = json.loads(body or b"{}")
        if method == "PATCH":
            if key not in self.objects:
                return 404, status(404, "NotFound", f'{plural} "{name}" not found')
            obj = merge_patch(copy.deepcopy(self.objects[key]), obj)
        obj.setdefault("metadata", {})
        if obj.get("kind") != kind:
            return 400, status(400, "BadRequest", f"the body is not a {kind}")
        if namespaced:
            if obj["metadata"].setdefault("namespace", ns) != ns:
                return 400, status(400, "BadRequest", "the namespace of the object does not match the request")
            if ("v1", "namespaces", None, ns) not in self.objects:
                return 404, status(404, "NotFound", f'namespaces "{ns}" not found')
        if self.validate:
            problem = self.validate(obj)
            if problem:
                return 422, status(422, "Invalid", f"{kind} \"{obj['metadata'].get('name')}\" is invalid: {problem}")
        if method == "POST":
            key = (gv, plural, ns, obj["metadata"].get("name"))
            if key in self.objects:
                return 409, status(409, "AlreadyExists", f'{plural} "{key[3]}" already exists')
        else:
            if key not in self.objects:
                return 404, status(404, "NotFound", f'{plural} "{name}" not found')
            if obj["metadata"].get("name") != name:
                return 400, status(400, "BadRequest", "the name of the object does not match the request")
            given = obj["metadata"].get("resourceVersion")
            if method == "PUT" and given and given != self.objects[key]["metadata"]["resourceVersion"]:
                return 409, status(409, "Conflict", "the object has been modified")
        stored = self.store(obj, kind, previous=self.objects.get(key))
        self.objects[key] = stored
        return (201 if method == "POST" else 200), copy.deepcopy(stored)

    def store(self, obj, kind, *, previous):
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        meta["resourceVersion"] = str(next(self._version))
        meta["uid"] = (previous or {}).get("metadata", {}).get("uid") or f"uid-{meta['resourceVersion']}"
        if kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj["spec"], obj["status"] = {"finalizers": ["kubernetes"]}, {"phase": "Active"}
        if kind == "Secret":
            data = obj.get("data") or {}
            for k, v in (obj.pop("stringData", None) or {}).items():
                data[k] = base64.b64encode(v.encode()).decode()
            obj["data"] = data
        return obj

    def object(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        for (gv, plural, ns, n), obj in self.objects.items():
            if KINDS[(gv, plural)][0] == kind and n == name and ns == namespace:
                return obj
        return None


def matches(obj: dict, selector: list[str]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in selector:
        k, _, v = term.partition("=")
        if k not in labels or ("=" in term and labels[k] != v):
            return False
    return True


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    target = target if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


def status(code: int, reason: str, message: str) -> dict:
    return {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def serve(fake: FakeKubernetes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            code, body = fake.handle(self.command, self.path, self.rfile.read(length) if length else b"")
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def strict_problem(obj: dict) -> str | None:
    """What the newest Kubernetes schema says is wrong with the object, strictly (unknown fields too)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{exc.message} at {list(exc.path)}"
    return None


@pytest.fixture
def fake_api():
    """(FakeKubernetes, ApiClient) on a fresh server."""
    from kubernetes import client

    fake = FakeKubernetes(validate=strict_problem)
    server = serve(fake)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake, client.ApiClient(client.Configuration(host=fake.url))
    server.shutdown()
    server.server_close()


def _ns(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def test_the_fake_answers_like_the_api_server(fake_api):
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    fake, api = fake_api
    core = client.CoreV1Api(api)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    with pytest.raises(ApiException) as missing_ns:
        core.create_namespaced_config_map("x", cm)
    assert missing_ns.value.status == 404
    core.create_namespace(_ns("x"))
    with pytest.raises(ApiException) as again:
        core.create_namespace(_ns("x"))
    assert again.value.status == 409 and json.loads(again.value.body)["reason"] == "AlreadyExists"
    stored = core.create_namespaced_config_map("x", cm)
    stale = {**cm, "metadata": {"name": "c", "resourceVersion": "0"}}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("c", "x", stale)
    assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "Conflict"
    assert core.patch_namespaced_config_map("c", "x", {"data": {"b": "2"}}).data == {"a": "1", "b": "2"}
    # the client refuses unknown fields itself; sent raw, the server does too
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}, "dataa": {}}
    request = urllib.request.Request(f"{fake.url}/api/v1/namespaces/x/configmaps", data=json.dumps(bad).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as invalid:
        urllib.request.urlopen(request)
    assert invalid.value.code == 422
    secret = core.create_namespaced_secret("x", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                                 "stringData": {"k": "v"}})
    assert secret.data == {"k": "dg=="}
    core.delete_namespace("x")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("c", "x")
    assert gone.value.status == 404 and stored.metadata.name == "c"
    with pytest.raises(ApiException) as delete_again:
        core.delete_namespace("x")
    assert delete_again.value.status == 404
    # every write is counted, refused ones included
    assert [m for m, _ in fake.writes] == ["POST", "POST", "POST", "POST", "PUT", "PATCH", "POST", "POST",
                                           "DELETE", "DELETE"]


def test_lists_select_by_label(fake_api):
    from kubernetes import client

    fake, api = fake_api
    core = client.CoreV1Api(api)
    core.create_namespace({**_ns("a"), "metadata": {"name": "a", "labels": {"t": "1"}}})
    core.create_namespace({**_ns("b"), "metadata": {"name": "b", "labels": {"t": "2"}}})
    core.create_namespace(_ns("c"))
    assert [n.metadata.name for n in core.list_namespace(label_selector="t").items] == ["a", "b"]
    assert [n.metadata.name for n in core.list_namespace(label_selector="t=2").items] == ["b"]
