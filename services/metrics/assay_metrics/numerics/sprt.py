"""Wald's sequential probability ratio test for a qualification exam (plain numpy/scipy, never Django).

H0: the annotator's accuracy is `p0` (rejectable); H1: it is `p1` (acceptable), p0 < p1. After each gold
answer with score s in [0, 1] (1 right, 0 wrong; partial credit counts as a fraction of a right answer) the
log-likelihood ratio grows by s·ln(p1/p0) + (1−s)·ln((1−p1)/(1−p0)). Wald's boundaries: pass at
ln((1−β)/α) or above, fail at ln(β/(1−α)) or below, else continue. α is the risk of passing someone at p0,
β the risk of failing someone at p1. The test is truncated at `max_count` answers: there it takes the
nearer boundary, so nobody waits forever; `max_count` is refused below `required_max_count` (see there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

PASS, FAIL, CONTINUE = "pass", "fail", "continue"


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
    need = required_max_count(p0=p0, p1=p1, alpha=alpha, beta=beta)
    if max_count is None or max_count < need:
        problems["max_count"] = (f"at least {need} answers for p0={p0:g}, p1={p1:g}, alpha={alpha:g}, beta={beta:g} "
                                 "(the longest expected test); fewer would end most undecided exams by truncation")
    return problems


def min_answers(plan: Plan) -> tuple[int, int]:
    """The fewest answers that can pass (all right) and that can fail (all wrong)."""
    return math.ceil(plan.upper / plan.step_right - 1e-12), math.ceil(plan.lower / plan.step_wrong - 1e-12)


def max_expected_answers(plan: Plan) -> float:
    """Wald's approximation of the expected number of answers at its worst (true accuracy = the indifference point)."""
    return -plan.upper * plan.lower / (plan.step_right * -plan.step_wrong)


def required_max_count(*, p0: float, p1: float, alpha: float, beta: float) -> int:
    """The smallest truncation accepted: both verdicts reachable and the worst expected length fits."""
    plan = Plan(p0, p1, alpha, beta, max_count=1)
    return max(*min_answers(plan), math.ceil(max_expected_answers(plan)))


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
