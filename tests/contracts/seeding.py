"""Real objects for the fuzzer to reach: one tenant of its own, a project with a schema, tasks (one gold), an
imported batch, a lease and a submission, a gold answer, a sampling policy, a batch inspection, a quality rule, a
webhook endpoint and a delivery. `Seeded.values` maps each path parameter name to the real values it can take."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import httpx

from assay_shared.testing.cast import Actor, Cast

TENANT = "contracts"
SCHEMA = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}


@dataclass
class Seeded:
    lead: Actor
    annotator: Actor
    values: dict[str, list] = field(default_factory=dict)
    # (method, path): a request body that the operation accepts, written into the document as its example
    bodies: dict[tuple[str, str], object] = field(default_factory=dict)

    def add(self, name: str, value) -> None:
        self.values.setdefault(name, []).append(value)


def _ok(response: httpx.Response, *codes: int) -> dict:
    assert response.status_code in codes, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json() if response.content else {}


def _eventually(fetch, *, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"seeding: {what} not reached within {timeout}s")


def seed(*, urls: dict[str, str], cast: Cast, receiver_url: str) -> Seeded:
    """Create the objects through the services' own APIs, as a QA lead and an annotator of TENANT would."""
    seeded = Seeded(lead=cast.make(TENANT, "lead", ["admin", "qa_lead"]),
                    annotator=cast.make(TENANT, f"worker-{uuid.uuid4().hex[:8]}", ["annotator"]))

    def client(service: str, actor: Actor) -> httpx.Client:
        return httpx.Client(base_url=f"{urls[service]}/api/v1", headers=actor.headers, timeout=30)

    hooks, assignment = client("webhooks", seeded.lead), client("assignment", seeded.lead)
    scoring, review, metrics = client("scoring", seeded.lead), client("review", seeded.lead), client("metrics", seeded.lead)
    work = client("assignment", seeded.annotator)

    endpoint = _ok(hooks.post("/endpoints", json={"url": receiver_url, "event_types": ["annotation.submitted",
                                                                                       "batch.imported"]}), 201)
    seeded.add("endpoint_id", endpoint["id"])
    _ok(hooks.post(f"/endpoints/{endpoint['id']}/ping"), 202)

    project = _ok(assignment.post("/projects", json={"name": "contracts", "schema": SCHEMA, "overlap": 1}), 201)
    project_id = project["id"]
    seeded.add("project_id", project_id)
    seeded.add("version", 1)
    gold = _ok(assignment.post(f"/projects/{project_id}/tasks", json={"url": "s3://contracts/gold.jpg", "gold": True,
                                                                      "external_id": "gold-1"}), 201)
    for n in range(3):
        task = _ok(assignment.post(f"/projects/{project_id}/tasks",
                                   json={"url": f"s3://contracts/{n}.jpg", "external_id": f"task-{n}"}), 201)
        seeded.add("task_id", task["id"])
    seeded.add("task_id", gold["id"])
    lines = "\n".join(json.dumps({"external_id": f"batch-{n}", "url": f"s3://contracts/b{n}.jpg"}) for n in range(3))
    batch = _ok(assignment.post(f"/projects/{project_id}/batches", content=lines,
                                headers={"Content-Type": "application/x-ndjson"}), 201)
    seeded.add("batch_id", batch["batch"]["id"])
    _ok(scoring.post("/gold-answers", json={"task_id": gold["id"], "project_id": project_id, "answer": {"label": "cat"},
                                            "reason": "checked by the lead",
                                            "answer_type": "single_choice"}), 201)

    _ok(review.put(f"/projects/{project_id}/sampling-policy", json={"base_rate": 1.0}), 200, 201)
    rule = _ok(metrics.post("/quality-rules", json={"kind": "gold_accuracy", "threshold": 0.5, "min_count": 5}), 201)
    seeded.add("rule_id", rule["rule_id"])

    # the annotator answers five tasks (two of the batch at least: the gold one may be held back) and keeps a lease
    # on one more
    for _ in range(5):
        handout = _ok(work.post(f"/projects/{project_id}/next"), 200)["task"]
        _ok(work.post(f"/tasks/{handout['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 1500}),
            201)
    leased = _ok(work.post(f"/projects/{project_id}/next"), 200)["task"]
    if leased["task_id"] not in seeded.values["task_id"]:  # heartbeat, submit, skip, release reach the lease
        seeded.add("task_id", leased["task_id"])
    seeded.add("annotator", seeded.annotator.subject)

    def inspect():  # once review knows two items of the batch
        response = review.post(f"/batches/{batch['batch']['id']}/inspections", json={"project_id": project_id, "aql": 1.0})
        return response.json() if response.status_code == 201 else None

    seeded.add("inspection_id", _eventually(inspect, what="a batch inspection")["inspection_id"])

    review_items = _eventually(lambda: review.get("/review-items").json().get("results"), what="a review item")
    seeded.add("review_id", review_items[0]["review_id"])
    deliveries = _eventually(lambda: hooks.get("/deliveries").json().get("results"), what="a webhook delivery")
    seeded.add("delivery_id", deliveries[0]["id"])
    v1, gold_line = "/api/v1", {"task_id": gold["id"], "project_id": project_id, "answer": {"label": "dog"},
                                "reason": "re-checked", "answer_type": "single_choice"}
    seeded.bodies.update({
        ("post", f"{v1}/projects"): {"name": "contracts, again", "schema": SCHEMA, "overlap": 2},
        ("post", f"{v1}/projects/{{project_id}}/tasks"): {"url": "s3://contracts/more.jpg", "priority": 3},
        ("post", f"{v1}/projects/{{project_id}}/schemas"): {"schema": SCHEMA},
        ("post", f"{v1}/projects/{{project_id}}/batches"): json.dumps({"url": "s3://contracts/more.jpg"}),
        ("post", f"{v1}/gold-answers"): gold_line,
        ("post", f"{v1}/gold-answers/import"): json.dumps(gold_line),
        ("post", f"{v1}/endpoints"): {"url": receiver_url, "event_types": ["batch.imported"]},
        ("post", f"{v1}/quality-rules"): {"kind": "gold_accuracy", "threshold": 0.4, "min_count": 3},
        ("post", f"{v1}/batches/{{batch_id}}/inspections"): {"project_id": project_id, "aql": 2.5},
        ("post", f"{v1}/projects/{{project_id}}/predictions"): {
            "task_id": seeded.values["task_id"][0], "model_name": "m", "model_version": "1",
            "probabilities": {"cat": 0.7, "dog": 0.3}},
    })
    for c in (hooks, assignment, scoring, review, metrics, work):
        c.close()
    return seeded
