"""The whole system on one machine: servers, five databases, five services' processes (supervised units)."""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import redis

from assay_shared.auth.tokens import KeyPair, keypair_generate, public_keys_json, token_mint
from assay_shared.bus.lag import lag_read
from assay_shared.db.bootstrap import url_with
from assay_shared.stack.console import CONSOLE_PORT, console_env, console_unit
from assay_shared.stack.processes import STACK_MARKER, Unit, exit_describe, service_migrate, service_units
from assay_shared.stack.servers import Servers
from assay_shared.stack.supervise import StartFailed, Supervisor

SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks")
DEFAULT_PORTS = {"assignment": 8101, "scoring": 8102, "review": 8103, "metrics": 8104, "webhooks": 8105,
                 "console": CONSOLE_PORT}
APP_ROLE = "assay_app"


def keys_load_or_create(state: Path) -> KeyPair:
    """The local stack's signing key (state/keys.json), made on first use."""
    path = state / "keys.json"
    if path.exists():
        data = json.loads(path.read_text())
        return KeyPair(kid=data["kid"], private_pem=data["private_pem"], public_pem=data["public_pem"])
    pair = keypair_generate(kid="local-1")
    state.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pair.__dict__))
    path.chmod(0o600)
    return pair


@dataclass
class System:
    """The five services of one stack as supervised units, on fixed ports (`ports`, default DEFAULT_PORTS)."""

    state: Path
    servers: Servers
    keys: KeyPair
    prefix: str = "assay"
    web_workers: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    database_prefix: str = "assay_"
    port_wait: float = 30.0
    supervisor: Supervisor | None = None

    def database(self, service: str) -> str:
        return f"{self.database_prefix}{service}"

    def service_env(self, service: str) -> dict[str, str]:
        return {
            "DATABASE_URL": url_with(self.servers.database_admin_url, database=self.database(service), user=APP_ROLE),
            "BROKER_URL": self.servers.broker_url,
            "REDIS_URL": self.servers.redis_url,
            "JWT_PUBLIC_KEYS": public_keys_json(self.keys),
            "ASSAY_BUS_PREFIX": self.prefix,
            "DB_APP_ROLE": APP_ROLE,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            STACK_MARKER: str(self.state),
            **self.extra_env,
        }

    def migrate(self) -> None:
        for service in SERVICES:
            service_migrate(service=service, admin_url=self.servers.database_admin_url, database=self.database(service),
                            env=self.service_env(service))

    def units(self, *, celery: bool = True) -> list[Unit]:
        """Every process of every service (workers and Celery first: their queues exist before anything is
        published)."""
        units = []
        for service in SERVICES:
            units += service_units(service=service, env=self.service_env(service), port=self.ports[service],
                                   web_workers=self.web_workers.get(service, 1), log_dir=self.state / "logs",
                                   web=True, worker=True, celery=celery)
        if self.ports.get("console"):  # the console: pages on the services' APIs (ADR 0076)
            units.append(console_unit(env=console_env(service_urls=self.urls(), redis_url=self.servers.redis_url,
                                                      prefix=self.prefix, keys=self.keys, state=self.state,
                                                      log_level=os.environ.get("LOG_LEVEL", "WARNING")),
                                      port=self.ports["console"], log_dir=self.state / "logs"))
        return sorted(units, key=lambda unit: unit.kind == "web")

    def start(self, *, celery: bool = True, timeout: float = 180.0, stop: threading.Event | None = None,
              log: Callable[[str], None] | None = None) -> None:
        """Start every process and wait until every web server answers; raise StartFailed (having stopped
        what it started) if one exits or its port stays busy. Supervision (restarts) is `supervisor.run`."""
        self.supervisor = Supervisor(self.units(celery=celery), log=log, port_wait=self.port_wait)
        try:
            self.supervisor.start(timeout=timeout, stop=stop)
            self.consumers_wait(timeout=timeout)
        except BaseException:
            self.supervisor.stop()
            raise

    def consumers_wait(self, *, timeout: float) -> None:
        """Wait until every service's worker has declared its queue and consumes (its first lag report, ADR 0059):
        an event published to a queue not yet bound would reach no one."""
        client = redis.Redis.from_url(self.servers.redis_url, socket_timeout=2, socket_connect_timeout=2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                silent = [s for s, lag in lag_read(client=client, prefix=self.prefix, services=list(SERVICES)).items()
                          if lag is None]
                if not silent:
                    return
                if time.monotonic() > deadline:
                    raise StartFailed(f"the workers of {', '.join(silent)} did not start consuming within {timeout:.0f}s")
                time.sleep(0.2)
        finally:
            client.close()

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()

    def dead(self) -> list[str]:
        """Processes that exited, as 'name: how (log file)' (without supervision running, they stay dead)."""
        if self.supervisor is None:
            return []
        return [f"{unit.name}: {exit_describe(unit.proc.returncode)} ({unit.log})"
                for unit in self.supervisor.units if unit.proc is not None and unit.exited() is not None]

    def urls(self) -> dict[str, str]:
        return {service: f"http://127.0.0.1:{self.ports[service]}" for service in SERVICES}

    def token(self, *, tenant: str, subject: str, roles: list[str], ttl_seconds: int = 3600 * 8) -> str:
        return token_mint(private_pem=self.keys.private_pem, kid=self.keys.kid, tenant=tenant, subject=subject,
                          roles=roles, ttl_seconds=ttl_seconds)

    def console_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ports['console']}" if self.ports.get("console") else None

    def describe(self) -> dict:
        return {"servers": self.servers.describe(), "services": self.urls(), "console": self.console_url(), "logs": str(self.state / "logs"),
                "kid": self.keys.kid, "redis_url": self.servers.redis_url, "prefix": self.prefix,
                "processes": self.supervisor.describe() if self.supervisor else []}
