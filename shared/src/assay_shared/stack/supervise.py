"""`assay up` / `down` / `status`: the local stack as a background supervisor process.

The supervisor keeps every process of the stack (a `Unit`: name, command, environment, log) running: a
process that exits is restarted on its own, after a delay that doubles with each exit in a row (ADR 0061),
while the others go on serving. A web process is restarted on its announced port only; every stop ends the
process's whole process group. State, pids and restart counts are in `<state>/stack.json`.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import redis

from assay_shared.bus.lag import lag_read
from assay_shared.config import ConfigError, load_stack_config
from assay_shared.stack.processes import (
    PortBusy,
    Unit,
    _now_iso,
    exit_describe,
    group_members,
    group_signal,
    groups_terminate,
    port_free,
    port_holder,
    ports_wait_free,
    stack_groups,
    units_stop,
)

TICK_SECONDS = 0.2
SETTLE_SECONDS = 1.0  # a worker or Celery process that has run this long counts as up


@dataclass(frozen=True)
class Backoff:
    """Delay before restarting a process that exited: `initial`, doubled for each exit in a row, at most
    `cap`; an incarnation that stayed up `stable_after` seconds starts the count again."""

    initial: float = 0.5
    cap: float = 30.0
    stable_after: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.initial * 2 ** min(failures, 32), self.cap)


class StartFailed(RuntimeError):
    """The stack could not be brought up; the message says which process and why."""


def _port_variable(unit: Unit) -> str:
    return f"ASSAY_PORT_{unit.service.upper()}"


class Supervisor:
    """Starts units and keeps them running; one loop (`tick`) with a state per unit, so a unit that waits
    (for its restart delay, its port, the end of its old process group) never holds up another."""

    def __init__(self, units: list[Unit], *, log: Callable[[str], None] | None = None, backoff: Backoff = Backoff(),
                 port_wait: float = 30.0, stop_timeout: float = 10.0) -> None:
        self.units = units
        self.backoff = backoff
        self.port_wait = port_wait
        self.stop_timeout = stop_timeout
        self._log = log or (lambda line: print(line, flush=True))
        self._strict = False

    def log(self, text: str) -> None:
        self._log(f"{_now_iso()} supervisor: {text}")

    # -- starting -----------------------------------------------------------------------------------------
    def start(self, *, timeout: float, stop: threading.Event | None = None) -> None:
        """Start every worker and Celery unit, then every web unit once its port is free; return when every
        web unit answers /healthz. While starting, an exit or a port still busy after `port_wait` raises
        StartFailed instead of restarting (the caller stops what was started)."""
        self._strict = True
        try:
            now = time.monotonic()
            for unit in self.units:
                if unit.port is None:
                    self.launch(unit)
            for unit in self.units:
                if unit.port is not None:
                    unit.state, unit.due = "port-wait", now + self.port_wait
            deadline = now + timeout
            while True:
                self.tick()
                pending = [unit.name for unit in self.units if unit.state != "up"]
                if not pending:
                    return
                if time.monotonic() > deadline:
                    raise StartFailed(f"not ready within {timeout:.0f}s: {', '.join(pending)}")
                if stop is not None and stop.is_set():
                    raise StartFailed("stopped while starting")
                time.sleep(0.1)
        finally:
            self._strict = False

    # -- supervising --------------------------------------------------------------------------------------
    def tick(self) -> bool:
        """One pass over the units; True when a state, pid or counter changed (stack.json is rewritten)."""
        changed = False
        for unit in self.units:
            before = (unit.state, unit.pid, unit.spawns)
            self._step(unit, time.monotonic())
            changed |= (unit.state, unit.pid, unit.spawns) != before
        return changed

    def run(self, *, stop: threading.Event, on_change: Callable[[], None] | None = None) -> None:
        while not stop.wait(TICK_SECONDS):
            if self.tick() and on_change is not None:
                on_change()

    def _step(self, unit: Unit, now: float) -> None:
        if unit.state in ("starting", "up"):
            code = unit.exited()
            if code is not None:
                self._exited(unit, code, now)
            elif unit.state == "starting" and self._ready(unit, now):
                unit.state = "up"
                if unit.restarts:
                    self.log(f"{unit.name} (pid {unit.pid}) is up again" + (f" on port {unit.port}" if unit.port else ""))
        if unit.state == "reaping":
            if not group_members(unit.pid):
                unit.state = "backoff"
            elif now >= unit.kill_at:
                self.log(f"{unit.name}: process group {unit.pid} did not end on SIGTERM; SIGKILL")
                group_signal(unit.pid, signal.SIGKILL)
                unit.kill_at = now + self.stop_timeout
        if unit.state == "backoff" and now >= unit.due:
            if unit.port is None:
                self.launch(unit)
            else:
                unit.state, unit.due = "port-wait", now + self.port_wait
                if not port_free(unit.port):
                    self.log(f"{unit.name}: port {unit.port} is in use by {port_holder(unit.port) or 'an unknown process'}; "
                             f"waiting up to {self.port_wait:g}s for it to free")
        if unit.state == "port-wait":
            if port_free(unit.port):
                self.launch(unit)
            elif now >= unit.due:
                self._port_still_busy(unit, now)

    def _ready(self, unit: Unit, now: float) -> bool:
        if unit.kind == "web":
            return unit.healthy()
        return now - unit.started_mono >= SETTLE_SECONDS

    def launch(self, unit: Unit) -> None:
        unit.spawn()
        unit.state, unit.last_error = "starting", None
        if unit.restarts:
            self.log(f"{unit.name} restarted: pid {unit.pid} (restart {unit.restarts})")
            unit.note(f"restarted: pid {unit.pid} (restart {unit.restarts})")
        else:
            self.log(f"{unit.name} started: pid {unit.pid}")
            unit.note(f"started: pid {unit.pid}")

    def _exited(self, unit: Unit, code: int, now: float) -> None:
        uptime = now - unit.started_mono
        unit.last_exit = exit_describe(code)
        if self._strict:
            unit.state = "reaping"
            tail = unit.log_tail()
            raise StartFailed(f"{unit.name} ended while starting ({unit.last_exit})"
                              + (f"; last lines of {unit.log}:\n{tail}" if tail else ""))
        if uptime >= self.backoff.stable_after:
            unit.failures = 0
        delay = self.backoff.delay(unit.failures)
        unit.failures += 1
        unit.state, unit.due, unit.kill_at = "reaping", now + delay, now + self.stop_timeout
        left = group_members(unit.pid)
        self.log(f"{unit.name} (pid {unit.pid}) exited: {unit.last_exit} after {uptime:.1f}s; restarting in {delay:g}s"
                 + (f"; ending the rest of its process group: pids {', '.join(map(str, left))}" if left else ""))
        unit.note(f"exited: {unit.last_exit} after {uptime:.1f}s; the supervisor restarts it in {delay:g}s")
        if left:
            group_signal(unit.pid, signal.SIGTERM)

    def _port_still_busy(self, unit: Unit, now: float) -> None:
        holder = port_holder(unit.port)
        unit.last_error = (f"port {unit.port} ({_port_variable(unit)}) is in use by {holder or 'an unknown process'} "
                           f"(waited {self.port_wait:g}s; not moving to another port)")
        if self._strict:
            raise StartFailed(f"{unit.name}: {unit.last_error}; free it or set {_port_variable(unit)}")
        delay = self.backoff.cap
        unit.state, unit.due = "backoff", now + delay
        self.log(f"{unit.name}: {unit.last_error}; trying again in {delay:g}s")
        unit.note(f"not restarted: {unit.last_error}; trying again in {delay:g}s")

    # -- stopping -----------------------------------------------------------------------------------------
    def stop(self) -> None:
        """End every unit's whole process group: SIGTERM, SIGKILL after `stop_timeout`."""
        running = [unit for unit in self.units if unit.proc is not None and unit.state != "stopped"]
        if not running:
            return
        self.log(f"stopping {len(running)} processes")
        survivors = units_stop(running, timeout=self.stop_timeout)
        for unit in running:
            if unit not in survivors:
                unit.note("stopped by the supervisor")
        if survivors:
            self.log(f"still alive after SIGKILL: {', '.join(unit.name for unit in survivors)}")

    def describe(self) -> list[dict]:
        return [unit.describe() for unit in self.units]


# -- stack.json ---------------------------------------------------------------------------------------------
def _status_path(state: Path) -> Path:
    return state / "stack.json"


def _status_read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _status_write(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def stack_reap(*, state: Path, previous: dict | None, say: Callable[[str], None]) -> int:
    """End the processes of a stack in `state` whose supervisor is gone (it crashed or was killed): every
    process group recorded in the previous stack.json, and any other, that holds a process of this stack
    (marked in its environment, so a recorded group number reused since by someone else is left alone)."""
    groups = stack_groups(marker=str(state))
    if not groups:
        return 0
    recorded = {entry.get("pgid") for entry in (previous or {}).get("processes", [])}
    for pgid, pids in sorted(groups.items()):
        where = "recorded in stack.json" if pgid in recorded else "not recorded"
        say(f"ending process group {pgid} ({where}; pids {', '.join(map(str, pids))}) left by a stack whose "
            f"supervisor is gone")
    groups_terminate({pgid: None for pgid in groups})
    return len(groups)


def supervise(*, state: Path) -> int:
    """Foreground: bring everything up, write stack.json, keep every process running until SIGTERM, tear down."""
    from assay_shared.stack.servers import servers_start
    from assay_shared.stack.system import DEFAULT_PORTS, System, keys_load_or_create

    status = _status_path(state)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def say(text: str) -> None:
        print(f"{_now_iso()} supervisor: {text}", flush=True)

    previous = _status_read(status)
    if previous and previous.get("pid") != os.getpid() and _alive(previous.get("pid")):
        say(f"another supervisor (pid {previous['pid']}) runs this stack; not starting")
        return 1
    started_at = _now_iso()
    _status_write(status, {"status": "starting", "pid": os.getpid(), "started_at": started_at})
    stack_reap(state=state, previous=previous, say=say)
    servers = None
    system = None

    def write_ready() -> None:
        _status_write(status, {"status": "ready", "pid": os.getpid(), "started_at": started_at, **system.describe()})

    try:
        cfg = load_stack_config(default_ports=DEFAULT_PORTS)
        ports_wait_free(list(cfg.ports.values()), timeout=cfg.port_wait_seconds,
                        names={port: f"ASSAY_PORT_{service.upper()}" for service, port in cfg.ports.items()})
        servers = servers_start(state=state)
        system = System(state=state, servers=servers, keys=keys_load_or_create(state), prefix=cfg.bus_prefix,
                        ports=cfg.ports, database_prefix=cfg.database_prefix, port_wait=cfg.port_wait_seconds)
        system.migrate()
        if stop.is_set():
            raise StartFailed("stopped while starting")
        system.start(stop=stop)
        write_ready()
        say("ready")
        system.supervisor.run(stop=stop, on_change=write_ready)
        say("SIGTERM: tearing down")
        return 0
    except (ConfigError, PortBusy, StartFailed) as exc:
        say(f"failed: {exc}")
        _status_write(status, {"status": "failed", "pid": os.getpid(), "error": str(exc)})
        return 1
    except Exception as exc:  # noqa: BLE001 - reported through stack.json, then raised into the log
        _status_write(status, {"status": "failed", "pid": os.getpid(), "error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        if system is not None:
            system.stop()
        if servers is not None:
            servers.stop()
        current = _status_read(status)
        if current is not None and current.get("status") != "failed":
            status.unlink(missing_ok=True)


# -- the commands ---------------------------------------------------------------------------------------------
def up(*, state: Path, timeout: float = 240.0) -> int:
    state.mkdir(parents=True, exist_ok=True)
    status = _status_path(state)
    current = _status_read(status)
    if current is not None and _alive(current.get("pid")):
        if current.get("status") == "ready":
            _print_status(current, header="already running")
            _print_console(current)
            return 0
        print(f"assay up: a supervisor (pid {current['pid']}) is {current.get('status')}; see `assay status` "
              f"and {state / 'supervisor.log'}", file=sys.stderr)
        return 1
    if stack_reap(state=state, previous=current, say=lambda text: print(f"assay up: {text}")):
        print("assay up: ended the processes of the previous stack")
    status.unlink(missing_ok=True)
    log = open(state / "supervisor.log", "ab")  # noqa: SIM115 - handed to the child
    child = subprocess.Popen([sys.executable, "-m", "assay_shared.cli", "--state", str(state), "supervise"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = _status_read(status)
        phase = (current or {}).get("status")
        if phase == "ready":
            _print_status(current, header="up")
            _print_console(current)
            return 0
        if phase == "failed":
            print(f"assay up failed: {current['error']} (log: {state / 'supervisor.log'})", file=sys.stderr)
            return 1
        if child.poll() is not None:
            print(f"assay up failed: the supervisor exited with {child.returncode} (log: {state / 'supervisor.log'})",
                  file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"assay up timed out after {timeout:.0f}s (log: {state / 'supervisor.log'}); `assay down` stops it",
          file=sys.stderr)
    return 1


def down(*, state: Path, timeout: float = 60.0) -> int:
    """Stop the supervisor (which ends every process group it started), then end whatever of this stack is
    still alive: a supervisor that was killed leaves its processes behind."""
    status = _status_path(state)
    current = _status_read(status)
    pid = (current or {}).get("pid")
    stopped = False
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            print(f"assay down: the supervisor (pid {pid}) did not stop within {timeout:.0f}s; SIGKILL", file=sys.stderr)
            os.kill(pid, signal.SIGKILL)
        stopped = True
    reaped = stack_reap(state=state, previous=current, say=lambda text: print(f"assay down: {text}"))
    status.unlink(missing_ok=True)
    print("down" if stopped or reaped else "nothing is running")
    return 0


def status_show(*, state: Path) -> int:
    current = _status_read(_status_path(state))
    if current is None:
        print("not running")
        return 1
    if not _alive(current.get("pid")):
        print(f"not running: the supervisor (pid {current.get('pid')}) is gone; `assay down` ends what it left")
        return 1
    if current.get("status") != "ready":
        print(f"assay {current.get('status')}: {current.get('error', 'see ' + str(state / 'supervisor.log'))}")
        return 1
    _print_status(current, header="status")
    return 0


def _alive(pid: int | None) -> bool:
    """Whether `pid` runs (a zombie, exited but not yet reaped by its parent, does not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# -- `assay status` -----------------------------------------------------------------------------------------------
def _print_console(current: dict) -> None:
    """The console's URL and a fresh one-time sign-in link for each demo person (each link works once)."""
    from assay_shared.stack.console import signin_links

    if not current.get("console"):
        return
    print(f"\n  console    {current['console']}  — one-time sign-in links (tenant demo-vendor):")
    try:
        for line in signin_links(redis_url=current["redis_url"], prefix=current.get("prefix", "assay"),
                                 console_url=current["console"]):
            print(f"    {line}")
    except redis.RedisError as exc:
        print(f"    (no links: Redis does not answer: {exc})")


def _since(stamp: str | None) -> str:
    if not stamp:
        return "-"
    then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    seconds = int((datetime.now(timezone.utc) - then).total_seconds())
    age = f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"
    return f"{then.astimezone().strftime('%H:%M:%S')} ({age} ago)"


# A table of one row per service and one of one row per process; a column is (header, value of a row).
# Service rows are built by _service_rows (a new per-service figure: add it to the row there, and a column here).
SERVICE_COLUMNS: list[tuple[str, Callable[[dict], str]]] = [
    ("service", lambda row: row["service"]),
    ("url", lambda row: row["url"]),
    ("OpenAPI", lambda row: f"{row['url']}/api/docs"),
    ("processes", lambda row: f"{sum(p['state'] == 'up' for p in row['processes'])}/{len(row['processes'])} up"),
    ("lag", lambda row: "-" if row.get("lag") is None else f"{row['lag'].seconds:.1f} s"),
    ("queued", lambda row: "-" if row.get("lag") is None else str(row["lag"].depth)),
]
PROCESS_COLUMNS: list[tuple[str, Callable[[dict], str]]] = [
    ("process", lambda p: p["name"]),
    ("kind", lambda p: p["kind"]),
    ("pid", lambda p: str(p.get("pid") or "-")),
    ("state", lambda p: p["state"]),
    ("restarts", lambda p: str(p["restarts"])),
    ("up since", lambda p: _since(p.get("up_since"))),
    ("last exit", lambda p: p.get("last_exit") or "-"),
]


def _service_rows(current: dict) -> list[dict]:
    processes = current.get("processes", [])
    lags = _lags(current)
    return [{"service": name, "url": url, "processes": [p for p in processes if p["service"] == name],
             "lag": lags.get(name)} for name, url in current.get("services", {}).items()]


def _lags(current: dict) -> dict:
    """Each service's consumer lag as its workers report it (ADR 0059); {} when Redis cannot be read."""
    if not current.get("redis_url"):
        return {}
    client = redis.Redis.from_url(current["redis_url"], socket_timeout=2, socket_connect_timeout=2)
    try:
        return lag_read(client=client, prefix=current.get("prefix", "assay"), services=list(current["services"]))
    except redis.RedisError:
        return {}
    finally:
        client.close()


def _table(rows: list[dict], columns: list[tuple[str, Callable[[dict], str]]]) -> list[str]:
    cells = [[header for header, _ in columns]] + [[value(row) for _, value in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]


def _print_status(current: dict, *, header: str) -> None:
    print(f"assay {header}")
    for line in current.get("servers", []):
        print(f"  {line}")
    print()
    for line in _table(_service_rows(current), SERVICE_COLUMNS):
        print(f"  {line}")
    if current.get("processes"):
        print()
        for line in _table(current["processes"], PROCESS_COLUMNS):
            print(f"  {line}")
        for process in current["processes"]:
            if process.get("last_error"):
                print(f"  {process['name']}: {process['last_error']}")
    print(f"\n  logs       {current.get('logs')}  (supervisor: {Path(current.get('logs', '.')).parent / 'supervisor.log'})")
