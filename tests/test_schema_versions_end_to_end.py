"""Schema versions frozen end to end across the real services (ADR 0069): a schema edit while answers to the old
version are still arriving; those answers are gold-scored, reach consensus, are sampled for review, counted in
metrics and exported with the old labels; then a label mapping requested at scoring moves gold, consensus and the
final label to the new version."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import System, eventually

pytestmark = pytest.mark.e2e

V1 = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}, {"name": "bird"}]}
V2 = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("versions-e2e"), name=f"sv{uuid.uuid4().hex[:6]}")
    try:
        running.start()
        yield running
    finally:
        running.stop()


def ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.text
    return response.json() if response.content else None


def test_old_version_answers_keep_their_labels_everywhere_until_mapped(stack):
    cast = stack.cast
    owner = cast.owner
    annotators = [cast.make(owner.tenant, f"sv-ann-{i}", ["annotator"]) for i in (1, 2)]
    assignment, scoring = stack.client("assignment", owner), stack.client("scoring", owner)
    review, metrics = stack.client("review", owner), stack.client("metrics", owner)

    # given a project of version 1 (cat, dog, bird), overlap 2, every answer sampled, two tasks imported under it
    project_id = ok(assignment.post("/projects", json={"name": "birds", "schema": V1, "overlap": 2,
                                                        "max_overlap": 2}))["id"]
    ok(review.put(f"/projects/{project_id}/sampling-policy", json={"base_rate": 1.0}))
    lines = "\n".join(json.dumps({"url": f"s3://b/{n}.jpg", "external_id": n}) for n in ("t1", "t2")) + "\n"
    ok(assignment.post(f"/projects/{project_id}/batches?name=b1", content=lines,
                       headers={"Content-Type": "application/x-ndjson"}))
    # and the schema edited to version 2, which has no "bird", once scoring has heard of it
    ok(assignment.post(f"/projects/{project_id}/schemas", json={"schema": V2}))
    eventually(lambda: scoring.get(f"/projects/{project_id}/scoring-settings"),
               until=lambda r: r.status_code == 200 and r.json()["labels"] == ["cat", "dog"],
               what="scoring has version 2")

    # when both annotators answer both version-1 tasks "bird", the first task being gold ("bird", version 1)
    gold_task = None
    for annotator in annotators:
        work = stack.client("assignment", annotator)
        for _ in range(2):
            handout = eventually(lambda: work.post(f"/projects/{project_id}/next"),
                                 until=lambda r: r.status_code == 200, what="a task").json()["task"]
            if gold_task is None:
                gold_task = handout["task_id"]
                ok(stack.client("scoring", owner).post("/gold-answers", json={
                    "project_id": project_id, "task_id": gold_task, "answer": {"label": "bird"},
                    "reason": "expert", "schema_version": 1}))
            ok(work.post(f"/tasks/{handout['task_id']}/submit", json={"answer": {"label": "bird"},
                                                                      "duration_ms": 900}))

    # then scoring gold-scores the gold task's answers and reaches consensus "bird" on the other
    scores = eventually(lambda: ok(scoring.get("/gold-scores", params={"project_id": project_id}))["results"],
                        until=lambda rows: len(rows) == 2, what="two gold scores")
    assert sorted((s["task_id"], s["passed"]) for s in scores) == [(gold_task, True), (gold_task, True)]
    [result] = eventually(lambda: ok(scoring.get("/consensus", params={"project_id": project_id}))["results"],
                          until=lambda rows: len(rows) == 1, what="one consensus")
    plain_task = result["task_id"]
    assert (result["status"], result["answer"]) == ("reached", {"label": "bird"})
    # and review samples every answer and ships "bird" under version 1
    eventually(lambda: ok(review.get("/review-items", params={"project_id": project_id}))["results"],
               until=lambda rows: len(rows) == 4, what="four review items")
    [label] = eventually(lambda: ok(review.get("/final-labels", params={"project_id": project_id}))["results"],
                         until=lambda rows: len(rows) == 1, what="a final label")
    assert (label["task_id"], label["answer"], label["schema_version"]) == (plain_task, {"label": "bird"}, 1)
    export = review.get("/exports", params={"project_id": project_id, "include_unaccepted": "true"})
    [line] = [json.loads(x) for x in export.text.splitlines()]
    assert (line["label"], line["provenance"]["schema_version"]) == ({"label": "bird"}, 1)
    # and metrics counts every answer, in agreement with its consensus
    rows = eventually(lambda: ok(metrics.get("/annotators", params={"project_id": project_id}))["results"],
                      until=lambda rows: len(rows) == 2 and all(r["consensus"]["count"] == 1
                                                                and r["gold"]["count"] == 1 for r in rows),
                      what="metrics of both annotators")
    assert sorted((r["annotator"], r["submissions"], r["consensus"]["agreement"]) for r in rows) == [
        ("sv-ann-1", 2, 1.0), ("sv-ann-2", 2, 1.0)]

    # when the QA lead maps version 1 to version 2 (bird merged into dog)
    migration = ok(scoring.post(f"/projects/{project_id}/schema-migrations", json={
        "from_version": 1, "to_version": 2, "mapping": {"bird": "dog"}}), 201)
    assert (migration["gold_migrated"], migration["consensus_migrated"]) == (1, 1)
    # then gold and consensus are in version 2's labels, and review's final label follows
    gold = ok(scoring.get(f"/gold-answers/{gold_task}"))
    assert (gold["current"]["answer"], gold["current"]["schema_version"]) == ({"label": "dog"}, 2)
    assert ok(scoring.get(f"/consensus/{plain_task}"))["answer"] == {"label": "dog"}
    [moved] = eventually(lambda: ok(review.get("/final-labels", params={"project_id": project_id}))["results"],
                         until=lambda rows: rows and rows[0]["schema_version"] == 2, what="final label migrated")
    assert (moved["answer"], moved["version"]) == ({"label": "dog"}, 2)
    # and a bad mapping is refused with the field named
    refused = scoring.post(f"/projects/{project_id}/schema-migrations", json={
        "from_version": 1, "to_version": 2, "mapping": {"bird": "eagle"}})
    assert (refused.status_code, list(refused.json()["error"]["fields"])) == (400, ["mapping.bird"])
