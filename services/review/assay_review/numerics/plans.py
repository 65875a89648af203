"""ISO 2859-1 plans for every inspection state (normal, tightened, reduced), single and double. No Django.

Normal single plans are `aql.master_table_plan` (Table II-A). The other tables keep the master table's layout:
along each diagonal (code-letter index + AQL index) the plan is the same, and the arrows lead to the first plan
below or above in the same column.

- Tightened (Table II-B): the same sample sizes; Ac 0 one diagonal later than normal, then two down arrows, then
  Ac 1, 2, 3, 5, 8, 12, 18 (Re = Ac + 1); an arrow past letter R leads to S (3150, Ac 1 Re 2).
- Reduced (Table II-C of the 1999 edition, Re = Ac + 1): each row is the normal table's row two letters up
  (letters A, B and C all take row A), so a K lot is inspected with H's plans (n = 50 where normal takes 125).
- Double (Tables III-A/B/C): where the single plan has Ac ≥ 1, two samples of the size one letter above the
  single plan's (n1 = n2: K, single 125, takes 80 + 80); Ac1/Re1 on the first sample, Ac2/Re2 on the cumulative count. Where the single plan
  has Ac 0 the standard gives no double plan (its asterisk): the single plan is used.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb

from assay_review.numerics.aql import (
    CODE_LETTERS,
    SAMPLE_SIZES,
    PlanError,
    aql_index,
    code_letter_for,
    master_table_plan,
)

STATES = ("normal", "tightened", "reduced")
PLAN_TYPES = ("single", "double")

_TIGHTENED_AC = {15: 0, 18: 1, 19: 2, 20: 3, 21: 5, 22: 8, 23: 12, 24: 18}
_TIGHTENED_S = ("S", 3150, 1, 2)

# single Ac → (Ac1, Re1, Ac2, Re2) of the double plan on the same diagonal
_DOUBLE_NORMAL = {1: (0, 2, 1, 2), 2: (0, 3, 3, 4), 3: (1, 3, 4, 5), 5: (2, 5, 6, 7), 7: (3, 7, 8, 9),
                  10: (5, 9, 12, 13), 14: (7, 11, 18, 19), 21: (11, 16, 26, 27)}
_DOUBLE_TIGHTENED = {1: (0, 2, 1, 2), 2: (0, 3, 3, 4), 3: (1, 3, 4, 5), 5: (2, 5, 6, 7), 8: (3, 7, 11, 12),
                     12: (6, 10, 15, 16), 18: (9, 14, 23, 24)}


@dataclass(frozen=True)
class Plan:
    """A plan as inspected: single (n2 is None) or double."""

    state: str
    plan_type: str
    code_letter: str
    sample_size: int  # n (single) or n1 (double)
    acceptance_number: int
    rejection_number: int
    second_sample_size: int | None = None
    second_acceptance_number: int | None = None
    second_rejection_number: int | None = None

    @property
    def total_sample_size(self) -> int:
        return self.sample_size + (self.second_sample_size or 0)


def _tightened_cell(letter_index: int, aql_idx: int) -> int | str:
    diagonal = letter_index + aql_idx
    if diagonal in _TIGHTENED_AC:
        return _TIGHTENED_AC[diagonal]
    return "up" if diagonal > 24 else "down"


def tightened_table_plan(*, code_letter: str, aql: float) -> tuple[str, int, int, int]:
    """(code letter used, n, Ac, Re) of Table II-B, following its arrows."""
    if code_letter not in CODE_LETTERS:
        raise PlanError(f"unknown code letter {code_letter!r}")
    column, index = aql_index(aql), CODE_LETTERS.index(code_letter)
    cell = _tightened_cell(index, column)
    step = 1 if cell == "down" else -1
    while isinstance(cell, str):
        index += step
        if index >= len(CODE_LETTERS):
            return _TIGHTENED_S
        cell = _tightened_cell(index, column)
    return CODE_LETTERS[index], SAMPLE_SIZES[index], int(cell), int(cell) + 1


def reduced_table_plan(*, code_letter: str, aql: float) -> tuple[str, int, int, int]:
    """(row used, n, Ac, Re) of the reduced table: the normal table two letters up."""
    if code_letter not in CODE_LETTERS:
        raise PlanError(f"unknown code letter {code_letter!r}")
    return master_table_plan(code_letter=CODE_LETTERS[max(CODE_LETTERS.index(code_letter) - 2, 0)], aql=aql)


def single_plan(*, code_letter: str, aql: float, state: str) -> tuple[str, int, int, int]:
    if state == "normal":
        return master_table_plan(code_letter=code_letter, aql=aql)
    if state == "tightened":
        return tightened_table_plan(code_letter=code_letter, aql=aql)
    if state == "reduced":
        return reduced_table_plan(code_letter=code_letter, aql=aql)
    raise PlanError(f"inspection state must be one of {', '.join(STATES)}, got {state!r}")


def plan_for(*, lot_size: int, aql: float, inspection_level: str, state: str = "normal",
             plan_type: str = "single") -> Plan:
    """The plan a lot is inspected with; sample sizes are capped at the lot size (100% inspection)."""
    if plan_type not in PLAN_TYPES:
        raise PlanError(f"plan type must be one of {', '.join(PLAN_TYPES)}, got {plan_type!r}")
    letter = code_letter_for(lot_size=lot_size, inspection_level=inspection_level)
    used, n, ac, re = single_plan(code_letter=letter, aql=aql, state=state)
    if plan_type == "single" or ac == 0 or used == "S":
        return Plan(state=state, plan_type="single", code_letter=used, sample_size=min(n, lot_size),
                    acceptance_number=ac, rejection_number=re)
    ac1, re1, ac2, re2 = (_DOUBLE_TIGHTENED if state == "tightened" else _DOUBLE_NORMAL)[ac]
    n_index = SAMPLE_SIZES.index(n)
    n1 = SAMPLE_SIZES[max(n_index - 1, 0)]
    n1 = min(n1, lot_size)
    n2 = min(n1, lot_size - n1)
    return Plan(state=state, plan_type="double", code_letter=used, sample_size=n1, acceptance_number=ac1,
                rejection_number=re1, second_sample_size=n2, second_acceptance_number=ac2, second_rejection_number=re2)


def _binomial_pmf(n: int, k: int, p: float) -> float:
    return comb(n, k) * p ** k * (1 - p) ** (n - k) if 0 <= k <= n else 0.0


def _binomial_cdf(n: int, k: int, p: float) -> float:
    return sum(_binomial_pmf(n, i, p) for i in range(0, min(k, n) + 1)) if k >= 0 else 0.0


def accept_probability(plan: Plan, *, p: float) -> float:
    """Exact (binomial) probability that a lot with nonconforming share p is accepted by the plan."""
    if not 0 <= p <= 1:
        raise PlanError(f"p must be in [0, 1], got {p}")
    first = _binomial_cdf(plan.sample_size, plan.acceptance_number, p)
    if plan.plan_type == "single":
        return first
    second = sum(_binomial_pmf(plan.sample_size, d1, p)
                 * _binomial_cdf(plan.second_sample_size, plan.second_acceptance_number - d1, p)
                 for d1 in range(plan.acceptance_number + 1, plan.rejection_number))
    return first + second


def oc_curve(plan: Plan, *, points: list[float]) -> list[tuple[float, float]]:
    return [(p, accept_probability(plan, p=p)) for p in points]


def verdict(*, plan: Plan, first_defects: int, first_reviewed: int, second_defects: int = 0,
            second_reviewed: int = 0) -> str | None:
    """'accepted', 'rejected', 'second_sample' (a double plan left undecided by its first sample) or None."""
    if plan.plan_type == "single":
        if first_defects >= plan.rejection_number:
            return "rejected"
        return "accepted" if first_reviewed >= plan.sample_size else None
    if first_defects >= plan.rejection_number:
        return "rejected"
    if first_reviewed < plan.sample_size:
        return None
    if first_defects <= plan.acceptance_number:
        return "accepted"
    cumulative = first_defects + second_defects
    if cumulative >= plan.second_rejection_number:
        return "rejected"
    if second_reviewed >= plan.second_sample_size:
        return "accepted" if cumulative <= plan.second_acceptance_number else "rejected"
    return "second_sample"
