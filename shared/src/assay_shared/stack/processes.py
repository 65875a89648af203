"""Run a service as OS processes: ASGI server, worker (relay + consumer), Celery worker with beat."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from assay_shared.db.bootstrap import database_bootstrap, database_drop, url_with

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_migrate(*, service: str, admin_url: str, database: str, env: dict[str, str]) -> None:
    """Create the database and role, then run the service's migrations as the owner."""
    database_bootstrap(admin_url=admin_url, database=database, app_role=env.get("DB_APP_ROLE", "assay_app"))
    run_env = {**os.environ, **env, "DATABASE_URL": url_with(admin_url, database=database),
               "DJANGO_SETTINGS_MODULE": f"assay_{service}.settings"}
    done = subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], env=run_env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"migrating {service} failed:\n{done.stdout}\n{done.stderr}")


@dataclass
class ServiceProcess:
    """One service's web server, worker and (optionally) Celery worker with beat, as separate OS processes."""

    service: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    web_workers: int = 1
    procs: list[subprocess.Popen] = field(default_factory=list)
    log_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, argv: list[str]) -> None:
        env = {**os.environ, **self.env, "DJANGO_SETTINGS_MODULE": f"assay_{self.service}.settings"}
        out = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{self.service}-{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs.append(subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    def start(self, *, web: bool = True, worker: bool = True, celery: bool = False,
              timeout: float = 30.0) -> "ServiceProcess":
        if web:
            self._spawn("web", [sys.executable, "-m", "uvicorn", f"assay_{self.service}.asgi:application",
                                "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.web_workers),
                                "--no-access-log", "--log-level", "warning"])
        if worker:
            self._spawn("worker", [sys.executable, "-m", "django", "assay_worker"])
        if celery:
            schedule = (self.log_dir or Path("/tmp")) / f"{self.service}-celerybeat-schedule"
            self._spawn("celery", [sys.executable, "-m", "celery", "-A", f"assay_{self.service}.celery", "worker",
                                   "--hostname", f"{self.service}-{self.port}@%h",
                                   "--beat", "--pool", "solo", "--loglevel", "WARNING", "--schedule", str(schedule)])
        if web:
            self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{self.service} process exited with {proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.service} did not become healthy within {timeout}s")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def drop_databases(*, admin_url: str, names: list[str]) -> None:
    for name in names:
        database_drop(admin_url=admin_url, database=name)
