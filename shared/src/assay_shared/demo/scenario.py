"""The demo's story, told through the services' public HTTP APIs only."""
from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field

import httpx

from assay_shared.demo.crowd import AnnotatorStats, WebhookReceiver, crowd_run

TENANT = "demo-vendor"
LABELS = ["bird", "cat", "dog"]
ACCURACIES = {"ann-01": 0.95, "ann-02": 0.92, "ann-03": 0.88, "ann-04": 0.85, "ann-05": 0.8, "ann-06": 0.1}
# review, then expert review: the reviewer may escalate; rejections and a fifth of the rest go to an expert
STAGES = [{"name": "review", "roles": ["reviewer"], "exits": ["accepted", "rejected", "escalated"], "check_share": 0.2},
          {"name": "expert review", "roles": ["expert"], "enters": ["escalated", "rejected"],
           "exits": ["accepted", "corrected"]}]
SUBSCRIBED = ["annotation.submitted", "gold.scored", "consensus.*", "review.*", "batch.*", "annotator.*"]


class DemoFailed(Exception):
    pass


@dataclass
class Story:
    urls: dict[str, str]
    token: callable
    tasks: int
    annotators: int
    seed: int = 7
    facts: dict = field(default_factory=dict)

    def client(self, service: str, subject: str, roles: list[str]) -> httpx.Client:
        token = self.token(tenant=TENANT, subject=subject, roles=roles)
        return httpx.Client(base_url=f"{self.urls[service]}/api/v1", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})

    def lead(self, service: str) -> httpx.Client:
        return self.client(service, "qa-lead", ["admin", "qa_lead"])


def _ok(response: httpx.Response, what: str) -> dict:
    if response.status_code >= 400:
        raise DemoFailed(f"{what}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else {}


def _eventually(fetch, until, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    value = fetch()
    while not until(value):
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what} did not happen within {timeout:.0f}s (last: {str(value)[:300]})")
        time.sleep(0.5)
        value = fetch()
    return value


def story_setup(story: Story, receiver: WebhookReceiver) -> None:
    """A webhook endpoint, a project with gold and overlap 3, review sampling, a quality rule."""
    endpoint = _ok(story.lead("webhooks").post("/endpoints", json={"url": receiver.url, "event_types": SUBSCRIBED,
                                                                   "description": "customer pipeline"}), "webhook endpoint")
    story.facts["webhook_secret"] = endpoint["secret"]
    project = _ok(story.lead("assignment").post("/projects", json={
        "name": "pets", "schema": {"answer_type": "single_choice", "labels": [{"name": n} for n in LABELS]},
        "overlap": 3, "max_overlap": 5, "gold_rate": 0.3,
    }), "project")
    story.facts["project_id"] = project["id"]
    _ok(story.lead("review").put(f"/projects/{project['id']}/sampling-policy", json={
        "base_rate": 0.1, "class_rates": {"bird": 0.5}}), "review sampling policy")
    _ok(story.lead("review").put(f"/projects/{project['id']}/review-stages", json={"stages": STAGES}), "review stages")
    _ok(story.lead("metrics").post("/quality-rules", json={
        "kind": "gold_accuracy", "threshold": 0.6, "min_count": 3, "project_id": project["id"]}), "quality rule")


def story_gold(story: Story, rng: random.Random) -> dict[str, str]:
    """Gold tasks in assignment (flagged), their answers in scoring; returns photo → truth. The photo's name rides
    in the task's metadata because its stored location never reaches an annotator (a signed link does)."""
    truth: dict[str, str] = {}
    lines = []
    project_id = story.facts["project_id"]
    for i in range(max(4, story.tasks // 4)):
        photo = f"gold/{i:04d}.jpg"
        truth[photo] = rng.choice(LABELS)
        task = _ok(story.lead("assignment").post(f"/projects/{project_id}/tasks", json={
            "url": f"s3://demo-pets/{photo}", "external_id": f"gold-{i:04d}", "gold": True,
            "metadata": {"photo": photo}}), "gold task")
        lines.append(json.dumps({"task_id": task["id"], "project_id": project_id, "answer": {"label": truth[photo]},
                                 "reason": "expert label"}))
    _ok(story.lead("scoring").post("/gold-answers/import", content="\n".join(lines),
                                   headers={"Content-Type": "application/x-ndjson"}), "gold answers")
    story.facts["gold_tasks"] = len(lines)
    return truth


def story_import(story: Story, rng: random.Random, truth: dict[str, str], work_appeared: dict[str, float]) -> None:
    rows = []
    for i in range(story.tasks):
        photo = f"batch-1/{i:05d}.jpg"
        truth[photo] = rng.choices(LABELS, weights=[1, 2, 2])[0]
        rows.append(json.dumps({"external_id": f"img-{i:05d}", "url": f"s3://demo-pets/{photo}",
                                "priority": 1 if i < 5 else 0, "metadata": {"camera": f"cam-{i % 3}", "photo": photo}}))
    work_appeared["at"] = time.monotonic()
    result = _ok(story.lead("assignment").post(f"/projects/{story.facts['project_id']}/batches?name=batch-1",
                                               content="\n".join(rows) + "\n",
                                               headers={"Content-Type": "application/x-ndjson"}), "batch import")
    story.facts["batch_id"] = result["batch"]["id"]
    story.facts["imported"] = result["imported"]


def story_crowd(story: Story, truth: dict[str, str]) -> dict[str, AnnotatorStats]:
    """Annotators connect and wait; the batch import pushes work to them; they answer until it is done."""
    names = list(ACCURACIES)[: story.annotators]
    tokens = {n: story.token(tenant=TENANT, subject=n, roles=["annotator"]) for n in names}
    stop, started = threading.Event(), threading.Event()
    work_appeared: dict[str, float] = {}
    result: dict[str, dict[str, AnnotatorStats]] = {}
    ws_url = story.urls["assignment"].replace("http://", "ws://")
    thread = threading.Thread(target=lambda: result.setdefault("stats", crowd_run(
        url=ws_url, tokens=tokens, accuracies={n: ACCURACIES[n] for n in names},
        project_id=story.facts["project_id"], truth=truth, labels=LABELS, stop=stop, started=started,
        work_appeared=work_appeared, seen=story.facts.setdefault("task_photos", {}))), daemon=True)
    thread.start()
    started.wait(10)
    time.sleep(1.0)
    story_import(story, random.Random(story.seed + 1), truth, work_appeared)
    progress = story.lead("assignment")
    project_id = story.facts["project_id"]
    try:
        answered = _eventually(lambda: _ok(progress.get(f"/projects/{project_id}/progress"), "progress"),
                    lambda p: _batch_done(p, story.facts["batch_id"]) or not thread.is_alive(), timeout=240,
                    what="every task of the batch answered to its overlap")
    finally:
        stop.set()
        thread.join(30)
    stats = result.get("stats", {})
    if not _batch_done(answered, story.facts["batch_id"]):  # (a dispute may ask for more answers later)
        errors = "; ".join(f"{s.name}: {', '.join(s.errors)}" for s in stats.values() if s.errors)
        raise DemoFailed(f"the annotators stopped before the batch was answered ({errors or 'no errors reported'})")
    story.facts["progress"] = _ok(progress.get(f"/projects/{project_id}/progress"), "progress")
    story.facts["submitted"] = sum(s.answered for s in stats.values())
    return stats


def _batch_done(progress: dict, batch_id: str) -> bool:
    batch = next((b for b in progress["batches"] if b["batch_id"] == batch_id), None)
    return batch is not None and batch["tasks"] > 0 and batch["completed"] == batch["tasks"]


def story_review(story: Story, truth: dict[str, str]) -> dict:
    """The reviewer works the first stage (escalating one item), an expert the second (correcting what is wrong);
    then the QA lead asks for a batch verdict at AQL 4.0 and the two stages work its sample."""
    reviewer = story.client("review", "reviewer-1", ["reviewer"])
    expert = story.client("review", "expert-1", ["expert"])
    done = {"accepted": 0, "rejected": 0, "escalated": 0, "corrected": 0}

    def right(body: dict) -> tuple[bool, str | None]:
        expected = truth.get(story.facts["task_photos"].get(body["task_id"]))
        return (body.get("answer") or {}).get("label") == expected, expected

    def as_reviewer(body: dict) -> dict:
        if not done["escalated"]:
            return {"verdict": "escalated", "comment": "not sure: an expert decides"}
        return {"verdict": "accepted" if right(body)[0] else "rejected"}

    def as_expert(body: dict) -> dict:
        ok, expected = right(body)
        if ok or expected is None:
            return {"verdict": "accepted"}
        return {"verdict": "corrected", "corrected_answer": {"label": expected}, "comment": f"this is a {expected}"}

    def work(client: httpx.Client, decide) -> int:
        worked = 0
        while (item := client.post("/review-items/claim", json={})).status_code != 204:
            body = _ok(item, "review claim")
            decision = decide(body)
            _ok(client.post(f"/review-items/{body['review_id']}/decision", json=decision), "review decision")
            done[decision["verdict"]] += 1
            worked += 1
        return worked

    def work_queues() -> None:
        while work(reviewer, as_reviewer) + work(expert, as_expert):
            pass

    _eventually(lambda: _ok(story.lead("review").get("/sampling-decisions", params={"limit": 1000}), "decisions"),
                lambda d: d.get("count", len(d["results"])) >= story.facts["submitted"], timeout=90,
                what="a sampling decision for every submission")
    work_queues()
    inspection = _ok(story.lead("review").post(f"/batches/{story.facts['batch_id']}/inspections", json={
        "project_id": story.facts["project_id"], "aql": 4.0}), "batch inspection")
    work_queues()
    story.facts["inspection"] = _ok(story.lead("review").get(f"/inspections/{inspection['inspection_id']}"), "inspection")
    story.facts["reviews"] = done
    story_outcome(story)
    return done


def story_outcome(story: Story) -> None:
    """Items per stage, the labels that ship, and the head of the batch's JSON Lines export."""
    lead, project_id = story.lead("review"), story.facts["project_id"]
    items = _ok(lead.get("/review-items", params={"project_id": project_id}), "review items")["results"]
    story.facts["stages"] = {name: sum(1 for i in items if i["stage_name"] == name) for name in
                             [s["name"] for s in STAGES]}
    labels, after = [], None
    while True:
        page = _ok(lead.get("/final-labels", params={"project_id": project_id, "limit": 500,
                                                      **({"after": after} if after else {})}), "final labels")
        labels += page["results"]
        if not (after := page["next_after"]):
            break
    story.facts["final_labels"] = labels
    accepted = story.facts["inspection"]["status"] == "accepted"
    with lead.stream("GET", "/exports", params={"project_id": project_id, "batch_id": story.facts["batch_id"],
                                                "include_unaccepted": str(not accepted).lower()}) as response:
        if response.status_code >= 400:
            raise DemoFailed(f"export: {response.status_code} {response.read()[:300]!r}")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    story.facts["export"] = {"accepted": accepted, "lines": lines}
