"""CPU time spent by each part of the benchmark's machine during a run, read from /proc (Linux only).

On a shared two-core machine, cycles/s moves with whatever else runs; CPU milliseconds per cycle, split by
part (web workers, relay, Postgres, load generator, broker), move only with the code. `snapshot()` before and
after a run, `per_cycle()` of the two.
"""
from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PARTS = ("web", "relay", "postgres", "loadgen", "broker", "other")


def _stat(pid: str) -> tuple[str, int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[1] is the parent pid, fields[11] and [12] user and system time in ticks
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def snapshot(*, server_pids: list[int], loadgen_pid: int | None) -> dict[str, float] | None:
    """CPU seconds used so far by each part; None where /proc is not there."""
    if not Path("/proc/stat").exists():
        return None
    stats = {pid: s for pid in os.listdir("/proc") if pid.isdigit() and (s := _stat(pid)) is not None}
    web_roots = {int(p) for p in server_pids}
    totals = dict.fromkeys(PARTS, 0.0)
    for pid, (comm, parent, seconds) in stats.items():
        if comm == "postgres":
            part = "postgres"
        elif comm == "beam.smp" or comm.startswith("redis-server"):
            part = "broker"
        elif loadgen_pid is not None and int(pid) == loadgen_pid:
            part = "loadgen"
        elif int(pid) in web_roots or parent in web_roots:
            part = "relay" if "assay_worker" in _cmdline(pid) else "web"
        else:
            part = "other"
        totals[part] += seconds
    with open("/proc/stat") as f:
        busy = f.readline().split()[1:]
    # user nice system idle iowait irq softirq steal: everything but idle and iowait was spent
    totals["machine"] = sum(int(v) for i, v in enumerate(busy[:8]) if i not in (3, 4)) / _TICK
    return totals


def per_cycle(before: dict | None, after: dict | None, cycles: int) -> dict[str, float] | None:
    """CPU milliseconds per cycle of each part between two snapshots (processes that ended count as 0)."""
    if before is None or after is None or cycles == 0:
        return None
    return {part: max(0.0, after[part] - before.get(part, 0.0)) * 1000 / cycles for part in after}
