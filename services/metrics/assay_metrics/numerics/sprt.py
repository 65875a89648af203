"""Wald's sequential probability ratio test for a qualification exam (plain numpy/scipy, never Django).

H0: the annotator's accuracy is `p0` (rejectable); H1: it is `p1` (acceptable), p0 < p1. After each gold
answer with score s in [0, 1] (1 right, 0 wrong; partial credit counts as a fraction of a right answer) the
log-likelihood ratio grows by s·ln(p1/p0) + (1−s)·ln((1−p1)/(1−p0)). Wald's boundaries: pass at
ln((1−β)/α) or above, fail at ln(β/(1−α)) or below, else continue. α is the risk of passing someone at p0,
β the risk of failing someone at p1. The test is truncated at `max_count` answers: there it takes the
nearer boundary, so nobody waits forever; `max_count` is refused below `required_max_count`: the shortest truncation whose exact error rates
(dynamic programming over the answers) stay within alpha and beta.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PASS, FAIL, CONTINUE = "pass", "fail", "continue"
MAX_EXPECTED = 1_000  # settings whose worst expected exam is longer are refused


@dataclass(frozen=True)
class Plan:
    p0: float
    p1: float
    alpha: float
    beta: float
    max_count: int

    @property
    def upper(self) -> float:
        return math.log((1 - self.beta) / self.alpha)

    @property
    def lower(self) -> float:
        return math.log(self.beta / (1 - self.alpha))

    @property
    def step_right(self) -> float:
        return math.log(self.p1 / self.p0)

    @property
    def step_wrong(self) -> float:
        return math.log((1 - self.p1) / (1 - self.p0))

    @property
    def indifference(self) -> float:
        """The accuracy at which the ratio has no drift: where the test takes longest (the rule's threshold)."""
        return -self.step_wrong / (self.step_right - self.step_wrong)


def plan_problems(*, p0: float, p1: float, alpha: float, beta: float, max_count: int | None) -> dict[str, str]:
    """Why these settings are refused, by field; empty when they are sound."""
    problems: dict[str, str] = {}
    for name, value in (("p0", p0), ("p1", p1)):
        if not 0 < value < 1:
            problems[name] = "an accuracy strictly between 0 and 1"
    if not problems and p0 >= p1:
        problems["p1"] = f"must be above p0 ({p0:g}): the acceptable accuracy exceeds the rejectable one"
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not 0 < value < 0.5:
            problems[name] = "a risk strictly between 0 and 0.5"
    if problems:
        return problems
    longest = max_expected_answers(Plan(p0, p1, alpha, beta, max_count=1))
    if longest > MAX_EXPECTED:
        return {"p1": f"too close to p0 for these risks: the test would expect up to {longest:.0f} answers "
                      f"(at most {MAX_EXPECTED})"}
    need = required_max_count(p0=p0, p1=p1, alpha=alpha, beta=beta)
    if max_count is None or max_count < need:
        problems["max_count"] = (f"at least {need} answers for p0={p0:g}, p1={p1:g}, alpha={alpha:g}, beta={beta:g}: "
                                 "a shorter truncation would exceed the stated error risks")
    return problems


def min_answers(plan: Plan) -> tuple[int, int]:
    """The fewest answers that can pass (all right) and that can fail (all wrong)."""
    return math.ceil(plan.upper / plan.step_right - 1e-12), math.ceil(plan.lower / plan.step_wrong - 1e-12)


def max_expected_answers(plan: Plan) -> float:
    """Wald's approximation of the expected number of answers at its worst (true accuracy = the indifference point)."""
    return -plan.upper * plan.lower / (plan.step_right * -plan.step_wrong)


def truncated_errors(plan: Plan, *, up_to: int) -> list[tuple[float, float, float]]:
    """Exactly, for each truncation M = 1..up_to (right/wrong answers only): (P(pass | p0), P(fail | p1),
    expected answers at the indifference accuracy) of the test truncated at M. One pass of dynamic
    programming over (answers, right answers) per accuracy."""
    out = []
    runs = {}
    for name, p in (("p0", plan.p0), ("p1", plan.p1), ("mid", plan.indifference)):
        alive = np.array([1.0])  # probability of k right answers among those still undecided
        decided_pass = decided_fail = answered = 0.0
        rows = []
        for n in range(1, up_to + 1):
            answered += alive.sum()
            alive = np.append(alive * (1 - p), 0.0) + np.append(0.0, alive * p)
            llr = np.arange(n + 1) * plan.step_right + (n - np.arange(n + 1)) * plan.step_wrong
            up, down = llr >= plan.upper, llr <= plan.lower
            decided_pass += alive[up].sum()
            decided_fail += alive[down].sum()
            alive = np.where(up | down, 0.0, alive)
            near_pass = alive[llr >= (plan.upper + plan.lower) / 2].sum()
            rows.append((decided_pass + near_pass, decided_fail + alive.sum() - near_pass, answered))
            if alive.sum() < 1e-13:  # nothing left undecided: later truncations change nothing
                rows.extend([rows[-1]] * (up_to - n))
                break
        runs[name] = rows
    for m in range(up_to):
        out.append((runs["p0"][m][0], runs["p1"][m][1], runs["mid"][m][2]))
    return out


def max_count_cap(plan: Plan) -> int:
    """How far `required_max_count` looks: ten times the worst expected length."""
    return max(10 * math.ceil(max_expected_answers(plan)), *min_answers(plan))


def required_max_count(*, p0: float, p1: float, alpha: float, beta: float) -> int:
    """The smallest truncation accepted: both verdicts reachable, and the truncated test's exact error rates
    within alpha and beta (when even the untruncated test overshoots one of them by Wald's approximation,
    the truncation from which the errors stop improving: within 1e-4 of those at the cap)."""
    plan = Plan(p0, p1, alpha, beta, max_count=1)
    floor, cap = max(min_answers(plan)), max_count_cap(plan)
    errors = truncated_errors(plan, up_to=cap)
    a_cap, b_cap = errors[-1][:2]
    for m in range(floor, cap + 1):
        a, b, _ = errors[m - 1]
        if a <= max(alpha, a_cap + 1e-4) and b <= max(beta, b_cap + 1e-4):
            return m
    return cap


def log_ratio(plan: Plan, *, count: float, total: float) -> float:
    """The log-likelihood ratio after `count` answers whose scores sum to `total`."""
    return total * plan.step_right + (count - total) * plan.step_wrong


def decide(plan: Plan, *, count: int, total: float) -> str:
    """pass, fail or continue after `count` answers scoring `total` (a decision is taken at the first crossing)."""
    if count <= 0:
        return CONTINUE
    llr = log_ratio(plan, count=count, total=total)
    if llr >= plan.upper:
        return PASS
    if llr <= plan.lower:
        return FAIL
    if count >= plan.max_count:
        return PASS if llr >= (plan.upper + plan.lower) / 2 else FAIL
    return CONTINUE
