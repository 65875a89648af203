"""One submission made in task assignment reaches scoring, review sampling, metrics and a webhook
receiver — five services as real processes, real HTTP, real Postgres, real RabbitMQ."""
from __future__ import annotations

import json

import pytest

from tests.conftest import eventually

from assay_webhooks.signing import webhook_verify

pytestmark = pytest.mark.e2e

SCHEMA = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}


def test_a_submission_crosses_every_service(system, receiver):
    owner, annotator = system.cast.owner, system.cast.teammate
    hooks = system.client("webhooks", owner)
    assignment = system.client("assignment", owner)

    # given a tenant endpoint subscribed to submissions and consensus, a project with overlap 1,
    # a review policy sampling everything, and one task
    endpoint = hooks.post("/endpoints", json={"url": receiver.url, "event_types": ["annotation.submitted", "consensus.*"]})
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]
    project = assignment.post("/projects", json={"name": "pets", "schema": SCHEMA, "overlap": 1})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    policy = system.client("review", owner).put(f"/projects/{project_id}/sampling-policy", json={"base_rate": 1.0})
    assert policy.status_code in (200, 201), policy.text
    task = assignment.post(f"/projects/{project_id}/tasks", json={"url": "s3://bucket/cat-1.jpg", "external_id": "cat-1"})
    assert task.status_code == 201, task.text

    # when the annotator takes the next task and submits an answer
    work = system.client("assignment", annotator)
    handout = work.post(f"/projects/{project_id}/next").json()["task"]
    assert handout["data"]["url"].startswith("/api/v1/media/")  # a signed link, never the storage location
    submitted = work.post(f"/tasks/{handout['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 2100})
    assert submitted.status_code == 201, submitted.text
    submission_id = submitted.json()["submission_id"]

    # then scoring reaches consensus on it
    consensus = eventually(lambda: system.client("scoring", owner).get(f"/consensus/{handout['task_id']}"),
                           until=lambda r: r.status_code == 200, what="consensus in scoring")
    assert consensus.json()["answer"] == {"label": "cat"}
    # review sampling recorded a (sampled) decision for the submission
    decisions = eventually(lambda: system.client("review", owner).get("/sampling-decisions").json()["results"],
                           until=lambda rows: len(rows) == 1, what="sampling decision in review")
    assert (decisions[0]["submission_id"], decisions[0]["sampled"]) == (submission_id, True)
    # metrics counted it for the annotator
    stats = eventually(lambda: system.client("metrics", owner).get("/annotator-stats").json()["results"],
                       until=lambda rows: len(rows) == 1, what="annotator stats in metrics")
    assert (stats[0]["annotator"], stats[0]["submissions"], stats[0]["total_duration_ms"]) == ("teammate", 1, 2100)
    # and the tenant's endpoint received it, signed
    eventually(lambda: {e["type"] for e in receiver.events()},
               until=lambda types: {"annotation.submitted", "consensus.reached"} <= types, what="webhook deliveries")
    headers, body = next((h, b) for h, b in receiver.requests if json.loads(b)["type"] == "annotation.submitted")
    assert webhook_verify(secret=secret, headers=headers, body=body) == json.loads(body)["id"]
    delivered = json.loads(body)
    assert delivered["tenant"] == "acme"
    assert delivered["payload"]["submission_id"] == submission_id


def test_another_tenant_sees_none_of_it(system):
    outsider = system.cast.outsider
    assert system.client("assignment", outsider).get("/projects").json()["results"] == []
    assert system.client("review", outsider).get("/sampling-decisions").json()["results"] == []
    assert system.client("metrics", outsider).get("/annotator-stats").json()["results"] == []
    assert system.client("webhooks", outsider).get("/endpoints").json()["results"] == []
