"""ISO 2859-1 switching rules for one supplier, as a pure function of its lots' verdicts. No Django.

Implemented (clause 9 of ISO 2859-1:1999):
- normal → tightened: 2 lots not accepted among 5 or fewer consecutive lots on normal inspection;
- tightened → normal: 5 consecutive lots accepted on tightened inspection;
- normal → reduced: the switching score is at least 30, the last 10 consecutive lots on normal inspection were
  accepted, and the responsible authority (the QA lead) approved reduced inspection for the supplier, which is
  also their statement that production is steady (review cannot observe production);
- reduced → normal: a lot not accepted, or the QA lead withdraws the approval;
- discontinuation: 5 lots not accepted, cumulatively, in one period of tightened inspection; inspection under
  the standard resumes on tightened inspection when the QA lead says the supplier corrected the cause.

The switching score starts at 0 with normal inspection. A single plan with Ac ≥ 2 adds 3 when the lot would have
been accepted at an AQL one step tighter (Ac one step down the table's series), else resets it; with Ac 0 or 1
it adds 2 for an accepted lot, else resets it. A double plan adds 3 when the lot was accepted on its first
sample, else resets it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

NORMAL, TIGHTENED, REDUCED, DISCONTINUED = "normal", "tightened", "reduced", "discontinued"
_SERIES = (0, 1, 2, 3, 5, 7, 10, 14, 21)
_TIGHTENED_SERIES = (0, 1, 2, 3, 5, 8, 12, 18)
SCORE_FOR_REDUCED = 30
ACCEPTED_FOR_REDUCED = 10


@dataclass(frozen=True)
class SupplierState:
    state: str = NORMAL
    recent: tuple[bool, ...] = ()  # acceptance of the last lots (at most 5) in this period of normal inspection
    consecutive_accepted: int = 0  # lots accepted in a row in the current state
    switching_score: int = 0
    tightened_rejections: int = 0  # lots not accepted in this period of tightened inspection
    reduced_approved: bool = False


@dataclass(frozen=True)
class Lot:
    accepted: bool
    defects: int
    acceptance_number: int
    plan_type: str = "single"
    accepted_on_first_sample: bool = False
    tightened_plan: bool = field(default=False)  # the Ac belongs to the tightened series


def _one_step_tighter(ac: int, tightened: bool) -> int:
    series = _TIGHTENED_SERIES if tightened else _SERIES
    below = [value for value in series if value < ac]
    return below[-1] if below else 0


def _score(score: int, lot: Lot) -> int:
    if lot.plan_type == "double":
        return score + 3 if lot.accepted and lot.accepted_on_first_sample else 0
    if lot.acceptance_number >= 2:
        tighter = _one_step_tighter(lot.acceptance_number, lot.tightened_plan)
        return score + 3 if lot.accepted and lot.defects <= tighter else 0
    return score + 2 if lot.accepted else 0


def _enter(state: str, *, approved: bool) -> SupplierState:
    return SupplierState(state=state, reduced_approved=approved)


def lot_apply(current: SupplierState, lot: Lot) -> tuple[SupplierState, str | None]:
    """The supplier's state after a lot's verdict, and the reason of a switch (None when it stays)."""
    approved = current.reduced_approved
    if current.state == DISCONTINUED:
        return current, None
    if current.state == NORMAL:
        recent = (current.recent + (lot.accepted,))[-5:]
        if recent.count(False) >= 2:
            return _enter(TIGHTENED, approved=approved), "2 of the last 5 lots on normal inspection not accepted"
        run = current.consecutive_accepted + 1 if lot.accepted else 0
        following = replace(current, recent=recent, consecutive_accepted=run, switching_score=_score(current.switching_score, lot))
        if following.switching_score >= SCORE_FOR_REDUCED and run >= ACCEPTED_FOR_REDUCED and approved:
            return _enter(REDUCED, approved=approved), (
                f"switching score {following.switching_score}, {run} consecutive lots accepted, reduced inspection approved")
        return following, None
    if current.state == TIGHTENED:
        if lot.accepted:
            run = current.consecutive_accepted + 1
            if run >= 5:
                return _enter(NORMAL, approved=approved), "5 consecutive lots accepted on tightened inspection"
            return replace(current, consecutive_accepted=run), None
        rejections = current.tightened_rejections + 1
        if rejections >= 5:
            return _enter(DISCONTINUED, approved=approved), "5 lots not accepted on tightened inspection"
        return replace(current, consecutive_accepted=0, tightened_rejections=rejections), None
    # reduced
    if not lot.accepted:
        return _enter(NORMAL, approved=approved), "a lot not accepted on reduced inspection"
    return replace(current, consecutive_accepted=current.consecutive_accepted + 1), None


def approval_set(current: SupplierState, *, approved: bool) -> tuple[SupplierState, str | None]:
    """The QA lead approves reduced inspection (or withdraws it: a supplier on reduced returns to normal)."""
    if current.state == REDUCED and not approved:
        return _enter(NORMAL, approved=False), "reduced inspection withdrawn by the QA lead"
    following = replace(current, reduced_approved=approved)
    if (approved and current.state == NORMAL and current.switching_score >= SCORE_FOR_REDUCED
            and current.consecutive_accepted >= ACCEPTED_FOR_REDUCED):
        return _enter(REDUCED, approved=True), (
            f"switching score {current.switching_score}, {current.consecutive_accepted} consecutive lots accepted, "
            "reduced inspection approved")
    return following, None


def resume(current: SupplierState) -> tuple[SupplierState, str]:
    """After discontinuation, the QA lead states the cause corrected: inspection resumes on tightened."""
    if current.state != DISCONTINUED:
        raise ValueError(f"only a discontinued supplier resumes, this one is on {current.state} inspection")
    return _enter(TIGHTENED, approved=current.reduced_approved), "resumed on tightened inspection after corrective action"
