"""The web server as a pod runs it: two uvicorn workers behind one /metrics, and readiness during a broker
outage (ADR 0082). Real processes, a real broker behind a TCP proxy that cuts it."""
import os
import re
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from assay_shared.testing import env as test_env
from assay_shared.testing.processes import ServiceProcess
from assay_shared.testing.proxy import TcpProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.slow]


def count_of(text: str, route: str) -> float:
    found = re.search(r'^assay_http_request_duration_seconds_count\{method="GET",route="%s",status="200"\} (\S+)$'
                      % re.escape(route), text, re.M)
    return float(found.group(1)) if found else 0.0


def pids_in(directory: Path, prefix: str) -> set[int]:
    return {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob(f"{prefix}*.db")}


@pytest.fixture
def web(tmp_path):
    started = []

    def start(*, workers: int = 1, **env):
        process = ServiceProcess(service="webhooks", web_workers=workers, env={
            **test_env.service_env(service="webhooks", database=test_env.test_database("webhooks")), **env})
        started.append(process)
        return process.start(worker=False, timeout=60)

    yield start
    for process in started:
        process.stop()


def test_two_workers_count_every_request_once_and_a_killed_workers_gauges_go(web, tmp_path):
    # given the web server with two uvicorn workers writing their metrics to one directory
    directory = tmp_path / "prom"
    directory.mkdir()
    server = web(workers=2, PROMETHEUS_MULTIPROC_DIR=str(directory))
    # (the start-up's own health checks are counted too)
    sent = int(count_of(httpx.get(f"{server.url}/metrics", headers={"Connection": "close"}).text, "healthz"))
    # when requests arrive on new connections until both workers have answered some
    while len(pids_in(directory, "counter_")) < 2 or sent < 40:
        assert httpx.get(f"{server.url}/healthz", headers={"Connection": "close"}).status_code == 200
        sent += 1
        assert sent < 2000, "the kernel never handed a connection to the second worker"
    # then every scrape, whichever worker answers it, counts all of them
    scrapes = [httpx.get(f"{server.url}/metrics", headers={"Connection": "close"}).text for _ in range(12)]
    assert [count_of(text, "healthz") for text in scrapes] == [float(sent)] * 12
    assert "assay_outbox_backlog 0.0" in scrapes[-1]
    workers = sorted(psutil.Process(server.units[0].proc.pid).children(recursive=True), key=lambda p: p.pid)
    live = pids_in(directory, "gauge_live")
    assert live and live <= {p.pid for p in workers}
    # when a worker that holds a live gauge is killed (uvicorn starts another in its place)
    victim = min(live)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            text = httpx.get(f"{server.url}/metrics", headers={"Connection": "close"}, timeout=5).text
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if victim not in pids_in(directory, "gauge_live"):
            break
        time.sleep(0.2)
    # then its gauges are forgotten, while its requests stay counted
    assert victim not in pids_in(directory, "gauge_live")
    assert victim in pids_in(directory, "counter_")
    assert count_of(text, "healthz") == float(sent)
    assert "assay_outbox_backlog 0.0" in text


def test_without_the_directory_one_worker_reports_its_own_counts(web):
    server = web(workers=1)
    before = count_of(httpx.get(f"{server.url}/metrics").text, "healthz")
    for _ in range(5):
        httpx.get(f"{server.url}/healthz")
    assert count_of(httpx.get(f"{server.url}/metrics").text, "healthz") == before + 5


def test_readiness_holds_through_a_broker_outage(web):
    # given the web server whose broker is reached through a proxy
    host, port = re.search(r"@([^:/]+):(\d+)", test_env.TEST_BROKER_URL).groups()
    proxy = TcpProxy(target_host=host, target_port=int(port))
    broker = re.sub(r"@[^:/]+:\d+", f"@127.0.0.1:{proxy.port}", test_env.TEST_BROKER_URL)
    try:
        server = web(BROKER_URL=broker)
        ready = httpx.get(f"{server.url}/readyz")
        assert (ready.status_code, ready.json()) == (200, {
            "status": "ready", "checks": {"database": "ok"}, "reported": {"broker": "ok"}})
        # when the broker is cut off
        proxy.cut()
        time.sleep(5.5)  # past the cached broker check
        started = time.monotonic()
        during = httpx.get(f"{server.url}/readyz", timeout=10)
        # then the pod stays ready (the outbox holds the events) and says why the broker is not ok, quickly
        assert during.status_code == 200
        assert during.json()["checks"] == {"database": "ok"}
        assert during.json()["reported"]["broker"] != "ok"
        assert time.monotonic() - started < 4.0
    finally:
        proxy.close()
