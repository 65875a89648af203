"""Wilson score interval for a rate (plain scipy, never Django); fractional successes (gold scores) allowed."""
from __future__ import annotations

import math

from scipy.stats import norm


def wilson(*, successes: float, n: float, level: float) -> tuple[float, float]:
    """The two-sided Wilson interval at confidence `level` for `successes` out of `n`; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + level / 2))
    p = min(max(successes / n, 0.0), 1.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
