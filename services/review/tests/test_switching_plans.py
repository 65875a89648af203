"""ISO 2859-1 tightened, reduced and double plans, their exact OC, switching rules and the lot interval (no Django)."""
import pytest

from assay_review.numerics.aql import PlanError
from assay_review.numerics.intervals import clopper_pearson
from assay_review.numerics.plans import Plan, accept_probability, plan_for, single_plan, verdict
from assay_review.numerics.switching import Lot, SupplierState, approval_set, lot_apply, resume


@pytest.mark.parametrize("letter,aql,plan", [
    # Table II-B: same n as normal, stricter Ac
    ("K", 1.0, ("K", 125, 2, 3)), ("L", 1.0, ("L", 200, 3, 4)), ("J", 2.5, ("J", 80, 3, 4)),
    ("J", 4.0, ("J", 80, 5, 6)), ("J", 6.5, ("J", 80, 8, 9)), ("J", 10.0, ("J", 80, 12, 13)),
    ("K", 10.0, ("K", 125, 18, 19)), ("D", 10.0, ("D", 8, 1, 2)), ("A", 10.0, ("A", 2, 0, 1)),
    # arrows: down from C at 10 to D; down from A at 6.5 to B's 0/1; up from L at 10 to K's 18/19
    ("C", 10.0, ("D", 8, 1, 2)), ("A", 6.5, ("B", 3, 0, 1)), ("L", 10.0, ("K", 125, 18, 19)),
])
def test_tightened_table(letter, aql, plan):
    assert single_plan(code_letter=letter, aql=aql, state="tightened") == plan


@pytest.mark.parametrize("letter,aql,plan", [
    # Table II-C (1999): two rows up, Re = Ac + 1
    ("K", 1.0, ("H", 50, 1, 2)), ("K", 2.5, ("H", 50, 3, 4)), ("L", 4.0, ("J", 80, 7, 8)), ("C", 6.5, ("A", 2, 0, 1)),
])
def test_reduced_table(letter, aql, plan):
    assert single_plan(code_letter=letter, aql=aql, state="reduced") == plan


def test_double_plans_from_table_iii():
    # K at 1.0 normal: single 125 3/4 → double 80 + 80 (Table III-A), Ac1 1 Re1 3, Ac2 4 Re2 5
    assert plan_for(lot_size=2000, aql=1.0, inspection_level="II", plan_type="double") == Plan(
        state="normal", plan_type="double", code_letter="K", sample_size=80, acceptance_number=1, rejection_number=3,
        second_sample_size=80, second_acceptance_number=4, second_rejection_number=5)
    # L at 2.5 normal: single 200 10/11 → 125 + 125, 5/9 then 12/13
    double = plan_for(lot_size=5000, aql=2.5, inspection_level="II", plan_type="double")
    assert (double.sample_size, double.acceptance_number, double.rejection_number, double.second_acceptance_number,
            double.second_rejection_number) == (125, 5, 9, 12, 13)
    # tightened K at 1.0: single 2/3 → 80 + 80, 0/3 then 3/4
    tight = plan_for(lot_size=2000, aql=1.0, inspection_level="II", state="tightened", plan_type="double")
    assert (tight.sample_size, tight.acceptance_number, tight.rejection_number, tight.second_acceptance_number) == (80, 0, 3, 3)
    # where the single plan has Ac 0 the standard has no double plan: the single plan is used
    assert plan_for(lot_size=2000, aql=0.10, inspection_level="II", plan_type="double").plan_type == "single"


def test_double_decisions():
    plan = plan_for(lot_size=2000, aql=1.0, inspection_level="II", plan_type="double")  # 80+80, 1/3, 4/5
    assert verdict(plan=plan, first_defects=1, first_reviewed=80) == "accepted"
    assert verdict(plan=plan, first_defects=3, first_reviewed=10) == "rejected"
    assert verdict(plan=plan, first_defects=2, first_reviewed=79) is None
    assert verdict(plan=plan, first_defects=2, first_reviewed=80) == "second_sample"
    assert verdict(plan=plan, first_defects=2, first_reviewed=80, second_defects=2, second_reviewed=80) == "accepted"
    assert verdict(plan=plan, first_defects=2, first_reviewed=80, second_defects=3, second_reviewed=20) == "rejected"
    assert verdict(plan=plan, first_defects=2, first_reviewed=80, second_defects=1, second_reviewed=20) == "second_sample"


def test_double_oc_is_the_exact_binomial_sum():
    plan = Plan(state="normal", plan_type="double", code_letter="K", sample_size=50, acceptance_number=1,
                rejection_number=3, second_sample_size=50, second_acceptance_number=4, second_rejection_number=5)
    # p = 0.02: P(d1≤1) + P(d1=2)·P(d2≤2) with Bin(50, .02)
    p0, p1, p2 = 0.98 ** 50, 50 * 0.02 * 0.98 ** 49, 1225 * 0.02 ** 2 * 0.98 ** 48
    assert accept_probability(plan, p=0.02) == pytest.approx(p0 + p1 + p2 * (p0 + p1 + p2), abs=1e-12)
    assert round(accept_probability(plan, p=0.02), 6) == 0.907000
    assert accept_probability(plan, p=0.0) == 1.0 and accept_probability(plan, p=1.0) == 0.0
    with pytest.raises(PlanError):
        accept_probability(plan, p=1.5)


def test_unknown_state_plan_type_or_aql_are_refused():
    with pytest.raises(PlanError, match="inspection state"):
        plan_for(lot_size=100, aql=1.0, inspection_level="II", state="lenient")
    with pytest.raises(PlanError, match="plan type"):
        plan_for(lot_size=100, aql=1.0, inspection_level="II", plan_type="triple")
    with pytest.raises(PlanError, match="AQL"):
        plan_for(lot_size=100, aql=3.0, inspection_level="II")
    with pytest.raises(PlanError, match="inspection level"):
        plan_for(lot_size=100, aql=1.0, inspection_level="IV")


@pytest.mark.parametrize("defects,reviewed,low,high", [
    (0, 10, 0.0, 0.308497), (1, 10, 0.002529, 0.445016), (5, 10, 0.187086, 0.812914), (10, 10, 0.691503, 1.0),
    (3, 125, 0.004977, 0.068536),
])
def test_clopper_pearson_exact_values(defects, reviewed, low, high):
    interval = clopper_pearson(defects=defects, reviewed=reviewed)
    assert (round(interval.low, 6), round(interval.high, 6)) == (low, high)
    assert interval.rate == defects / reviewed


def test_clopper_pearson_before_any_review_and_bad_counts():
    assert clopper_pearson(defects=0, reviewed=0).rate is None
    with pytest.raises(ValueError):
        clopper_pearson(defects=3, reviewed=2)


def ok(defects=0, ac=2):
    return Lot(accepted=True, defects=defects, acceptance_number=ac)


def bad(ac=2):
    return Lot(accepted=False, defects=ac + 1, acceptance_number=ac)


def run(state, lots):
    switches = []
    for lot in lots:
        state, reason = lot_apply(state, lot)
        switches.append((state.state, reason) if reason else None)
    return state, [s for s in switches if s]


def test_two_of_five_rejected_tightens():
    state, switches = run(SupplierState(), [bad(), ok(), ok(), ok()])
    assert state.state == "normal" and switches == []
    state, switches = run(state, [bad()])
    assert state.state == "tightened"
    assert switches == [("tightened", "2 of the last 5 lots on normal inspection not accepted")]
    # rejected lots 5 apart do not tighten
    state, _ = run(SupplierState(), [bad(), ok(), ok(), ok(), ok(), bad()])
    assert state.state == "normal"


def test_five_accepted_on_tightened_return_to_normal():
    state, switches = run(SupplierState(state="tightened"), [ok(), ok(), ok(), ok()])
    assert state.state == "tightened" and switches == []
    state, switches = run(state, [ok()])
    assert switches == [("normal", "5 consecutive lots accepted on tightened inspection")]
    assert state == SupplierState()


def test_five_rejected_on_tightened_discontinue_and_resume_on_tightened():
    state, switches = run(SupplierState(state="tightened"), [bad(), ok(), bad(), bad(), ok(), ok(), bad()])
    assert state.state == "tightened" and state.tightened_rejections == 4
    state, switches = run(state, [bad()])
    assert switches == [("discontinued", "5 lots not accepted on tightened inspection")]
    assert run(state, [ok()])[0].state == "discontinued"
    assert resume(state)[0].state == "tightened"
    with pytest.raises(ValueError):
        resume(SupplierState())


def test_reduced_needs_score_ten_accepted_and_approval():
    # Ac 2: 3 points for each lot that Ac 1 would also have accepted; a lot with 2 defects resets the score
    state, _ = run(SupplierState(), [ok(defects=1)] * 9 + [ok(defects=2)])
    assert (state.switching_score, state.consecutive_accepted) == (0, 10)
    state, switches = run(SupplierState(), [ok(defects=1)] * 10)
    assert (state.state, state.switching_score, switches) == ("normal", 30, [])  # not approved
    state, reason = approval_set(state, approved=True)
    assert state.state == "reduced" and reason.startswith("switching score 30, 10 consecutive")
    # approved beforehand, Ac 1: 2 points a lot, so 15 lots
    state, switches = run(SupplierState(reduced_approved=True), [ok(ac=1)] * 14)
    assert state.state == "normal" and state.switching_score == 28
    state, switches = run(state, [ok(ac=1)])
    assert state.state == "reduced"


def test_reduced_returns_to_normal_on_a_rejected_lot_or_withdrawal():
    state, switches = run(SupplierState(state="reduced", reduced_approved=True), [ok(), ok(), bad()])
    assert switches == [("normal", "a lot not accepted on reduced inspection")]
    assert state.switching_score == 0 and state.reduced_approved
    state, reason = approval_set(SupplierState(state="reduced", reduced_approved=True), approved=False)
    assert (state.state, reason) == ("normal", "reduced inspection withdrawn by the QA lead")


def test_double_plan_scores_on_first_sample_acceptance():
    first = Lot(accepted=True, defects=1, acceptance_number=1, plan_type="double", accepted_on_first_sample=True)
    second = Lot(accepted=True, defects=3, acceptance_number=1, plan_type="double", accepted_on_first_sample=False)
    state, _ = run(SupplierState(), [first, first])
    assert state.switching_score == 6
    assert run(state, [second])[0].switching_score == 0
