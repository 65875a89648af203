"""Single sampling plans for normal inspection after ISO 2859-1 / ANSI Z1.4 (Tables I and II-A).

Lot size → sample size code letter (general inspection levels I, II, III); code letter →
sample size; (code letter, AQL) → acceptance number Ac and rejection number Re, following
the master table's arrows to the first plan below or above. Also the operating characteristic
(probability of accepting a lot with a given number of nonconforming items) from the
hypergeometric distribution. No Django here.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb

# Table I: upper bounds of the lot-size ranges and the code letter for levels I, II, III.
_LOT_RANGES: tuple[tuple[int, str, str, str], ...] = (
    (8, "A", "A", "B"),
    (15, "A", "B", "C"),
    (25, "B", "C", "D"),
    (50, "C", "D", "E"),
    (90, "C", "E", "F"),
    (150, "D", "F", "G"),
    (280, "E", "G", "H"),
    (500, "F", "H", "J"),
    (1200, "G", "J", "K"),
    (3200, "H", "K", "L"),
    (10000, "J", "L", "M"),
    (35000, "K", "M", "N"),
    (150000, "L", "N", "P"),
    (500000, "M", "P", "Q"),
    (None, "N", "Q", "R"),  # type: ignore[arg-type]  # 500 001 and over
)
LEVELS = ("I", "II", "III")

CODE_LETTERS = "ABCDEFGHJKLMNPQR"
SAMPLE_SIZES = (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000)

# The AQL columns (percent nonconforming) of Table II-A that this service offers.
AQLS = (0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10.0)

# Along each diagonal of Table II-A (code-letter index + AQL index constant) the plan is the same.
# Diagonal 14 holds Ac 0; 15 is an up arrow, 16 a down arrow; 17..24 hold these Ac values (Re = Ac + 1);
# below 14 the cells point down, above 24 they point up.
_AC_BY_DIAGONAL = {14: 0, 17: 1, 18: 2, 19: 3, 20: 5, 21: 7, 22: 10, 23: 14, 24: 21}


class PlanError(ValueError):
    """The request cannot be turned into a plan (unknown AQL or level, empty lot)."""


@dataclass(frozen=True)
class SamplingPlan:
    lot_size: int
    inspection_level: str
    aql: float
    code_letter: str
    sample_size: int
    acceptance_number: int
    rejection_number: int

    @property
    def inspect_all(self) -> bool:
        return self.sample_size >= self.lot_size


def code_letter_for(*, lot_size: int, inspection_level: str = "II") -> str:
    if lot_size < 2:
        raise PlanError(f"lot size must be at least 2, got {lot_size}")
    if inspection_level not in LEVELS:
        raise PlanError(f"inspection level must be one of {', '.join(LEVELS)}, got {inspection_level!r}")
    column = LEVELS.index(inspection_level) + 1
    for row in _LOT_RANGES:
        if row[0] is None or lot_size <= row[0]:
            return row[column]
    raise AssertionError("unreachable")


def aql_index(aql: float) -> int:
    for index, value in enumerate(AQLS):
        if abs(value - aql) < 1e-9:
            return index
    raise PlanError(f"AQL must be one of {', '.join(f'{a:g}' for a in AQLS)}, got {aql:g}")


def _cell(letter_index: int, aql_idx: int) -> int | str:
    """The master-table cell: an acceptance number, or an arrow 'down' / 'up'."""
    diagonal = letter_index + aql_idx
    if diagonal in _AC_BY_DIAGONAL:
        return _AC_BY_DIAGONAL[diagonal]
    if diagonal < 14 or diagonal == 16:
        return "down"
    return "up"


def master_table_plan(*, code_letter: str, aql: float) -> tuple[str, int, int, int]:
    """(code letter actually used, sample size, Ac, Re) for a code letter and AQL, following arrows."""
    if code_letter not in CODE_LETTERS:
        raise PlanError(f"unknown code letter {code_letter!r}")
    column = aql_index(aql)
    index = CODE_LETTERS.index(code_letter)
    cell = _cell(index, column)
    step = 0
    if cell == "up" and index == 0:
        cell = "down"  # nothing above the first row: the standard's arrows there lead down
    if isinstance(cell, str):
        step = 1 if cell == "down" else -1
        while isinstance(cell, str):
            index += step
            if not 0 <= index < len(CODE_LETTERS):
                raise PlanError(f"no plan for code letter {code_letter} at AQL {aql:g}")
            cell = _cell(index, column)
            if isinstance(cell, str) and (cell == "down") != (step == 1):
                # an arrow pointing back: take the next cell in our direction
                continue
    ac = int(cell)
    return CODE_LETTERS[index], SAMPLE_SIZES[index], ac, ac + 1


def plan_single_normal(*, lot_size: int, aql: float, inspection_level: str = "II") -> SamplingPlan:
    """The single sampling plan, normal inspection, for a lot; 100% inspection when n ≥ N."""
    letter = code_letter_for(lot_size=lot_size, inspection_level=inspection_level)
    used, n, ac, re = master_table_plan(code_letter=letter, aql=aql)
    return SamplingPlan(lot_size=lot_size, inspection_level=inspection_level, aql=aql, code_letter=used,
                        sample_size=min(n, lot_size), acceptance_number=ac, rejection_number=re)


def hypergeometric_accept_probability(*, lot_size: int, sample_size: int, acceptance_number: int,
                                      nonconforming: int) -> float:
    """P(at most Ac nonconforming in a sample of n drawn without replacement from N with D nonconforming)."""
    if not 0 <= nonconforming <= lot_size or not 0 <= sample_size <= lot_size:
        raise PlanError("need 0 ≤ D ≤ N and 0 ≤ n ≤ N")
    total = comb(lot_size, sample_size)
    accepted = sum(comb(nonconforming, k) * comb(lot_size - nonconforming, sample_size - k)
                   for k in range(0, min(acceptance_number, nonconforming, sample_size) + 1))
    return accepted / total


def accept_probability_at_aql(plan: SamplingPlan) -> float:
    """Operating characteristic of the plan for a lot whose nonconforming share equals the AQL."""
    defective = round(plan.lot_size * plan.aql / 100)
    return hypergeometric_accept_probability(lot_size=plan.lot_size, sample_size=plan.sample_size,
                                             acceptance_number=plan.acceptance_number, nonconforming=defective)


def lot_verdict(*, plan: SamplingPlan, defects: int, reviewed: int) -> str | None:
    """'accepted' once the whole sample passed with ≤ Ac defects, 'rejected' once defects reach Re, else None."""
    if defects >= plan.rejection_number:
        return "rejected"
    if reviewed >= plan.sample_size:
        return "accepted"
    return None
