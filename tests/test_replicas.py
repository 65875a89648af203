"""Three worker processes per service on the same queues: every submission is applied once everywhere, each task
gets one consensus, each submission one sampling decision, each annotator exact counts, each event one webhook."""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.conftest import SERVICES, System, eventually

pytestmark = pytest.mark.e2e

SCHEMA = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}
ANNOTATORS = [f"rep-{i}" for i in range(6)]
TASKS = 12
OVERLAP = 3


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("replicas"), name="rep", workers=3)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def work_the_queue(system: System, project_id: str, subject: str, submitted: list[tuple[str, str, str]]) -> None:
    """One annotator takes and answers tasks until none is left for them."""
    actor = system.cast.make("acme", subject, ["annotator"])
    with system.client("assignment", actor) as work:
        while (task := work.post(f"/projects/{project_id}/next").json()["task"]) is not None:
            done = work.post(f"/tasks/{task['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 700})
            assert done.status_code == 201, done.text
            submitted.append((subject, task["task_id"], done.json()["submission_id"]))


def test_three_workers_per_service_apply_everything_exactly_once(replicated, receiver):
    system, owner = replicated, replicated.cast.owner
    assert all(sum(u.kind == "worker" for u in system.procs[s].units) == 3 for s in SERVICES)
    # given an endpoint for submissions and consensus, a project with overlap 3 and 12 tasks, half the answers sampled
    hooks = system.client("webhooks", owner)
    assert hooks.post("/endpoints", json={"url": receiver.url, "event_types": ["annotation.submitted", "consensus.*"]}
                      ).status_code == 201
    assignment = system.client("assignment", owner)
    project_id = assignment.post("/projects", json={"name": "replicas", "schema": SCHEMA, "overlap": OVERLAP}).json()["id"]
    policy = system.client("review", owner).put(f"/projects/{project_id}/sampling-policy", json={"base_rate": 0.5})
    assert policy.status_code in (200, 201), policy.text
    for n in range(TASKS):
        created = assignment.post(f"/projects/{project_id}/tasks", json={"url": f"s3://b/{n}.jpg", "external_id": f"r{n}"})
        assert created.status_code == 201, created.text

    # when six annotators work the queue at once
    submitted: list[tuple[str, str, str]] = []
    threads = [threading.Thread(target=work_the_queue, args=(system, project_id, a, submitted)) for a in ANNOTATORS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(submitted) == TASKS * OVERLAP
    tasks = {task for _, task, _ in submitted}
    submissions = {sid for _, _, sid in submitted}

    # then every task has one consensus at revision 1, from its three answers
    scoring = system.client("scoring", owner)
    for task in tasks:
        consensus = eventually(lambda: scoring.get(f"/consensus/{task}"), until=lambda r: r.status_code == 200,
                               timeout=90, what=f"consensus of {task}").json()
        assert (consensus["revision"], sorted(consensus["submission_ids"])) == (
            1, sorted(sid for _, t, sid in submitted if t == task))
    # one sampling decision per submission
    review = system.client("review", owner)
    decisions = eventually(lambda: review.get("/sampling-decisions", params={"limit": 1000}).json()["results"],
                           until=lambda rows: len(rows) >= len(submissions), timeout=90, what="sampling decisions")
    assert sorted(d["submission_id"] for d in decisions) == sorted(submissions)
    # each annotator's counts exact
    expected = Counter(subject for subject, _, _ in submitted)
    stats = eventually(lambda: system.client("metrics", owner).get("/annotator-stats").json()["results"],
                       until=lambda rows: {r["annotator"]: r["submissions"] for r in rows} == dict(expected),
                       timeout=90, what="annotator stats")
    assert sum(r["total_duration_ms"] for r in stats) == 700 * len(submitted)
    # and the endpoint received each submission once and one consensus per task (webhook ids never repeat)
    def received():
        events = receiver.events()
        return ([e["payload"]["submission_id"] for e in events if e["type"] == "annotation.submitted"],
                [e["payload"]["task_id"] for e in events if e["type"].startswith("consensus.")])
    answered, agreed = eventually(received, until=lambda got: len(set(got[0])) == len(submissions)
                                  and len(set(got[1])) == TASKS, timeout=90, what="webhooks")
    assert sorted(answered) == sorted(submissions)
    assert sorted(agreed) == sorted(tasks)
