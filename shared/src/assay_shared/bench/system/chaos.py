"""`--chaos`: kill -9 of workers and a broker outage under load; every accepted submission is still applied once.

With --chaos the services reach the broker through a cuttable TCP proxy (`TcpProxy`; the bench's own broker
admin and cleanup use the real URL), and the supervisor's restart loop (`Supervisor.run`, as `assay up` runs it)
runs in a thread. After the rate steps comes one chaos step: load at --chaos-rate for --chaos-duration while,
KILL_EVERY s apart from KILL_AT, the leader of each victim's process group gets SIGKILL (as `kill -9 <pid>`
would), and then the proxy is cut for CUT_SECONDS (open connections dropped, new ones refused) and restored.
Hand-outs and submissions go to assignment over HTTP, which needs no broker (its outbox holds the events).
The step then drains for up to DRAIN_TIMEOUT s, and the invariant check by id covers every submission of the run.
"""
from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from assay_shared.bench.system.report import Step, quantile
from assay_shared.bench.system.stack import BenchSystem
from assay_shared.bench.system.track import TRACKED
from assay_shared.stack.processes import Unit
from assay_shared.testing.proxy import TcpProxy

VICTIMS = ("scoring-worker", "review-worker", "metrics-worker", "webhooks-worker", "assignment-worker",
           "webhooks-deliver", "assignment-celery")
KILL_AT, KILL_EVERY = 5.0, 3.0  # s into the step: the first kill, then one every KILL_EVERY s
CUT_AT = KILL_AT + KILL_EVERY * len(VICTIMS) + 4.0  # 30 s: after the last victim had time to come back
CUT_SECONDS = 20.0
MIN_DURATION = CUT_AT + CUT_SECONDS + 5.0  # load goes on for a while after the broker is back
DRAIN_TIMEOUT = 180.0
DEFAULT_PORTS = {"amqp": 5672, "redis": 6379}


@dataclass
class Kill:
    name: str
    pid: int
    at: float  # s into the step
    new_pid: int | None = None
    back_after: float | None = None  # s from the kill until the supervisor had the new process up


class Chaos:
    """The broker proxy, the supervisor's thread, and what the chaos step did and saw."""

    def __init__(self, *, broker_url: str, rate: float, duration: float) -> None:
        real = urlsplit(broker_url)
        port = real.port or DEFAULT_PORTS.get(real.scheme.split("+")[0], 5672)
        self.proxy = TcpProxy(target_host=real.hostname or "127.0.0.1", target_port=port)
        host = real.netloc.rsplit("@", 1)[-1]
        netloc = real.netloc[:len(real.netloc) - len(host)] + f"127.0.0.1:{self.proxy.port}"
        self.broker_url = real._replace(netloc=netloc).geturl()  # what the services use
        self.target = f"{real.hostname}:{port}"
        self.rate, self.duration = rate, duration
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.system: BenchSystem | None = None
        self.kills: list[Kill] = []
        self.cut: tuple[float, float] | None = None  # s into the step
        self.step_result: Step | None = None
        self.started: float | None = None  # monotonic, while the chaos step runs
        # service → highest lag while the victims were killed (before the cut), and from the cut on
        self.lag_kills = dict.fromkeys(TRACKED, 0.0)
        self.lag_cut = dict.fromkeys(TRACKED, 0.0)
        self.drained: dict[str, float] = {}  # service → s from the end of the step until it had applied everything

    def supervise(self, system: BenchSystem) -> None:
        """Run the supervisor's restart loop in a thread until `unsupervise`."""
        self.system = system
        self.thread = threading.Thread(target=system.supervisor.run, kwargs={"stop": self.stop},
                                       name="supervisor", daemon=True)
        self.thread.start()

    def unsupervise(self) -> None:
        """End the restart loop (before the system is stopped, so nothing is restarted while it stops)."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    def _unit(self, name: str) -> Unit:
        return next(unit for unit in self.system.supervisor.units if unit.name == name)

    async def run(self, step: Callable[..., Awaitable[Step]]) -> Step:
        """The chaos step: `step(rate, duration=, drain_timeout=)` offers the load and measures, alongside the
        kills and the cut."""
        self.started = time.monotonic()
        try:
            self.step_result, _ = await asyncio.gather(
                step(self.rate, duration=self.duration, drain_timeout=DRAIN_TIMEOUT), self._schedule(self.started))
        finally:
            self.started = None
        return self.step_result

    def sample(self, now: float, lags: dict[str, float]) -> None:
        """The bench's lag samples (each second of a step); during the chaos step, the highest per phase."""
        if self.started is None:
            return
        highest = self.lag_kills if now - self.started < CUT_AT else self.lag_cut
        for name, lag in lags.items():
            highest[name] = max(highest[name], lag)

    def drain_sample(self, after: float, pending: dict[str, int]) -> None:
        """The bench's reads while it drains a step (`after` s from the step's end): when each service caught up."""
        if self.started is None:
            return
        for name, count in pending.items():
            if count == 0:
                self.drained.setdefault(name, after)

    async def _schedule(self, started: float) -> None:
        async def at(offset: float) -> None:
            await asyncio.sleep(max(0.0, started + offset - time.monotonic()))

        watch = asyncio.create_task(self._watch(started))
        for i, name in enumerate(VICTIMS):
            await at(KILL_AT + i * KILL_EVERY)
            pid = self._unit(name).pid
            os.kill(pid, signal.SIGKILL)
            self.kills.append(Kill(name=name, pid=pid, at=time.monotonic() - started))
        await at(CUT_AT)
        self.proxy.cut()
        cut_at = time.monotonic() - started
        try:
            await at(CUT_AT + CUT_SECONDS)
        finally:
            self.proxy.restore()
        self.cut = (cut_at, time.monotonic() - started)
        await watch

    async def _watch(self, started: float) -> None:
        """Until every victim is back (or DRAIN_TIMEOUT after the last kill): its new pid, and when it was up."""
        while len(self.kills) < len(VICTIMS) or any(kill.back_after is None for kill in self.kills):
            now = time.monotonic() - started
            for kill in self.kills:
                unit = self._unit(kill.name)
                if kill.back_after is None and unit.pid != kill.pid and unit.state == "up":
                    kill.new_pid, kill.back_after = unit.pid, now - kill.at
            if self.kills and now > self.kills[-1].at + DRAIN_TIMEOUT:
                return
            await asyncio.sleep(0.1)

    def lines(self) -> list[str]:
        step = self.step_result
        lines = [f"chaos step: {self.rate:g}/s for {self.duration:g} s; services' broker through a proxy "
                 f"127.0.0.1:{self.proxy.port} → {self.target}"]
        for kill in self.kills:
            back = (f"pid {kill.new_pid} up {kill.back_after:.1f} s later" if kill.back_after is not None
                    else "NOT back up")
            lines.append(f"  {kill.at:5.1f} s  SIGKILL {kill.name:<18} pid {kill.pid:<8} → {back}")
        if self.cut is not None:
            lines.append(f"  {self.cut[0]:5.1f} s  broker cut (connections dropped, new ones refused) until "
                         f"{self.cut[1]:.1f} s ({self.cut[1] - self.cut[0]:.1f} s)")
        killed = {kill.name for kill in self.kills}
        other = [f"{unit.name} ×{unit.restarts - (unit.name in killed)} (last exit: {unit.last_exit})"
                 for unit in self.system.supervisor.units if unit.restarts > (unit.name in killed)]
        lines.append(f"  restarts besides the kills (whole run): {', '.join(other) if other else 'none'}")
        if step is not None:
            lags = "  ".join(f"{name} {quantile(step.lags[name], .99):.1f}/{max(step.lags[name], default=0):.1f}"
                             for name in TRACKED)
            lines.append(f"  accepted {step.offers.accepted / step.duration:.1f}/s ({step.offers.accepted} of "
                         f"{step.offers.due} due); lag p99/max s: {lags}")
            for phase, highest in (("kills (before the cut)", self.lag_kills), ("from the cut on", self.lag_cut)):
                lines.append(f"  lag max s, {phase}: " + "  ".join(f"{name} {highest[name]:.1f}" for name in TRACKED))
            each = "  ".join(f"{name} {self.drained[name]:.1f}" if name in self.drained else f"{name} NOT"
                             for name in TRACKED)
            lines.append((f"  drained {step.drain:.1f} s after the step" if step.drain is not None
                          else f"  NOT drained within {DRAIN_TIMEOUT:g} s after the step") + f"; each service: {each}")
        return lines
