"""Cross-service tests: the five services as real processes on real Postgres and RabbitMQ."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from assay_shared.demo.crowd import WebhookReceiver
from assay_shared.stack.processes import ServiceProcess, drop_databases, service_migrate
from assay_shared.testing import env as test_env
from assay_shared.testing.broker import broker_cleanup
from assay_shared.testing.cast import Cast

SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks")
CELERY = {"assignment", "scoring", "webhooks"}


class System:
    """The five services; `workers` worker processes (relay + consumers) per service share each queue."""

    def __init__(self, tmp: Path, *, name: str = "e2e", workers: int = 1) -> None:
        self.prefix = f"{test_env.SESSION_PREFIX}{name}{uuid.uuid4().hex[:4]}"
        self.databases = {s: f"{name}_{self.prefix[-4:]}_{test_env.SESSION_PREFIX}_assay_{s}" for s in SERVICES}
        self.workers = workers
        self.procs: dict[str, ServiceProcess] = {}
        self.log_dir = tmp / "logs"
        self.cast = Cast(test_env.SESSION_KEYS)

    def start(self) -> None:
        drop_databases(admin_url=test_env.TEST_PG_URL, names=list(self.databases.values()))
        for service, database in self.databases.items():
            env = {**test_env.service_env(service=service, database=database, prefix=self.prefix),
                   "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1", "LOG_LEVEL": "WARNING"}
            service_migrate(service=service, admin_url=test_env.TEST_PG_URL, database=database, env=env)
            self.procs[service] = ServiceProcess(service=service, env=env, log_dir=self.log_dir)
        for service, proc in self.procs.items():
            proc.start(web=False, worker=True, celery=service in CELERY)
            for _ in range(self.workers - 1):
                proc.start(web=False, worker=True)
        time.sleep(1.0)
        for proc in self.procs.values():
            proc.start(web=True, worker=False, timeout=60)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        broker_cleanup(amqp_url=test_env.TEST_AMQP_URL, prefix=self.prefix)
        drop_databases(admin_url=test_env.TEST_PG_URL, names=list(self.databases.values()))

    def client(self, service: str, actor) -> httpx.Client:
        return httpx.Client(base_url=f"{self.procs[service].url}/api/v1", headers=actor.headers, timeout=15)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("e2e"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def receiver():
    running = WebhookReceiver()
    yield running
    running.close()


def eventually(fetch, *, until, timeout: float = 45.0, what: str = "condition"):
    """Call fetch() until until(value) holds; return the value or fail with the last one seen."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if until(value):
            return value
        time.sleep(0.25)
    pytest.fail(f"{what} not reached within {timeout}s; last value: {value!r}")
