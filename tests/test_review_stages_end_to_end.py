"""Review in two stages across the real services: annotators submit over HTTP, scoring reaches consensus, review
samples, the reviewer escalates, the expert corrects; the final label changes, `label.finalized` reaches the
customer's endpoint once per change, and the accepted batch's export ships the corrected label."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.conftest import System, eventually

pytestmark = pytest.mark.e2e

SCHEMA = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}
STAGES = [{"name": "review", "roles": ["reviewer"], "exits": ["accepted", "rejected", "escalated"]},
          {"name": "expert review", "roles": ["expert"], "enters": ["escalated", "rejected"],
           "exits": ["accepted", "corrected"]}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The five services on databases of this run's own (other runs on the machine use theirs)."""
    running = System(tmp_path_factory.mktemp("review-e2e"), name=f"rv{uuid.uuid4().hex[:6]}")
    try:
        running.start()
        yield running
    finally:
        running.stop()


def ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.text
    return response.json() if response.content else None


def decide_all(client, verdict_of) -> list[dict]:
    """Claim and decide until the caller's queue is empty; returns the items decided."""
    decided = []
    while (item := client.post("/review-items/claim", json={})).status_code == 200:
        body = item.json()
        ok(client.post(f"/review-items/{body['review_id']}/decision", json=verdict_of(body, len(decided))))
        decided.append(body)
    assert item.status_code == 204, item.text
    return decided


def test_an_expert_correction_ships_in_the_export_and_is_announced_once(stack, receiver):
    cast = stack.cast
    owner = cast.owner
    reviewer, expert = cast.make(owner.tenant, "rev-1", ["reviewer"]), cast.make(owner.tenant, "exp-1", ["expert"])
    annotators = [cast.make(owner.tenant, f"ann-{i}", ["annotator"]) for i in (1, 2)]
    review = stack.client("review", owner)

    # given an endpoint for final labels, a project with overlap 2, review of everything in two stages, one batch
    ok(stack.client("webhooks", owner).post("/endpoints", json={"url": receiver.url,
                                                                "event_types": ["label.finalized", "batch.accepted"]}))
    project_id = ok(stack.client("assignment", owner).post("/projects", json={
        "name": "pets", "schema": SCHEMA, "overlap": 2, "max_overlap": 2}))["id"]
    ok(review.put(f"/projects/{project_id}/sampling-policy", json={"base_rate": 1.0}))
    ok(review.put(f"/projects/{project_id}/review-stages", json={"stages": STAGES}))
    imported = ok(stack.client("assignment", owner).post(
        f"/projects/{project_id}/batches?name=b1", content=json.dumps({"url": "s3://b/cat.jpg", "external_id": "c1"}) + "\n",
        headers={"Content-Type": "application/x-ndjson"}))
    batch_id = imported["batch"]["id"]

    # when both annotators answer "dog" over HTTP (the image shows a cat)
    for annotator in annotators:
        work = stack.client("assignment", annotator)
        handout = eventually(lambda: work.post(f"/projects/{project_id}/next"), until=lambda r: r.status_code == 200,
                             what=f"a task for {annotator.subject}").json()["task"]
        ok(work.post(f"/tasks/{handout['task_id']}/submit", json={"answer": {"label": "dog"}, "duration_ms": 900}))
    task_id = handout["task_id"]

    # then scoring's consensus becomes the final label, and review samples both submissions into the first stage
    eventually(lambda: ok(review.get("/final-labels", params={"project_id": project_id}))["results"],
               until=lambda rows: rows and rows[0]["answer"] == {"label": "dog"}, what="consensus as final label")
    eventually(lambda: ok(review.get("/review-items", params={"project_id": project_id}))["results"],
               until=lambda rows: len(rows) == 2, what="two review items")

    # when the reviewer escalates one and accepts the other, and the expert corrects the escalated one
    first = decide_all(stack.client("review", reviewer), lambda item, n: {
        "verdict": "escalated" if n == 0 else "accepted", "comment": "the ears say cat" if n == 0 else ""})
    assert len(first) == 2
    corrected = decide_all(stack.client("review", expert), lambda item, n: {
        "verdict": "corrected", "corrected_answer": {"label": "cat"}, "comment": "a cat"})
    assert [c["submission_id"] for c in corrected] == [first[0]["submission_id"]]

    # then the label that ships is the expert's, with its provenance
    [final] = ok(review.get("/final-labels", params={"project_id": project_id}))["results"]
    assert (final["task_id"], final["answer"], final["source"], final["reviewer"], final["version"]) == (
        task_id, {"label": "cat"}, "correction", "exp-1", 2)

    # and the customer's endpoint receives label.finalized once per change: the consensus, then the correction
    def finalized():
        return [e["payload"] for e in receiver.events() if e["type"] == "label.finalized"]
    eventually(finalized, until=lambda rows: any(r["version"] == 2 for r in rows), what="label.finalized v2 delivered")
    time.sleep(2.0)  # a duplicate would arrive within the relay's next rounds
    assert sorted((r["version"], r["answer"]["label"], r["source"]) for r in finalized()) == [
        (1, "dog", "consensus"), (2, "cat", "correction")]

    # when the QA lead inspects the batch and its sample is reviewed
    inspection = ok(review.post(f"/batches/{batch_id}/inspections", json={"project_id": project_id, "aql": 10}))
    for _ in range(3):
        decide_all(stack.client("review", reviewer), lambda item, n: {"verdict": "accepted"})
        decide_all(stack.client("review", expert), lambda item, n: {"verdict": "accepted"})
    decided = ok(review.get(f"/inspections/{inspection['inspection_id']}"))
    assert decided["status"] == "accepted", decided

    # then the accepted batch's export carries the corrected label and who corrected it
    export = review.get("/exports", params={"project_id": project_id, "batch_id": batch_id})
    assert export.status_code == 200, export.text
    [line] = [json.loads(x) for x in export.text.splitlines()]
    assert (line["task_id"], line["label"], line["provenance"]["source"], line["provenance"]["reviewer"]) == (
        task_id, {"label": "cat"}, "correction", "exp-1")
    # and the batch.accepted delivery links to the same export
    accepted = eventually(lambda: [e["payload"] for e in receiver.events() if e["type"] == "batch.accepted"],
                          until=lambda rows: len(rows) == 1, what="batch.accepted delivered")
    assert accepted[0]["batch_id"] == batch_id and "token=" in accepted[0]["download_url"]
