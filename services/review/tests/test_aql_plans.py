"""The ISO 2859-1 single normal plans and the hypergeometric operating characteristic (no Django)."""
import pytest

from assay_review.numerics.aql import (
    PlanError,
    code_letter_for,
    hypergeometric_accept_probability,
    lot_verdict,
    master_table_plan,
    plan_single_normal,
)


@pytest.mark.parametrize("lot,level,letter", [
    (2, "II", "A"), (8, "II", "A"), (9, "II", "B"), (50, "II", "D"), (51, "II", "E"), (500, "II", "H"),
    (501, "II", "J"), (1200, "II", "J"), (3200, "II", "K"), (10000, "II", "L"), (500001, "II", "Q"),
    (1000, "I", "G"), (1000, "III", "K"), (600000, "III", "R"),
])
def test_code_letters(lot, level, letter):
    assert code_letter_for(lot_size=lot, inspection_level=level) == letter


@pytest.mark.parametrize("letter,aql,plan", [
    ("H", 1.0, ("H", 50, 1, 2)), ("H", 2.5, ("H", 50, 3, 4)), ("H", 4.0, ("H", 50, 5, 6)),
    ("J", 1.0, ("J", 80, 2, 3)), ("J", 2.5, ("J", 80, 5, 6)), ("J", 4.0, ("J", 80, 7, 8)),
    ("K", 1.0, ("K", 125, 3, 4)), ("K", 2.5, ("K", 125, 7, 8)), ("K", 6.5, ("K", 125, 14, 15)),
    ("L", 2.5, ("L", 200, 10, 11)), ("N", 2.5, ("N", 500, 21, 22)),
    ("A", 6.5, ("A", 2, 0, 1)), ("K", 0.10, ("K", 125, 0, 1)),
    # arrows: up from F at 1.0 to E's 0/1; down from H at 0.65 to J's 1/2; up from L at 10 to K's 21/22
    ("F", 1.0, ("E", 13, 0, 1)), ("H", 0.65, ("J", 80, 1, 2)), ("L", 10.0, ("K", 125, 21, 22)),
    ("A", 1.0, ("E", 13, 0, 1)),
])
def test_master_table(letter, aql, plan):
    assert master_table_plan(code_letter=letter, aql=aql) == plan


def test_plan_capped_at_the_lot_size():
    plan = plan_single_normal(lot_size=5, aql=0.65)
    assert (plan.code_letter, plan.sample_size, plan.acceptance_number, plan.inspect_all) == ("F", 5, 0, True)


@pytest.mark.parametrize("kwargs,message", [
    ({"lot_size": 1, "aql": 1.0}, "lot size must be at least 2, got 1"),
    ({"lot_size": 100, "aql": 3.0}, "AQL must be one of"),
    ({"lot_size": 100, "aql": 1.0, "inspection_level": "S-1"}, "inspection level must be one of I, II, III"),
])
def test_bad_plan_requests(kwargs, message):
    with pytest.raises(PlanError, match=message):
        plan_single_normal(**kwargs)


def test_hypergeometric_oc():
    # N=10, n=2, D=1: P(0 defects) = C(9,2)/C(10,2) = 36/45
    assert hypergeometric_accept_probability(lot_size=10, sample_size=2, acceptance_number=0, nonconforming=1) == 0.8
    assert hypergeometric_accept_probability(lot_size=10, sample_size=10, acceptance_number=0, nonconforming=1) == 0.0
    assert hypergeometric_accept_probability(lot_size=10, sample_size=3, acceptance_number=5, nonconforming=4) == 1.0


def test_lot_verdict():
    plan = plan_single_normal(lot_size=500, aql=1.0)  # n=50, Ac 1, Re 2
    assert lot_verdict(plan=plan, defects=1, reviewed=49) is None
    assert lot_verdict(plan=plan, defects=1, reviewed=50) == "accepted"
    assert lot_verdict(plan=plan, defects=2, reviewed=10) == "rejected"
