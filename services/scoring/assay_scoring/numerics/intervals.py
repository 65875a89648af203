"""Intervals on rates: Wilson score intervals for counted successes, Beta posteriors for
(possibly fractional) evidence such as expected correct answers under a fitted model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, norm

from .errors import AggregationInputError

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A rate's interval: ``low``..``high`` at ``level``, by ``method`` ("wilson" or "beta")."""

    low: float
    high: float
    level: float
    method: str

    def as_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "level": self.level, "method": self.method}


def _check(successes: np.ndarray, n: np.ndarray, level: float) -> None:
    if not 0.0 < level < 1.0:
        raise AggregationInputError(f"level must be in (0, 1), got {level}")
    if np.any(n < 0) or np.any(successes < 0) or np.any(successes > n + 1e-9):
        raise AggregationInputError("need 0 <= successes <= n")


def wilson_interval(*, successes: float | np.ndarray, n: float | np.ndarray,
                    level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of successes/n (vectorised); n = 0 gives (0, 1)."""
    s = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    _check(s, m, level)
    z = float(norm.ppf(0.5 + level / 2))
    safe = np.maximum(m, 1.0)  # n = 0 rows are replaced by (0, 1) below
    p = s / safe
    denom = 1.0 + z * z / safe
    centre = (p + z * z / (2 * safe)) / denom
    half = z * np.sqrt(np.maximum(p * (1 - p) / safe + z * z / (4 * safe * safe), 0.0)) / denom
    low = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def beta_interval(*, successes: float | np.ndarray, n: float | np.ndarray, prior: tuple[float, float] = (1.0, 1.0),
                  level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval of the Beta(prior + successes, prior + failures) posterior; successes
    may be fractional (expected counts). n = 0 gives the prior's interval."""
    s = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    _check(s, m, level)
    a = prior[0] + s
    b = prior[1] + np.maximum(m - s, 0.0)
    tail = (1.0 - level) / 2
    return beta.ppf(tail, a, b), beta.ppf(1.0 - tail, a, b)


def rate_interval(*, successes: float, n: float, method: str = "wilson", level: float = LEVEL) -> Interval:
    """One rate's interval as an :class:`Interval`."""
    if method == "wilson":
        low, high = wilson_interval(successes=successes, n=n, level=level)
    elif method == "beta":
        low, high = beta_interval(successes=successes, n=n, level=level)
    else:
        raise AggregationInputError(f"method must be 'wilson' or 'beta', got {method!r}")
    return Interval(low=float(low), high=float(high), level=level, method=method)
