"""Run a service as OS processes: ASGI server, worker (relay + consumer), Celery worker with beat.

Each process is a `Unit`: a name, a command, an environment and a log file. A unit is started as the
leader of a process group of its own (`start_new_session`), and stopping it signals the whole group, so
the processes it forked (Celery's embedded beat, uvicorn's worker processes) end with it.
`ServiceProcess` starts one service's units without supervising them (tests, benchmarks); the local
stack supervises them (`assay_shared.stack.supervise.Supervisor`).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

from assay_shared.db.bootstrap import database_bootstrap, database_drop, url_with

KINDS = ("web", "worker", "celery", "deliver")
# Set in the environment of every process of a local stack (value: its state folder), so that the
# processes of a stack whose supervisor died can be found and ended (see `stack_orphans`).
STACK_MARKER = "ASSAY_STACK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now. SO_REUSEADDR as uvicorn sets it, so connections
    of a previous server still closing (TIME_WAIT) do not count as busy; a listening socket does."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_holder(port: int) -> str | None:
    """'pid N (command line)' of a process listening on `port`, when the system tells."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            try:
                command = " ".join(" ".join(psutil.Process(conn.pid).cmdline()).split())[:120]
            except psutil.Error:
                command = "?"
            return f"pid {conn.pid} ({command})"
    return None


class PortBusy(RuntimeError):
    """Ports still in use after waiting for them; the message names each, its holder and its setting."""

    def __init__(self, ports: dict[int, str | None], *, waited: float, names: dict[int, str] | None = None) -> None:
        self.ports = ports
        names = names or {}
        held = "; ".join(f"port {port}{f' ({names[port]})' if port in names else ''} is in use by "
                         f"{holder or 'an unknown process'}" for port, holder in ports.items())
        hint = f"; free it or set {', '.join(names[p] for p in ports if p in names)}" if names else ""
        super().__init__(f"{held} (waited {waited:g}s for it to free; not moving to another port){hint}")


def ports_wait_free(ports: list[int], *, timeout: float, names: dict[int, str] | None = None) -> None:
    """Return once every port is free; after `timeout` raise PortBusy naming each busy port and its holder."""
    deadline = time.monotonic() + timeout
    while True:
        busy = [port for port in ports if not port_free(port)]
        if not busy:
            return
        if time.monotonic() >= deadline:
            raise PortBusy({port: port_holder(port) for port in busy}, waited=timeout, names=names)
        time.sleep(0.2)


def exit_describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        pass
    import psutil

    members = []
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc.pid)
        except OSError:
            continue
    return members


def group_signal(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def groups_terminate(groups: dict[int, subprocess.Popen | None], *, timeout: float = 10.0,
                     kill_timeout: float = 5.0) -> list[int]:
    """SIGTERM every process group, wait until none has a live member (reaping the leaders that are our
    children), SIGKILL the groups still alive after `timeout`. Returns the groups that survived even that."""
    def left() -> list[int]:
        for proc in groups.values():
            if proc is not None:
                proc.poll()
        return [pgid for pgid in groups if group_members(pgid)]

    for pgid in groups:
        group_signal(pgid, signal.SIGTERM)
    for sig, wait in ((signal.SIGKILL, timeout), (None, kill_timeout)):
        deadline = time.monotonic() + wait
        alive = left()
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = left()
        if not alive or sig is None:
            return alive
        for pgid in alive:
            group_signal(pgid, sig)
    return left()


def stack_groups(*, marker: str) -> dict[int, list[int]]:
    """Process groups with a live process of the stack `marker` ({pgid: [pid, ...]}), found by the
    STACK_MARKER in their environment (also the processes they forked, which inherit it), never the
    caller's own group."""
    import psutil

    own = os.getpgrp()
    groups: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
            continue
        try:
            if proc.environ().get(STACK_MARKER) != marker:
                continue
            pgid = os.getpgid(proc.pid)
        except (psutil.Error, OSError):
            continue
        if pgid != own:
            groups.setdefault(pgid, []).append(proc.pid)
    return groups


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Unit:
    """One supervised process: what to run and where it logs, and (while it runs) its incarnation.

    The process is the leader of its own process group (pgid == pid); `state` and the counters are kept by
    the supervisor: stopped, starting, up, reaping (exited, the rest of its group being ended), backoff
    (waiting to restart), port-wait (web: waiting for its port), stopping.
    """

    name: str
    service: str
    kind: str
    argv: list[str]
    env: dict[str, str]
    log: Path | None = None
    port: int | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)
    state: str = "stopped"
    spawns: int = 0
    failures: int = 0
    started_at: float | None = None
    started_mono: float = 0.0
    last_exit: str | None = None
    last_error: str | None = None
    due: float = 0.0  # backoff: when to restart; port-wait: when to give up waiting
    kill_at: float = 0.0  # reaping: when to SIGKILL what is left of the process group

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def restarts(self) -> int:
        return max(self.spawns - 1, 0)

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port is not None else None

    def spawn(self) -> None:
        env = {**os.environ, **self.env}
        out: int | object = subprocess.DEVNULL
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            out = open(self.log, "ab")  # noqa: SIM115 - the child has its own copy; ours is closed below
        try:
            self.proc = subprocess.Popen(self.argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        self.spawns += 1
        self.started_at = time.time()
        self.started_mono = time.monotonic()

    def exited(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def note(self, text: str) -> None:
        """A line in the process's own log (what the supervisor did to it)."""
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log, "a") as out:
                out.write(f"[assay supervisor {_now_iso()}] {self.name}: {text}\n")

    def log_tail(self, lines: int = 15) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def describe(self) -> dict:
        return {"name": self.name, "service": self.service, "kind": self.kind, "pid": self.pid, "pgid": self.pid,
                "state": self.state, "restarts": self.restarts,
                "up_since": (datetime.fromtimestamp(self.started_at, timezone.utc).isoformat(timespec="seconds")
                             .replace("+00:00", "Z") if self.started_at and self.state in ("starting", "up") else None),
                "last_exit": self.last_exit, "last_error": self.last_error, "port": self.port,
                "log": str(self.log) if self.log else None}


def service_units(*, service: str, env: dict[str, str], port: int, web_workers: int = 1, log_dir: Path | None = None,
                  web: bool = True, worker: bool = True, celery: bool = False,
                  schedule_dir: Path | None = None) -> list[Unit]:
    """A service's processes as units: uvicorn on `port`, `manage.py assay_worker`, and with `celery` its background
    process: Celery worker with beat, or for webhooks `manage.py deliver_webhooks`."""
    env = {**env, "DJANGO_SETTINGS_MODULE": f"assay_{service}.settings"}
    units = []

    def unit(kind: str, argv: list[str], port: int | None = None) -> Unit:
        log = log_dir / f"{service}-{kind}.log" if log_dir is not None else None
        return Unit(name=f"{service}-{kind}", service=service, kind=kind, argv=argv, env=env, log=log, port=port)

    if worker:
        units.append(unit("worker", [sys.executable, "-m", "django", "assay_worker"]))
    if celery and service == "webhooks":  # webhooks' background work is its delivery loop (ADR 0065)
        units.append(unit("deliver", [sys.executable, "-m", "django", "deliver_webhooks"]))
    elif celery:
        schedule = (schedule_dir or log_dir or Path("/tmp")) / f"{service}-celerybeat-schedule"
        units.append(unit("celery", [sys.executable, "-m", "celery", "-A", f"assay_{service}.celery", "worker",
                                     "--hostname", f"{service}-{port}@%h", "--beat", "--pool", "solo",
                                     "--loglevel", "WARNING", "--schedule", str(schedule)]))
    if web:
        units.append(unit("web", [sys.executable, "-m", "uvicorn", f"assay_{service}.asgi:application",
                                  "--host", "127.0.0.1", "--port", str(port), "--workers", str(web_workers),
                                  "--no-access-log", "--log-level", "warning"], port=port))
    return units


def units_stop(units: list[Unit], *, timeout: float = 10.0) -> list[Unit]:
    """End every unit's whole process group (SIGTERM, SIGKILL after `timeout`); the units that would not end."""
    running = {unit.pid: unit.proc for unit in units if unit.proc is not None}
    for unit in units:
        unit.state = "stopping" if unit.proc is not None else unit.state
    survivors = set(groups_terminate(running, timeout=timeout))
    for unit in units:
        if unit.proc is not None and unit.pid not in survivors:
            unit.state = "stopped"
    return [unit for unit in units if unit.pid in survivors]


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
    """One service's web server, worker and (optionally) Celery worker with beat, as separate OS processes,
    started and stopped but not restarted (for tests and benchmarks; the local stack supervises units)."""

    service: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    web_workers: int = 1
    log_dir: Path | None = None
    units: list[Unit] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def procs(self) -> list[subprocess.Popen]:
        return [unit.proc for unit in self.units if unit.proc is not None]

    def start(self, *, web: bool = True, worker: bool = True, celery: bool = False,
              timeout: float = 30.0, port_wait: float = 30.0) -> "ServiceProcess":
        started = service_units(service=self.service, env=self.env, port=self.port, web_workers=self.web_workers,
                                log_dir=self.log_dir, web=web, worker=worker, celery=celery)
        for unit in started:
            if unit.port is not None:
                ports_wait_free([unit.port], timeout=port_wait)
            unit.spawn()
            unit.state = "starting"
            self.units.append(unit)
        if web:
            self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        web = next(unit for unit in self.units if unit.kind == "web")
        while time.monotonic() < deadline:
            for unit in self.units:
                if unit.exited() is not None:
                    raise RuntimeError(f"{unit.name} process exited with {unit.proc.returncode}")
            if web.healthy():
                web.state = "up"
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.service} did not become healthy within {timeout}s")

    def stop(self) -> None:
        units_stop(self.units)
        self.units.clear()


def drop_databases(*, admin_url: str, names: list[str]) -> None:
    for name in names:
        database_drop(admin_url=admin_url, database=name)
