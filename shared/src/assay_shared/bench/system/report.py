"""What one step measured, and how it is printed."""
from __future__ import annotations

from dataclasses import dataclass

from assay_shared.bench.system.load import Offers
from assay_shared.bench.system.stack import SERVICES
from assay_shared.bench.system.track import TRACKED
from assay_shared.bench.system.verify import Check

APPLIED = ("scoring", "review", "metrics", "webhooks", "receiver", "deliveries")


@dataclass
class Step:
    rate: float
    duration: float
    offers: Offers
    applied: dict[str, float]  # per second during the step: the services' rows, the receiver's receipts
    lags: dict[str, list[float]]  # seconds, sampled each second during the step
    drain: float | None  # seconds from the end of the step until every service had applied everything
    cpu: dict[str, float]  # % of one core during the step
    served_ms: dict[str, float]  # assignment's own mean time per next and per submit during the step

    def lag_max(self) -> float:
        return max((max(samples, default=0.0) for samples in self.lags.values()), default=0.0)

    def sustained(self, bound: float) -> bool:
        """Every service's lag stayed under the bound and the front door took (nearly) every offer due."""
        return self.lag_max() < bound and self.offers.accepted >= 0.95 * self.offers.due


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _drain(step: Step) -> str:
    return f"{step.drain:.1f}" if step.drain is not None else "none"


def _other(cpu: dict[str, float]) -> float:
    """CPU of processes that are not the system's, the servers' or the bench's (other work on the machine)."""
    return max(0.0, cpu["machine"] - sum(v for name, v in cpu.items() if name != "machine"))


def step_lines(step: Step) -> list[str]:
    o = step.offers
    errors = ", ".join(f"{kind} ×{n}" for kind, n in o.errors.most_common()) or "none"
    cpu = step.cpu
    per_service = " | ".join(f"{s} " + " ".join(f"{name.removeprefix(s + '-')} {used:.0f}"
                                                 for name, used in cpu.items() if name.startswith(f"{s}-"))
                             for s in SERVICES)
    return [
        (f"step {step.rate:g}/s for {step.duration:g} s: offered {o.offered / step.duration:.1f}/s, accepted "
         f"{o.accepted / step.duration:.1f}/s ({o.accepted} of {o.due} due), not offered {o.not_offered}, "
         f"no task {o.empty}, errors {errors}"),
        (f"  next + submit  p50 {quantile(o.seconds, .5):.3f} s, p99 {quantile(o.seconds, .99):.3f} s,"
         f" max {max(o.seconds, default=0):.3f} s (assignment's own mean: next {step.served_ms['next']:.1f} ms,"
         f" submit {step.served_ms['submit']:.1f} ms)"),
        "  applied/s      " + "  ".join(f"{name} {step.applied[name]:.1f}" for name in APPLIED),
        "  lag p50/p99 s  " + "  ".join(f"{name} {quantile(step.lags[name], .5):.2f}/{quantile(step.lags[name], .99):.2f}"
                                        for name in TRACKED),
        f"  drained {step.drain:.1f} s after the step" if step.drain is not None
        else "  not drained within --drain-timeout",
        f"  CPU % of one core: {per_service}",
        (f"                     postgres {cpu['postgres']:.0f} rabbitmq {cpu['rabbitmq']:.0f} redis {cpu['redis']:.0f}"
         f" receiver {cpu['receiver']:.0f} bench {cpu['bench']:.0f}; machine {cpu['machine']:.0f}, of which other"
         f" work {_other(cpu):.0f}"),
    ]


def summary_lines(steps: list[Step], bound: float) -> list[str]:
    head = (f"{'rate':>5} {'offered':>8} {'accepted':>8} | {'applied/s: scoring':>18} {'review':>7} {'metrics':>7}"
            f" {'webhooks':>8} {'receiver':>8} | {'lag p99 s: scoring':>18} {'review':>7} {'metrics':>7} {'webhooks':>8}"
            f" {'receiver':>8} | {'drain s':>7} {'lag<' + f'{bound:g}s':>6}")
    lines = [head, "-" * len(head)]
    for s in steps:
        lines.append(
            f"{s.rate:>5g} {s.offers.offered / s.duration:>8.1f} {s.offers.accepted / s.duration:>8.1f} | "
            f"{s.applied['scoring']:>18.1f} {s.applied['review']:>7.1f} {s.applied['metrics']:>7.1f} "
            f"{s.applied['webhooks']:>8.1f} {s.applied['receiver']:>8.1f} | "
            f"{quantile(s.lags['scoring'], .99):>18.2f} {quantile(s.lags['review'], .99):>7.2f} "
            f"{quantile(s.lags['metrics'], .99):>7.2f} {quantile(s.lags['webhooks'], .99):>8.2f} "
            f"{quantile(s.lags['receiver'], .99):>8.2f} | {_drain(s):>7} {'yes' if s.sustained(bound) else 'no':>6}")
    return lines


def cpu_lines(steps: list[Step]) -> list[str]:
    """CPU % of one core per service (all its processes) and server, per step."""
    names = [*SERVICES, "postgres", "rabbitmq", "redis", "receiver", "bench"]
    head = f"{'rate':>5} " + " ".join(f"{n:>10}" for n in names) + f" {'machine':>10} {'other work':>10}"
    lines = [head]
    for s in steps:
        per = {n: sum(v for k, v in s.cpu.items() if k == n or k.startswith(f"{n}-")) for n in names}
        lines.append(f"{s.rate:>5g} " + " ".join(f"{per[n]:>10.0f}" for n in names)
                     + f" {s.cpu['machine']:>10.0f} {_other(s.cpu):>10.0f}")
    return lines


def check_lines(checks: list[Check]) -> list[str]:
    lines = []
    for c in checks:
        note = f"; {c.note}" if c.note else ""
        lines.append(f"  {'PASS' if c.ok else 'FAIL'}  {c.service:<31} {c.expected - c.missing} of {c.expected}"
                     f" accepted, missing {c.missing}, duplicated {c.duplicated}, unknown to the client {c.extra}{note}")
    return lines
