"""Exact (Clopper-Pearson) interval for a lot's defect rate. No Django here."""
from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta


@dataclass(frozen=True)
class RateInterval:
    rate: float | None
    low: float
    high: float
    level: float


def clopper_pearson(*, defects: int, reviewed: int, level: float = 0.95) -> RateInterval:
    """The equal-tailed exact binomial interval of defects/reviewed; [0, 1] when nothing is reviewed yet."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if reviewed < 0 or not 0 <= defects <= reviewed:
        raise ValueError(f"need 0 ≤ defects ≤ reviewed, got {defects} of {reviewed}")
    if reviewed == 0:
        return RateInterval(rate=None, low=0.0, high=1.0, level=level)
    alpha = 1 - level
    low = 0.0 if defects == 0 else float(beta.ppf(alpha / 2, defects, reviewed - defects + 1))
    high = 1.0 if defects == reviewed else float(beta.ppf(1 - alpha / 2, defects + 1, reviewed - defects))
    return RateInterval(rate=defects / reviewed, low=low, high=high, level=level)
