"""Bring the system up, step the offered rate up while every service keeps up, check by id, tear down."""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from assay_shared.bench.system import __doc__ as DOC
from assay_shared.bench.system.chaos import MIN_DURATION, Chaos
from assay_shared.bench.system.cpu import cpu_percent, cpu_snapshot
from assay_shared.bench.system.load import Crowd, Offers
from assay_shared.bench.system.receiver import Receiver
from assay_shared.bench.system.report import APPLIED, Step, check_lines, cpu_lines, step_lines, summary_lines
from assay_shared.bench.system.scenario import OVERLAP, TENANT, Scenario, scenario_create
from assay_shared.bench.system.stack import BenchSystem, log_errors, servers_env
from assay_shared.bench.system.statistics import StatisticsKeeper, autovacuum_on
from assay_shared.bench.system.track import TRACKED, Ledger, Probe
from assay_shared.bench.system.verify import invariants_check
from assay_shared.stack.servers import servers_start
from assay_shared.stack.system import SERVICES

WARM_UP_SECONDS = 5.0


def _say(text: str) -> None:
    print(text, flush=True)


def _appender(path: Path) -> Callable[[str], None]:
    def append(line: str) -> None:
        with path.open("a") as out:
            out.write(line + "\n")

    return append


def args_parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m assay_shared.bench.system", description=DOC,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="25,50,100,200,400,800",
                        help="offered submissions/s, one step each, comma-separated (default %(default)s)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per step (default %(default)s)")
    parser.add_argument("--drain-timeout", type=float, default=60.0,
                        help="seconds to wait after a step for every service to catch up (default %(default)s)")
    parser.add_argument("--annotators", type=int, default=200,
                        help="annotator identities; at most one offer each in flight (default %(default)s)")
    parser.add_argument("--lag-bound", type=float, default=2.0,
                        help="a rate is sustained while every service's lag stays under this, in s (default %(default)s)")
    parser.add_argument("--analyze-every", type=float, default=10.0,
                        help="when the server runs with autovacuum off, look at the run's databases every so many "
                             "seconds and VACUUM / ANALYZE the tables autovacuum's rules find due (0: never; "
                             "default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and bus queues afterwards")
    parser.add_argument("--chaos", action="store_true",
                        help="after the steps, one step with kill -9 of workers and a 20 s broker cut (chaos.py)")
    parser.add_argument("--chaos-rate", type=float, default=100.0,
                        help="submissions/s of the chaos step (default %(default)s)")
    parser.add_argument("--chaos-duration", type=float, default=90.0,
                        help=f"seconds of the chaos step, at least {MIN_DURATION:g} (default %(default)s)")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",")]
    if args.chaos and args.chaos_duration < MIN_DURATION:
        parser.error(f"--chaos-duration must be at least {MIN_DURATION:g} s (kills, then the broker cut, then load)")
    return args


def _mean_ms(before: tuple[float, float], after: tuple[float, float]) -> float:
    requests = after[1] - before[1]
    return 1000 * (after[0] - before[0]) / requests if requests else 0.0


def tasks_needed(args: argparse.Namespace) -> int:
    """Regular tasks for every submission the run can offer (gold answers need none), with a margin."""
    offers = WARM_UP_SECONDS * min(10.0, args.rates[0]) + sum(args.rates) * args.duration
    offers += args.chaos_rate * args.chaos_duration if args.chaos else 0
    return math.ceil(offers / OVERLAP * 1.1) + 100


class Bench:
    def __init__(self, *, system: BenchSystem, receiver: Receiver, scenario: Scenario,
                 args: argparse.Namespace, chaos: Chaos | None = None) -> None:
        self.args = args
        self.system, self.receiver, self.chaos = system, receiver, chaos
        self.ledger = Ledger()
        self.probe = Probe(system=system, receiver=receiver, ledger=self.ledger)
        tokens = [system.token(tenant=TENANT, subject=f"ann-{i:03d}", roles=["annotator"])
                  for i in range(args.annotators)]
        self.crowd = Crowd(base_url=system.urls()["assignment"], project_id=scenario.project_id, tokens=tokens,
                           on_accept=self.ledger.accept)

    def roots(self) -> dict[str, int]:
        """The processes CPU is counted for (with --chaos the supervisor replaces some during a step)."""
        return {**self.system.pids(), "receiver": self.receiver.proc.pid, "bench": os.getpid()}

    async def run(self) -> list[Step]:
        await self.probe.open()
        try:
            await self._warm_up()
            steps = []
            for rate in self.args.rates:
                steps.append(await self._step(rate))
                for line in step_lines(steps[-1]):
                    _say(line)
                if not steps[-1].sustained(self.args.lag_bound):
                    _say(f"  not sustained (highest lag {steps[-1].lag_max():.1f} s): no higher rate")
                    break
            if self.chaos is not None:
                chaos_step = await self.chaos.run(self._step)
                for line in [*self.chaos.lines(), *step_lines(chaos_step)]:
                    _say(line)
            await self._settle()
            return steps
        finally:
            await self.crowd.close()
            await self.probe.close()

    async def _warm_up(self) -> None:
        """A few submissions first, so the first step does not pay for the services' first requests."""
        rate, offers = min(10.0, self.args.rates[0]), Offers()
        await self.crowd.offer(rate=rate, duration=WARM_UP_SECONDS, offers=offers)
        await self.crowd.settle()
        drained = await self._drain(since=time.monotonic())
        _say(f"warm-up: {offers.accepted} submissions at {rate:g}/s, "
             + (f"applied everywhere {drained:.1f} s later" if drained is not None else "NOT applied everywhere"))

    async def _step(self, rate: float, *, duration: float | None = None, drain_timeout: float | None = None) -> Step:
        duration = duration or self.args.duration
        offers, lags = Offers(), {name: [] for name in TRACKED}
        await self.probe.refresh()
        before, served_before = await self.probe.counts(), await self.probe.served()
        cpu_before = cpu_snapshot(self.roots())
        started, stop = time.monotonic(), asyncio.Event()
        sampler = asyncio.create_task(self._sample(stop, lags))
        await self.crowd.offer(rate=rate, duration=duration, offers=offers)
        ended = time.monotonic()
        cpu_after = cpu_snapshot(self.roots())
        stop.set()
        await sampler
        await self.probe.refresh()
        after = await self.probe.counts()
        await self.crowd.settle()
        served = await self.probe.served()
        elapsed = ended - started
        return Step(rate=rate, duration=duration, offers=offers, lags=lags,
                    applied={name: (after[name] - before[name]) / elapsed for name in APPLIED},
                    drain=await self._drain(since=ended, timeout=drain_timeout),
                    cpu=cpu_percent(cpu_before, cpu_after, elapsed),
                    served_ms={kind: _mean_ms(served_before[kind], served[kind]) for kind in served})

    async def _sample(self, stop: asyncio.Event, lags: dict[str, list[float]]) -> None:
        """Each second: what every service has applied, and its lag."""
        while not stop.is_set():
            tick = time.monotonic()
            await self.probe.refresh()
            now = time.monotonic()
            for name in TRACKED:
                lags[name].append(self.ledger.lag(name, now))
            if self.chaos is not None:
                self.chaos.sample(now, {name: samples[-1] for name, samples in lags.items()})
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, tick + 1.0 - now))
            except TimeoutError:
                pass

    async def _drain(self, *, since: float, timeout: float | None = None) -> float | None:
        """Seconds from `since` until every service applied every accepted submission; None after the timeout."""
        timeout = timeout or self.args.drain_timeout
        while True:
            await self.probe.refresh()
            now = time.monotonic()
            if self.chaos is not None:
                self.chaos.drain_sample(now - since, {name: len(p) for name, p in self.ledger.pending.items()})
            if self.ledger.backlog() == 0:
                return now - since
            if now > since + timeout:
                return None
            await asyncio.sleep(0.2)

    async def _settle(self) -> None:
        """Before the check: wait for what is still pending, for as long as it keeps moving."""
        started = moved = time.monotonic()
        backlog = self.ledger.backlog()
        while backlog and time.monotonic() - moved < self.args.drain_timeout:
            await asyncio.sleep(0.5)
            await self.probe.refresh()
            if self.ledger.backlog() < backlog:
                moved = time.monotonic()
            backlog = self.ledger.backlog()
        if time.monotonic() - started > 1.0:
            pending = {name: len(p) for name, p in self.ledger.pending.items() if p}
            _say(f"final wait {time.monotonic() - started:.0f} s; still pending: {pending or 'nothing'}")


def _report_end(system: BenchSystem, steps: list[Step], args: argparse.Namespace) -> None:
    _say("\nsummary (per second during each step; lags sampled each second)")
    for line in summary_lines(steps, args.lag_bound):
        _say(line)
    _say("\nCPU % of one core during each step (a service: all its processes)")
    for line in cpu_lines(steps):
        _say(line)
    _say(f"\ndead letters: {system.dead_letters()}")
    dead = system.dead()
    _say(f"exited processes: {'; '.join(dead) if dead else 'none'}")
    errors = log_errors(system.state / "logs")
    _say(f"log lines with errors ({system.state / 'logs'}): {'none' if not errors else ''}")
    for name, (count, first) in errors.items():
        _say(f"  {name}: {count}, first: {first}")


def main(argv: list[str] | None = None) -> int:
    args = args_parse(argv)
    run_id = uuid.uuid4().hex[:8]
    state = Path(".state") / "bench-system" / run_id
    state.mkdir(parents=True)
    servers = servers_start(state=state, env=servers_env())
    chaos = (Chaos(broker_url=servers.broker_url, rate=args.chaos_rate, duration=args.chaos_duration)
             if args.chaos else None)
    system = BenchSystem.for_run(run_id=run_id, state=state, servers=servers,
                                 extra_env={"BROKER_URL": chaos.broker_url} if chaos is not None else {})
    _say(f"bench-system {run_id}: databases bench_system_{run_id}_*, bus prefix {system.prefix}, state {state}")
    for line in servers.describe():
        _say(f"  {line}")
    receiver = Receiver(log_dir=state / "logs")
    keeper = None
    try:
        system.migrate()
        if args.analyze_every > 0 and not autovacuum_on(admin_url=servers.database_admin_url):
            keeper = StatisticsKeeper(urls=[system.admin_url(s) for s in SERVICES], every=args.analyze_every).start()
            _say(f"  postgres runs with autovacuum off: every {args.analyze_every:g} s the bench vacuums and analyzes the "
                 "tables autovacuum's rules find due (--analyze-every 0: never)")
        system.start(celery=True, log=_appender(state / "supervisor.log"))
        if chaos is not None:
            chaos.supervise(system)
            _say(f"  chaos: the supervisor restarts what exits; services' broker through 127.0.0.1:{chaos.proxy.port}")
        pids = {**system.pids(), "receiver": receiver.proc.pid}
        (state / "pids.json").write_text(json.dumps(pids, indent=2))
        _say("  pids: " + ", ".join(f"{name} {pid}" for name, pid in pids.items()))
        scenario = scenario_create(system=system, receiver_url=receiver.url, tasks=tasks_needed(args), say=_say)
        bench = Bench(system=system, receiver=receiver, scenario=scenario, args=args, chaos=chaos)
        steps = asyncio.run(bench.run())
        _report_end(system, steps, args)
        if keeper is not None:
            _say(f"autovacuum's work done by the bench: {keeper.analyzed} tables analyzed, {keeper.vacuumed} vacuumed "
                 f"in {keeper.rounds} rounds")
        checks = invariants_check(system=system, ledger=bench.ledger, endpoint_id=scenario.endpoint_id)
    finally:
        if keeper is not None:
            keeper.stop()
        receiver.stop()
        if chaos is not None:
            chaos.unsupervise()
        system.teardown(keep=args.keep)
        if chaos is not None:
            chaos.proxy.close()
        servers.stop()
    passed = all(c.ok for c in checks)
    _say(f"\ninvariants by submission id: {'PASS' if passed else 'FAIL'}")
    for line in check_lines(checks):
        _say(line)
    best = max((s.rate for s in steps if s.sustained(args.lag_bound)), default=0)
    _say(f"highest sustained rate: {best:g} submissions/s (every service's lag < {args.lag_bound:g} s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
