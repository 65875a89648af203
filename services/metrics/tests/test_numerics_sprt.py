"""Sequential exam and Wilson interval numerics (no database)."""
import math

import numpy as np
import pytest
from scipy.stats import binomtest

from assay_metrics.numerics.intervals import wilson
from assay_metrics.numerics.rules import Evidence, Flags, Hysteresis, verdict
from assay_metrics.numerics.sprt import (
    CONTINUE,
    FAIL,
    PASS,
    Plan,
    decide,
    max_expected_answers,
    min_answers,
    plan_problems,
    required_max_count,
    truncated_errors,
)

PLAN = Plan(p0=0.7, p1=0.9, alpha=0.05, beta=0.05, max_count=40)


def test_wald_boundaries_and_shortest_verdicts():
    assert PLAN.upper == pytest.approx(math.log(19)) and PLAN.lower == pytest.approx(-math.log(19))
    n_pass, n_fail = min_answers(PLAN)
    # all right: n·ln(9/7) must reach ln 19 → 12; all wrong: n·ln(1/3) must reach −ln 19 → 3
    assert (n_pass, n_fail) == (12, 3)
    assert decide(PLAN, count=11, total=11) == CONTINUE and decide(PLAN, count=12, total=12) == PASS
    assert decide(PLAN, count=2, total=0) == CONTINUE and decide(PLAN, count=3, total=0) == FAIL
    assert decide(PLAN, count=0, total=0) == CONTINUE


def test_truncation_takes_the_nearer_boundary():
    plan = Plan(0.7, 0.9, 0.05, 0.05, max_count=32)
    # 26 of 32 right: ratio between the boundaries, at the last answer → the nearer (fail side of the midpoint)
    assert decide(plan, count=31, total=26) == CONTINUE
    assert decide(plan, count=32, total=26) == FAIL
    assert decide(plan, count=32, total=28) == PASS


def test_required_max_count_keeps_the_exact_error_rates():
    assert max_expected_answers(PLAN) == pytest.approx(31.40, abs=0.01)
    need = required_max_count(p0=0.7, p1=0.9, alpha=0.05, beta=0.05)
    assert need == 58
    errors = truncated_errors(Plan(0.7, 0.9, 0.05, 0.05, need), up_to=need)
    assert errors[need - 1][0] <= 0.05 and errors[need - 1][1] <= 0.05
    assert errors[need - 2][0] > 0.05 or errors[need - 2][1] > 0.05  # one fewer would exceed a risk


def test_exact_errors_match_a_simulation():
    plan = Plan(0.8, 0.95, 0.05, 0.1, max_count=40)
    exact_alpha, exact_beta, _ = truncated_errors(plan, up_to=40)[-1]
    rng = np.random.default_rng(11)
    outcomes = {p: [] for p in (0.8, 0.95)}
    for p in outcomes:
        for _ in range(4000):
            total = 0.0
            for n in range(1, 41):
                total += float(rng.random() < p)
                if (result := decide(plan, count=n, total=total)) != CONTINUE:
                    outcomes[p].append(result)
                    break
    assert np.mean([o == PASS for o in outcomes[0.8]]) == pytest.approx(exact_alpha, abs=0.012)
    assert np.mean([o == FAIL for o in outcomes[0.95]]) == pytest.approx(exact_beta, abs=0.015)


def test_the_fewest_answers_that_can_pass_bound_the_truncation():
    plan = Plan(0.5, 0.99, 0.001, 0.2, 1)
    assert required_max_count(p0=0.5, p1=0.99, alpha=0.001, beta=0.2) >= max(min_answers(plan))


@pytest.mark.parametrize("settings,fields", [
    (dict(p0=0.9, p1=0.9, alpha=0.05, beta=0.05, max_count=100), {"p1"}),
    (dict(p0=0.95, p1=0.9, alpha=0.05, beta=0.05, max_count=100), {"p1"}),
    (dict(p0=0.0, p1=0.9, alpha=0.05, beta=0.05, max_count=100), {"p0"}),
    (dict(p0=0.7, p1=1.0, alpha=0.05, beta=0.05, max_count=100), {"p1"}),
    (dict(p0=0.7, p1=0.9, alpha=0.5, beta=0.0, max_count=100), {"alpha", "beta"}),
    (dict(p0=0.7, p1=0.9, alpha=0.05, beta=0.05, max_count=57), {"max_count"}),
    (dict(p0=0.9, p1=0.91, alpha=0.01, beta=0.01, max_count=10_000), {"p1"}),
    (dict(p0=0.7, p1=0.9, alpha=0.05, beta=0.05, max_count=None), {"max_count"}),
])
def test_plans_that_could_keep_someone_waiting_are_refused(settings, fields):
    assert set(plan_problems(**settings)) == fields


def test_a_sound_plan_has_no_problem():
    assert plan_problems(p0=0.7, p1=0.9, alpha=0.05, beta=0.05, max_count=58) == {}


def test_every_exam_ends_by_max_count():
    rng = np.random.default_rng(3)
    for accuracy in (0.6, 0.8, 0.8138, 0.95):
        for _ in range(200):
            total = 0.0
            for n in range(1, PLAN.max_count + 1):
                total += float(rng.random() < accuracy)
                if decide(PLAN, count=n, total=total) != CONTINUE:
                    break
            else:
                pytest.fail("an exam ran past max_count")


@pytest.mark.parametrize("k,n", [(0, 5), (3, 10), (10, 10), (47, 60)])
def test_wilson_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(successes=k, n=n, level=0.95) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert wilson(successes=0, n=0, level=0.95) == (0.0, 1.0)


def test_sequential_verdicts_and_their_numbers():
    flags = Flags(suspended=False, flagged=False, qualified=False)
    passed = verdict(kind="qualification", threshold=PLAN.indifference, min_count=3, evidence=Evidence(count=12, total=12),
                     flags=flags, plan=PLAN)
    assert passed.change == "qualified" and passed.count == 12 and "sequential exam passed" in passed.reason
    failed = verdict(kind="qualification", threshold=PLAN.indifference, min_count=3, evidence=Evidence(count=3, total=0),
                     flags=flags, plan=PLAN)
    assert failed.change == "qualification_failed" and "p0=0.7 p1=0.9" in failed.reason
    waiting = Flags(suspended=False, flagged=False, qualified=False, exam_failed=True)
    assert verdict(kind="qualification", threshold=0.8, min_count=3, evidence=Evidence(count=12, total=12),
                   flags=waiting, plan=PLAN) is None


def test_hysteresis_suspends_on_the_upper_bound_and_lifts_on_the_lower():
    h = Hysteresis(level=0.95, reinstate=0.8, probation=10)
    free = Flags(suspended=False, flagged=False, qualified=False)
    # 3 of 6: mean 0.5 < 0.7 but the upper bound (0.82) is not → no suspension on thin evidence
    assert verdict(kind="gold_accuracy", threshold=0.7, min_count=3, evidence=Evidence(count=6, total=3), flags=free,
                   hysteresis=h, rule_id="r") is None
    fired = verdict(kind="gold_accuracy", threshold=0.7, min_count=3, evidence=Evidence(count=20, total=8), flags=free,
                    hysteresis=h, rule_id="r")
    assert fired.change == "suspended" and "Wilson interval" in fired.reason and fired.count == 20
    held = Flags(suspended=True, flagged=False, qualified=False, suspended_by="r")
    # probation not over yet, then the lower bound not above 0.8, then lifted
    assert verdict(kind="gold_accuracy", threshold=0.7, min_count=3, evidence=Evidence(count=9, total=9), flags=held,
                   hysteresis=h, rule_id="r") is None
    assert verdict(kind="gold_accuracy", threshold=0.7, min_count=3, evidence=Evidence(count=10, total=9), flags=held,
                   hysteresis=h, rule_id="r") is None
    lifted = verdict(kind="gold_accuracy", threshold=0.7, min_count=3, evidence=Evidence(count=20, total=20),
                     flags=held, hysteresis=h, rule_id="r")
    assert lifted.change == "reinstated" and "above 0.8" in lifted.reason
    # a suspension by hand (or by another rule) is never lifted by this one
    by_hand = Flags(suspended=True, flagged=False, qualified=False, suspended_by=None)
    assert verdict(kind="gold_accuracy", threshold=0.7, min_count=3, evidence=Evidence(count=20, total=20),
                   flags=by_hand, hysteresis=h, rule_id="r") is None
