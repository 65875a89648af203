"""The work the benchmark offers: one project with gold, its tasks, a webhook endpoint, the annotators' answers.

Everything goes through the services' public HTTP APIs except three harness shortcuts on the superuser's
connection: waiting until scoring knows the project, reading the gold tasks' ids after their import, and
vacuuming the task table after the import.
"""
from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import psycopg

from assay_shared.bench.system.stack import BenchSystem

TENANT = "bench-system"
LABELS = ("cat", "dog", "bird")
OVERLAP = 3
GOLD_RATE = 0.05
REVIEW_RATE = 0.1
ACCURACY = 0.8


@dataclass(frozen=True)
class Scenario:
    project_id: str
    endpoint_id: str


def truth(url: str) -> str:
    """The hidden right label of a task, the same for gold answers and the annotators' answers."""
    return LABELS[zlib.crc32(url.encode()) % len(LABELS)]


def answer_for(url: str, rng: random.Random) -> dict:
    """What a fairly good annotator answers: the truth 80 % of the time, another label otherwise."""
    right = truth(url)
    return {"label": right if rng.random() < ACCURACY else rng.choice([x for x in LABELS if x != right])}


def _ok(response: httpx.Response, what: str) -> dict:
    if response.status_code >= 400:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else {}


def _ndjson(rows: Iterator[dict], *, chunk: int = 5000) -> Iterator[bytes]:
    lines = []
    for row in rows:
        lines.append(json.dumps(row, separators=(",", ":")) + "\n")
        if len(lines) == chunk:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


def _import(http: httpx.Client, batches_url: str, name: str, rows: Iterator[dict]) -> int:
    response = http.post(batches_url, params={"name": name}, content=_ndjson(rows),
                         headers={"Content-Type": "application/x-ndjson"}, timeout=600)
    return _ok(response, f"import of batch {name}")["imported"]


def _gold_answers(system: BenchSystem, http: httpx.Client, project_id: str) -> int:
    """Gold answers in scoring for the project's gold tasks (read from assignment's database)."""
    with psycopg.connect(system.admin_url("assignment")) as conn:
        rows = conn.execute("SELECT id::text, data->>'url' FROM assignment_task WHERE project_id = %s AND is_gold",
                            [project_id]).fetchall()
    lines = "".join(json.dumps({"task_id": task_id, "project_id": project_id, "answer": {"label": truth(url)},
                                "reason": "bench"}) + "\n" for task_id, url in rows)
    _ok(http.post(f"{system.urls()['scoring']}/api/v1/gold-answers/import", content=lines,
                  headers={"Content-Type": "application/x-ndjson"}), "gold answers")
    return len(rows)


def _scoring_knows(system: BenchSystem, project_id: str, *, timeout: float = 60.0) -> None:
    """Wait until scoring has the project's configuration (project.configured): it takes gold answers, and
    submissions, only for a project it knows."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(system.admin_url("scoring"), autocommit=True) as conn:
        while not conn.execute("SELECT 1 FROM scoring_project_settings WHERE project_id = %s AND configured",
                               [project_id]).fetchone():
            if time.monotonic() > deadline:
                raise RuntimeError(f"scoring did not receive project.configured within {timeout:.0f}s")
            time.sleep(0.2)


def _vacuum(system: BenchSystem) -> None:
    """Vacuum and analyze the fresh task table before measuring, as the assignment bench does."""
    with psycopg.connect(system.admin_url("assignment"), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) assignment_task")


def scenario_create(*, system: BenchSystem, receiver_url: str, tasks: int,
                    say: Callable[[str], None]) -> Scenario:
    """Webhook endpoint (every event), project (single choice, overlap 3, 5 % gold), review policy, tasks."""
    urls = system.urls()
    token = system.token(tenant=TENANT, subject="bench-lead", roles=["admin", "qa_lead"])
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        endpoint = _ok(http.post(f"{urls['webhooks']}/api/v1/endpoints", json={
            "url": receiver_url, "event_types": ["*"], "description": "bench-system receiver"}), "webhook endpoint")
        project = _ok(http.post(f"{urls['assignment']}/api/v1/projects", json={
            "name": "bench-system", "schema": {"answer_type": "single_choice", "labels": [{"name": n} for n in LABELS]},
            "overlap": OVERLAP, "gold_rate": GOLD_RATE}), "project")
        project_id = project["id"]
        _ok(http.put(f"{urls['review']}/api/v1/projects/{project_id}/sampling-policy", json={"base_rate": REVIEW_RATE}),
            "review sampling policy")
        _scoring_knows(system, project_id)
        batches = f"{urls['assignment']}/api/v1/projects/{project_id}/batches"
        _import(http, batches, "gold", ({"external_id": f"gold-{i}", "url": f"https://img.example/gold/{i}.jpg",
                                         "gold": True} for i in range(max(20, round(tasks * GOLD_RATE)))))
        gold = _gold_answers(system, http, project_id)
        started = time.perf_counter()
        imported = _import(http, batches, "work", ({"external_id": f"t-{i}", "url": f"https://img.example/t/{i}.jpg"}
                                                   for i in range(tasks)))
        say(f"  {imported:,} tasks and {gold} gold tasks imported in {time.perf_counter() - started:.1f} s")
    _vacuum(system)
    return Scenario(project_id=project_id, endpoint_id=endpoint["id"])
