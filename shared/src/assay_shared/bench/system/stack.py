"""The system under test: `System` with databases of this run, every process's pid, teardown."""
from __future__ import annotations

import os
import re
from pathlib import Path

from kombu import Connection

from assay_shared.auth.tokens import keypair_generate
from assay_shared.db.bootstrap import database_drop, url_with
from assay_shared.stack.processes import free_port
from assay_shared.stack.servers import Servers
from assay_shared.stack.system import SERVICES, System
from assay_shared.testing.broker import broker_cleanup

SERVER_DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def servers_env() -> dict[str, str]:
    """The servers to run on: DATABASE_URL, BROKER_URL, REDIS_URL when set, else the local ones."""
    return {name: os.environ.get(name) or default for name, default in SERVER_DEFAULTS.items()}


class BenchSystem(System):
    """`System` with what the benchmark needs besides: the superuser's connections, pids, dead letters."""

    @classmethod
    def for_run(cls, *, run_id: str, state: Path, servers: Servers, extra_env: dict[str, str] | None = None,
                ) -> BenchSystem:
        """Databases, bus prefix and ports of this run alone, so it never meets the tests or `make up`;
        `extra_env` overrides the services' settings (--chaos: BROKER_URL through the proxy)."""
        return cls(state=state, servers=servers, keys=keypair_generate(kid="bench-system"), prefix=f"benchsys{run_id}",
                   # the benchmark's receiver listens on 127.0.0.1
                   extra_env={"WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1", **(extra_env or {})},
                   database_prefix=f"bench_system_{run_id}_", ports={service: free_port() for service in SERVICES})

    def admin_url(self, service: str) -> str:
        """The superuser's connection to a service's database (row-level security does not apply)."""
        return url_with(self.servers.database_admin_url, database=self.database(service))

    def pids(self) -> dict[str, int]:
        """'<service>-<kind>' (web, worker, celery, deliver) → pid of each process (its process group's leader)."""
        return {unit.name: unit.pid for unit in self.supervisor.units if unit.pid is not None}

    def dead_letters(self) -> dict[str, int]:
        """Messages waiting in each service's dead-letter queue."""
        counts = {}
        with Connection(self.servers.broker_url, connect_timeout=5) as conn:
            for service in SERVICES:
                try:
                    counts[service] = conn.channel().queue_declare(f"{self.prefix}.{service}.dlq",
                                                                   passive=True).message_count
                except Exception:  # noqa: BLE001 - a queue never declared holds nothing
                    counts[service] = 0
        return counts

    def teardown(self, *, keep: bool) -> None:
        self.stop()
        if keep:
            return
        for service in SERVICES:
            database_drop(admin_url=self.servers.database_admin_url, database=self.database(service))
        if self.servers.broker_url.startswith("amqp"):
            broker_cleanup(amqp_url=self.servers.broker_url, prefix=self.prefix)


_ERROR_LINE = re.compile(r'"level": "(error|critical)"|Traceback|ERROR/|CRITICAL/')


def log_errors(log_dir: Path) -> dict[str, tuple[int, str]]:
    """Per log file that has any: how many lines report an error or a traceback, and the first of them."""
    found = {}
    for path in sorted(log_dir.glob("*.log")):
        with path.open(errors="replace") as lines:
            hits = [line.strip() for line in lines if _ERROR_LINE.search(line)]
        if hits:
            found[path.name] = (len(hits), hits[0][:300])
    return found
