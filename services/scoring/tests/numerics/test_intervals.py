"""Wilson and Beta-posterior intervals against reference values and their edge cases."""

import numpy as np
import pytest
from scipy.stats import beta, binomtest

from assay_scoring.numerics.errors import AggregationInputError
from assay_scoring.numerics.intervals import beta_interval, rate_interval, wilson_interval


def test_wilson_matches_scipy():
    for k, n in ((0, 10), (3, 10), (10, 10), (47, 50), (1, 1000)):
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = wilson_interval(successes=k, n=n)
        assert (float(low), float(high)) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_is_vectorised_and_empty_evidence_is_the_whole_range():
    low, high = wilson_interval(successes=np.array([0, 5]), n=np.array([0, 10]))
    assert (low[0], high[0]) == (0.0, 1.0) and low[1] < 0.5 < high[1]


def test_beta_posterior_with_fractional_counts():
    low, high = beta_interval(successes=7.5, n=10)
    assert float(low) == pytest.approx(beta.ppf(0.025, 8.5, 3.5))
    assert float(high) == pytest.approx(beta.ppf(0.975, 8.5, 3.5))
    # more evidence, narrower interval around the same rate
    l2, h2 = beta_interval(successes=750, n=1000)
    assert h2 - l2 < high - low and l2 < 0.75 < h2


def test_rate_interval_shape_and_refusals():
    iv = rate_interval(successes=9, n=10)
    assert iv.as_dict()["method"] == "wilson" and iv.level == 0.95 and iv.low < 0.9 < iv.high
    with pytest.raises(AggregationInputError):
        rate_interval(successes=11, n=10)
    with pytest.raises(AggregationInputError):
        rate_interval(successes=1, n=2, level=1.5)
    with pytest.raises(AggregationInputError):
        rate_interval(successes=1, n=2, method="exact")
    with pytest.raises(AggregationInputError):
        wilson_interval(successes=-1, n=2)
