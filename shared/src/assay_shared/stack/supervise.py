"""`assay up` / `down` / `status`: the local stack as a background supervisor process."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from assay_shared.stack.servers import servers_start
from assay_shared.stack.system import System, keys_load_or_create


def _status_path(state: Path) -> Path:
    return state / "stack.json"


def supervise(*, state: Path) -> int:
    """Foreground: bring everything up, write stack.json, wait for SIGTERM, tear down."""
    status = _status_path(state)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    servers = servers_start(state=state)
    system = System(state=state, servers=servers, keys=keys_load_or_create(state))
    try:
        system.migrate()
        system.start()
        status.write_text(json.dumps({"status": "ready", "pid": os.getpid(), **system.describe()}, indent=2))
        while not stop.wait(1.0):
            for name, proc in system.services.items():
                dead = [p for p in proc.procs if p.poll() is not None]
                if dead:
                    print(f"{name}: a process exited with {dead[0].returncode}", file=sys.stderr, flush=True)
                    stop.set()
        return 0
    except Exception as exc:  # noqa: BLE001 - reported through stack.json
        status.write_text(json.dumps({"status": "failed", "error": f"{type(exc).__name__}: {exc}"}))
        raise
    finally:
        system.stop()
        servers.stop()
        if status.exists() and json.loads(status.read_text()).get("status") == "ready":
            status.unlink()


def up(*, state: Path, timeout: float = 240.0) -> int:
    state.mkdir(parents=True, exist_ok=True)
    status = _status_path(state)
    if status.exists():
        current = json.loads(status.read_text())
        if current.get("status") == "ready" and _alive(current.get("pid")):
            _print_status(current, header="already running")
            return 0
        status.unlink()
    log = open(state / "supervisor.log", "ab")  # noqa: SIM115 - handed to the child
    child = subprocess.Popen([sys.executable, "-m", "assay_shared.cli", "--state", str(state), "supervise"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None and not status.exists():
            print(f"assay up failed: the supervisor exited with {child.returncode} (log: {state / 'supervisor.log'})",
                  file=sys.stderr)
            return 1
        if status.exists():
            current = json.loads(status.read_text())
            if current["status"] == "ready":
                _print_status(current, header="up")
                return 0
            print(f"assay up failed: {current['error']} (log: {state / 'supervisor.log'})", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"assay up timed out after {timeout:.0f}s (log: {state / 'supervisor.log'})", file=sys.stderr)
    return 1


def down(*, state: Path, timeout: float = 60.0) -> int:
    status = _status_path(state)
    if not status.exists():
        print("nothing is running")
        return 0
    pid = json.loads(status.read_text()).get("pid")
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    status.unlink(missing_ok=True)
    print("down")
    return 0


def status_show(*, state: Path) -> int:
    status = _status_path(state)
    if not status.exists():
        print("not running")
        return 1
    _print_status(json.loads(status.read_text()), header="status")
    return 0


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _print_status(current: dict, *, header: str) -> None:
    print(f"assay {header}")
    for line in current.get("servers", []):
        print(f"  {line}")
    for name, url in current.get("services", {}).items():
        print(f"  {name:<11}{url}  (OpenAPI: {url}/api/docs)")
    print(f"  logs       {current.get('logs')}")
