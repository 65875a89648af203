"""The local stack heals itself: `assay up` on the local Postgres, RabbitMQ and Redis, one process of each
kind killed with SIGKILL, each restarted on its own while the other services go on serving, and `assay down`
leaves no process behind (ADR 0061)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from assay_shared.stack.processes import Unit, drop_databases, free_port
from assay_shared.stack.supervise import Backoff, Supervisor
from assay_shared.testing import env as test_env
from assay_shared.testing.broker import broker_cleanup
from assay_shared.testing.cast import Cast
from tests.conftest import SERVICES, eventually

pytestmark = pytest.mark.e2e

SCHEMA = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}]}
VICTIMS = {"web": "review-web", "worker": "scoring-worker", "celery": "assignment-celery", "deliver": "webhooks-deliver"}


def assay(state: Path, *args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assay_shared.cli", "--state", str(state), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def group_alive(pgid: int) -> list[int]:
    """Live processes of a process group (zombies, dead but not yet reaped, do not count)."""
    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == pgid:
                found.append(proc.pid)
        except OSError:
            pass
    return found


def stack_processes(state: Path) -> list[int]:
    """Live processes whose environment marks them as processes of the stack in `state`."""
    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and proc.environ().get("ASSAY_STACK") == str(state):
                found.append(proc.pid)
        except psutil.Error:
            pass
    return found


def stack_env(*, ports: dict[str, int], bus_prefix: str, database_prefix: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": test_env.TEST_PG_URL, "BROKER_URL": test_env.TEST_BROKER_URL,
            "REDIS_URL": test_env.TEST_REDIS_URL, "ASSAY_BUS_PREFIX": bus_prefix,
            "ASSAY_DATABASE_PREFIX": database_prefix, "LOG_LEVEL": "WARNING",
            "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",  # the test's receiver listens on 127.0.0.1
            **{f"ASSAY_PORT_{service.upper()}": str(port) for service, port in ports.items()}, **extra}


@dataclass
class Stack:
    state: Path
    env: dict[str, str]
    ports: dict[str, int]
    cast: Cast

    def status(self) -> dict:
        return json.loads((self.state / "stack.json").read_text())

    def processes(self) -> dict[str, dict]:
        return {p["name"]: p for p in self.status()["processes"]}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def client(self, service: str, actor) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url(service)}/api/v1", headers=actor.headers, timeout=15)

    def logs(self) -> str:
        files = [self.state / "supervisor.log", *sorted((self.state / "logs").glob("*.log"))]
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in files if p.exists())


@pytest.fixture
def stack(tmp_path):
    bus_prefix = f"{test_env.SESSION_PREFIX}heal{uuid.uuid4().hex[:4]}"
    database_prefix = f"heal_{uuid.uuid4().hex[:6]}_"
    ports = {service: free_port() for service in (*SERVICES, "console")}
    env = stack_env(ports=ports, bus_prefix=bus_prefix, database_prefix=database_prefix)
    # the stack signs with the test session's key, so the standard cast's tokens are accepted
    (tmp_path / "keys.json").write_text(json.dumps(test_env.SESSION_KEYS.__dict__))
    running = Stack(state=tmp_path, env=env, ports=ports, cast=Cast(test_env.SESSION_KEYS))
    try:
        up = assay(tmp_path, "up", env=env)
        assert up.returncode == 0, up.stdout + up.stderr + running.logs()
        yield running
    finally:
        assay(tmp_path, "down", env=env, timeout=120)
        drop_databases(admin_url=test_env.TEST_PG_URL, names=[f"{database_prefix}{s}" for s in SERVICES])
        broker_cleanup(amqp_url=test_env.TEST_AMQP_URL, prefix=bus_prefix)


class Prober(threading.Thread):
    """GET /healthz of each given service, over and over; keeps the count of answers and every failure."""

    def __init__(self, urls: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.urls = urls
        self.answered = {service: 0 for service in urls}
        self.failures: list[tuple[str, str]] = []
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self.done.is_set():
                for service, url in self.urls.items():
                    try:
                        response = http.get(f"{url}/healthz")
                        if response.status_code == 200:
                            self.answered[service] += 1
                        else:
                            self.failures.append((service, f"HTTP {response.status_code}"))
                    except httpx.HTTPError as exc:
                        self.failures.append((service, f"{type(exc).__name__}: {exc}"))
                self.done.wait(0.1)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


def submit_and_score(stack: Stack, project_id: str) -> tuple[str, str]:
    """The annotator answers the next task; returns (task id, submission id) once scoring has its consensus."""
    work = stack.client("assignment", stack.cast.teammate)
    handout = work.post(f"/projects/{project_id}/next").json()["task"]
    submitted = work.post(f"/tasks/{handout['task_id']}/submit", json={"answer": {"label": "cat"}, "duration_ms": 900})
    assert submitted.status_code == 201, submitted.text
    scoring = stack.client("scoring", stack.cast.owner)
    eventually(lambda: scoring.get(f"/consensus/{handout['task_id']}").status_code, until=lambda code: code == 200,
               timeout=60, what="consensus in scoring")
    return handout["task_id"], submitted.json()["submission_id"]


def test_killed_processes_come_back_while_the_others_keep_serving(stack, receiver):
    owner = stack.cast.owner
    # given a tenant endpoint for submissions, a project with overlap 1 and two tasks, one answered already
    endpoint = stack.client("webhooks", owner).post("/endpoints", json={"url": receiver.url,
                                                                        "event_types": ["annotation.submitted"]})
    assert endpoint.status_code == 201, endpoint.text
    assignment = stack.client("assignment", owner)
    project = assignment.post("/projects", json={"name": "heal", "schema": SCHEMA, "overlap": 1})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    for n in (1, 2):
        task = assignment.post(f"/projects/{project_id}/tasks", json={"url": f"s3://b/{n}.jpg", "external_id": f"t{n}"})
        assert task.status_code == 201, task.text
    submit_and_score(stack, project_id)
    before = stack.processes()
    assert sorted((p["service"], p["kind"]) for p in before.values()) == sorted(
        [(s, k) for s in SERVICES for k in ("web", "worker", "deliver" if s == "webhooks" else "celery")]
        + [("console", "web")])
    assert all(p["state"] == "up" and p["restarts"] == 0 and p["pid"] for p in before.values())
    celery_group = before[VICTIMS["celery"]]["pgid"]
    assert len(group_alive(celery_group)) >= 2, "the Celery worker runs its beat as a child process"

    # when one web server, one worker, one Celery worker and the webhook delivery process are killed with SIGKILL
    # (their leader only)
    prober = Prober({s: stack.url(s) for s in SERVICES if s != "review"})
    prober.start()
    time.sleep(0.5)
    killed_at = time.monotonic()
    for name in VICTIMS.values():
        os.kill(before[name]["pid"], signal.SIGKILL)

    # then each is restarted with a new pid, and nothing of its old process group is left (the beat child too)
    def restarted() -> dict[str, dict]:
        return stack.processes()

    after = eventually(restarted, timeout=90, what="the killed processes restarted and up", until=lambda now: all(
        now[name]["state"] == "up" and now[name]["restarts"] == 1 and now[name]["pid"] != before[name]["pid"]
        for name in VICTIMS.values()))
    healed_in = time.monotonic() - killed_at
    for name in VICTIMS.values():
        assert group_alive(before[name]["pgid"]) == [], f"{name}: old process group still has live processes"
        assert after[name]["last_exit"] == "killed by SIGKILL"
    # the web server is back on its announced port and answers its API
    assert after[VICTIMS["web"]]["port"] == stack.ports["review"]
    review = stack.client("review", owner).get("/sampling-decisions")
    assert review.status_code == 200, review.text
    # the restarted scoring worker applies an event published after its restart
    _, submission_id = submit_and_score(stack, project_id)
    # and the restarted delivery process sends the webhook of that submission
    eventually(lambda: {e["payload"]["submission_id"] for e in receiver.events() if e["type"] == "annotation.submitted"},
               until=lambda ids: submission_id in ids, timeout=60, what="webhook of the submission made after the restart")
    prober.stop()
    # the other services answered /healthz all along, and none of their processes was restarted
    assert prober.failures == [], prober.failures[:5]
    assert all(count >= 10 for count in prober.answered.values()), prober.answered
    for name, process in stack.processes().items():
        if name not in VICTIMS.values():
            assert (process["pid"], process["restarts"]) == (before[name]["pid"], 0), name
    # the supervisor logged each exit and restart, and so did the process's own log
    supervisor_log = (stack.state / "supervisor.log").read_text()
    for name in VICTIMS.values():
        assert f"{name} (pid {before[name]['pid']}) exited: killed by SIGKILL" in supervisor_log
        assert f"{name} restarted: pid {after[name]['pid']} (restart 1)" in supervisor_log
        assert "exited: killed by SIGKILL" in Path(after[name]["log"]).read_text()
    # `assay status` shows every process: service, kind, pid, restarts, up since
    shown = assay(stack.state, "status", env=stack.env, timeout=30)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines()[1:] if line.strip()}
    for name, process in after.items():
        assert rows[name][1:5] == [process["kind"], str(process["pid"]), "up", str(process["restarts"])], rows[name]
    # and each service's consumer lag and queue depth as its worker reports them ("<seconds> s", messages waiting)
    for service in ("assignment", "scoring", "review", "metrics", "webhooks"):
        assert rows[service][-2] == "s" and rows[service][-1].isdigit(), rows[service]
    print(f"\nkilled processes up again {healed_in:.1f}s after the kill")

    # when the stack is brought down, no process of it is left: no group, old or new, no marked process
    groups = {p["pgid"] for p in before.values()} | {p["pgid"] for p in after.values()}
    down = assay(stack.state, "down", env=stack.env, timeout=120)
    assert down.returncode == 0 and down.stdout.strip().endswith("down"), down.stdout + down.stderr
    assert {pgid: group_alive(pgid) for pgid in groups if group_alive(pgid)} == {}
    assert stack_processes(stack.state) == []
    assert not (stack.state / "stack.json").exists()


def test_up_refuses_a_port_held_by_another_process_and_names_it(tmp_path):
    # given something else listening on the port the review service is to announce
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        ports = {service: free_port() for service in (*SERVICES, "console")} | {"review": port}
        env = stack_env(ports=ports, bus_prefix=f"{test_env.SESSION_PREFIX}heal", database_prefix="heal_unused_",
                        ASSAY_PORT_WAIT_SECONDS="1")
        # when the stack is brought up, it fails naming the port, its setting and its holder, and moves nowhere
        done = assay(tmp_path, "up", env=env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"port {port} (ASSAY_PORT_REVIEW) is in use by pid {os.getpid()} (" in done.stderr, done.stderr
    assert "not moving to another port" in done.stderr and "free it or set ASSAY_PORT_REVIEW" in done.stderr
    assert assay(tmp_path, "status", env=env, timeout=30).returncode == 1
    assert stack_processes(tmp_path) == []


def test_a_crashing_process_restarts_with_growing_delay_and_its_children_end_with_it(tmp_path):
    # given a unit that forks a long-lived child and then crashes, under a supervisor with a fast backoff
    script = "import os, subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
             "time.sleep(0.2); sys.exit(3)"
    unit = Unit(name="crashy-worker", service="crashy", kind="worker", argv=[sys.executable, "-c", script], env={},
                log=tmp_path / "crashy.log")
    lines: list[str] = []
    supervisor = Supervisor([unit], log=lines.append, backoff=Backoff(initial=0.1, cap=0.4, stable_after=60))
    groups = []
    try:
        supervisor.launch(unit)
        deadline = time.monotonic() + 20
        while unit.spawns < 5 and time.monotonic() < deadline:
            if unit.pid not in groups:
                groups.append(unit.pid)
            supervisor.tick()
            time.sleep(0.02)
    finally:
        supervisor.stop()
    # then it was restarted each time, after 0.1, 0.2, 0.4, 0.4 s, with every exit logged
    assert unit.spawns == 5, lines
    delays = [line.split("restarting in ")[1].split("s")[0] for line in lines if "restarting in" in line]
    assert delays[:4] == ["0.1", "0.2", "0.4", "0.4"], lines
    assert sum("exited: exit status 3" in line for line in lines) >= 4
    assert (tmp_path / "crashy.log").read_text().count("the supervisor restarts it in") >= 4
    # and the child each incarnation left behind was ended with it; after the stop nothing is left
    assert [pgid for pgid in groups if group_alive(pgid)] == []
