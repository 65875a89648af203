"""A three-stage pipeline across the real services: annotators classify over HTTP, scoring's consensus becomes
review's final label, `label.finalized` drives the edge to the box stage; assignment's consumer is killed in the
middle and restarted; the boxes' `task.completed` drives the edge to the verify stage. Exactly one downstream task
per source task (ADR 0094)."""
from __future__ import annotations

import os
import signal
import uuid

import pytest

from tests.conftest import System, eventually

pytestmark = pytest.mark.e2e

CLASSIFY = {"answer_type": "single_choice", "labels": [{"name": "pedestrian-present"}, {"name": "empty"}]}
BOXES = {"answer_type": "bbox", "labels": [{"name": "pedestrian"}]}
VERIFY = {"answer_type": "single_choice", "labels": [{"name": "correct"}, {"name": "wrong"}]}
IMAGES = {"img-1": "pedestrian-present", "img-2": "empty", "img-3": "pedestrian-present", "img-4": "pedestrian-present"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("pipeline-e2e"), name=f"pl{uuid.uuid4().hex[:6]}")
    try:
        running.start()
        yield running
    finally:
        running.stop()


def ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.text
    return response.json() if response.content else None


def worker_kill(stack: System, service: str) -> None:
    """SIGKILL the service's worker (relay and consumer) mid-flight, as a crash would."""
    proc = stack.procs[service]
    [unit] = [u for u in proc.units if u.kind == "worker" and u.proc is not None]
    os.killpg(unit.proc.pid, signal.SIGKILL)
    unit.proc.wait(timeout=10)
    proc.units.remove(unit)


def answer_all(stack: System, actor, project_id: str, answer_of, expected: int) -> list[dict]:
    work = stack.client("assignment", actor)
    done = []
    while len(done) < expected:
        task = eventually(lambda: work.post(f"/projects/{project_id}/next"), until=lambda r: r.status_code == 200
                          and r.json().get("task"), what=f"task {len(done) + 1} of {expected}").json()["task"]
        ok(work.post(f"/tasks/{task['task_id']}/submit", json={"answer": answer_of(task), "duration_ms": 800}))
        done.append(task)
    return done


def test_three_stages_with_a_consumer_killed_in_the_middle(stack):
    cast = stack.cast
    owner = cast.owner
    lead = stack.client("assignment", owner)
    annotator = cast.make(owner.tenant, f"ann-{uuid.uuid4().hex[:4]}", ["annotator"])
    projects = {name: ok(lead.post("/projects", json={"name": name, "schema": schema, "overlap": 1}))["id"]
                for name, schema in (("classify", CLASSIFY), ("boxes", BOXES), ("verify", VERIFY))}
    # given classify -(final label is pedestrian-present)-> boxes -(task completed)-> verify
    pipeline = ok(lead.post("/pipelines", json={"name": "pedestrians", "stages": [
        {"key": k, "project_id": p, **({"metadata_keys": ["camera"]} if k == "classify" else {})}
        for k, p in projects.items()], "edges": [
        {"source": "classify", "target": "boxes", "trigger": "label.finalized",
         "condition": {"label": {"in": ["pedestrian-present"]}},
         "template": {"hint": "$label", "image": "$task.external_id", "camera": "$data.metadata.camera"}},
        {"source": "boxes", "target": "verify", "trigger": "task.completed",
         "template": {"crop": "$answer.objects[0].bbox", "image": "$data.metadata.image"}}]}))
    ok(lead.post(f"/projects/{projects['classify']}/intake", json={"tasks": [
        {"external_id": name, "url": f"https://img.example/{name}.jpg", "metadata": {"camera": "north"}}
        for name in IMAGES]}))
    progress = lambda: ok(lead.get(f"/pipelines/{pipeline['id']}/progress"))  # noqa: E731

    # when the annotator classifies the four images over HTTP
    answer_all(stack, annotator, projects["classify"], lambda t: {"label": IMAGES[t["data"]["url"].rsplit("/", 1)[1][:-4]]},
               len(IMAGES))
    # and assignment's consumer is killed once the first hand-over is made, then started again
    eventually(progress, until=lambda p: p["created"] + p["skipped"] >= 1, what="a first hand-over")
    worker_kill(stack, "assignment")
    stack.procs["assignment"].start(web=False, worker=True)

    # then exactly one box task per positive image, with the label as a hint and the image carried
    classified = eventually(progress, until=lambda p: p["edges"][0]["created"] + p["edges"][0]["skipped"] == 4,
                            what="every final label handed over or skipped")
    assert (classified["edges"][0]["created"], classified["edges"][0]["skipped"]) == (3, 1)
    boxes = answer_all(stack, annotator, projects["boxes"],
                       lambda t: {"objects": [{"label": "pedestrian", "bbox": [1, 2, 30, 40]}]}, 3)
    assert sorted(t["data"]["metadata"]["image"] for t in boxes) == ["img-1", "img-3", "img-4"]
    assert {(t["data"]["metadata"]["hint"], t["data"]["metadata"]["camera"]) for t in boxes} == {
        ("pedestrian-present", "north")}
    assert ok(stack.client("assignment", annotator).post(f"/projects/{projects['boxes']}/next"))["task"] is None

    # and the boxes' completion makes one verify task each, cropped to the box
    verify = answer_all(stack, annotator, projects["verify"], lambda t: {"label": "correct"}, 3)
    assert sorted((t["data"]["metadata"]["image"], tuple(t["data"]["metadata"]["crop"])) for t in verify) == [
        (name, (1, 2, 30, 40)) for name in ("img-1", "img-3", "img-4")]
    final = eventually(progress, until=lambda p: p["created"] == 6, what="six hand-overs")
    assert (final["created"], final["skipped"], final["waiting"], final["failed"]) == (6, 1, 0, 0)
    assert [(s["key"], s["tasks"], s["received"]) for s in final["stages"]] == [
        ("classify", 4, 0), ("boxes", 3, 3), ("verify", 3, 3)]
