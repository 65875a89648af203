"""CPU seconds used by each process of the system, read from /proc/<pid>/stat (Linux).

A started process counts with its descendants (uvicorn or Celery children); Postgres, RabbitMQ (beam.smp)
and Redis are found by name, every process of theirs on the machine. `machine` is all the CPU time the
machine spent (/proc/stat), so `machine` less the rest is what other work on the machine took.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
BY_NAME = {"postgres": "postgres", "beam.smp": "rabbitmq", "redis-server": "redis"}


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, user + system seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _owner(pid: int, parents: dict[int, int], roots: dict[int, str]) -> str | None:
    while pid > 1:
        if pid in roots:
            return roots[pid]
        pid = parents.get(pid, 0)
    return None


@dataclass(frozen=True)
class CpuSnapshot:
    names: tuple[str, ...]
    processes: dict[int, tuple[str, float]]  # pid → (the name it counts under, its CPU seconds so far)
    machine: float  # CPU seconds the whole machine spent so far


def cpu_snapshot(roots: dict[str, int]) -> CpuSnapshot:
    """CPU seconds so far of each process that counts under a name of `roots` (name → pid, with its descendants)
    or a server's name."""
    stats = {pid: s for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if (s := _stat(pid)) is not None}
    parents = {pid: parent for pid, (_, parent, _) in stats.items()}
    by_pid = {pid: name for name, pid in roots.items()}
    processes = {}
    for pid, (comm, _, seconds) in stats.items():
        name = BY_NAME.get(comm) or _owner(pid, parents, by_pid)
        if name is not None:
            processes[pid] = (name, seconds)
    with open("/proc/stat") as f:
        ticks = f.readline().split()[1:9]
    # user nice system idle iowait irq softirq steal: all but idle and iowait is time spent
    machine = sum(int(v) for i, v in enumerate(ticks) if i not in (3, 4)) / _TICK
    return CpuSnapshot(names=(*roots, *BY_NAME.values()), processes=processes, machine=machine)


def cpu_percent(before: CpuSnapshot, after: CpuSnapshot, seconds: float) -> dict[str, float]:
    """% of one core per name between two snapshots, summed over the processes alive at the second (one that
    started in between counts whole; one that ended in between is not seen), and for the whole machine."""
    totals = dict.fromkeys(after.names, 0.0)
    for pid, (name, used) in after.processes.items():
        earlier = before.processes.get(pid)
        totals[name] += used - (earlier[1] if earlier is not None and earlier[0] == name else 0.0)
    totals["machine"] = after.machine - before.machine
    return {name: used * 100 / seconds for name, used in totals.items()}
