"""The whole system on one machine: servers, five databases, five services' processes."""
from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from assay_shared.auth.tokens import KeyPair, keypair_generate, public_keys_json, token_mint
from assay_shared.db.bootstrap import url_with
from assay_shared.stack.processes import ServiceProcess, free_port, service_migrate
from assay_shared.stack.servers import Servers

SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks")
DEFAULT_PORTS = {"assignment": 8101, "scoring": 8102, "review": 8103, "metrics": 8104, "webhooks": 8105}
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


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@dataclass
class System:
    state: Path
    servers: Servers
    keys: KeyPair
    prefix: str = "assay"
    web_workers: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def service_env(self, service: str) -> dict[str, str]:
        return {
            "DATABASE_URL": url_with(self.servers.database_admin_url, database=f"assay_{service}", user=APP_ROLE),
            "BROKER_URL": self.servers.broker_url,
            "REDIS_URL": self.servers.redis_url,
            "JWT_PUBLIC_KEYS": public_keys_json(self.keys),
            "ASSAY_BUS_PREFIX": self.prefix,
            "DB_APP_ROLE": APP_ROLE,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",
            **self.extra_env,
        }

    def migrate(self) -> None:
        for service in SERVICES:
            service_migrate(service=service, admin_url=self.servers.database_admin_url, database=f"assay_{service}",
                            env=self.service_env(service))

    def start(self, *, celery: bool = True) -> None:
        """Start every service (workers first, so their queues exist before anything is published)."""
        for service in SERVICES:
            port = DEFAULT_PORTS[service] if _port_free(DEFAULT_PORTS[service]) else free_port()
            proc = ServiceProcess(service=service, env=self.service_env(service), port=port,
                                  web_workers=self.web_workers.get(service, 1), log_dir=self.state / "logs")
            self.services[service] = proc
            proc.start(web=False, worker=True, celery=celery)
        for proc in self.services.values():
            proc.start(web=True, worker=False, celery=False, timeout=60)

    def stop(self) -> None:
        for proc in self.services.values():
            proc.stop()

    def dead(self) -> list[str]:
        """Processes that exited, as 'service: exit code' (log file names in state/logs)."""
        return [f"{name}: exit {p.returncode} ({' '.join(p.args[-3:])})" for name, proc in self.services.items()
                for p in proc.procs if p.poll() is not None]

    def urls(self) -> dict[str, str]:
        return {name: proc.url for name, proc in self.services.items()}

    def token(self, *, tenant: str, subject: str, roles: list[str], ttl_seconds: int = 3600 * 8) -> str:
        return token_mint(private_pem=self.keys.private_pem, kid=self.keys.kid, tenant=tenant, subject=subject,
                          roles=roles, ttl_seconds=ttl_seconds)

    def describe(self) -> dict:
        return {"servers": self.servers.describe(), "services": self.urls(), "logs": str(self.state / "logs"),
                "kid": self.keys.kid}
