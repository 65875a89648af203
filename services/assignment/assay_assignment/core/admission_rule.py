"""The admission rule's settings, read from the environment at start-up (no Django imports)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping

from assay_shared.config import ConfigError

DOWNSTREAM = ("scoring", "review", "metrics", "webhooks")


@dataclass(frozen=True)
class AdmissionRule:
    max_lag_seconds: float
    services: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        return self.max_lag_seconds > 0


def admission_rule_from_env(env: Mapping[str, str] | None = None) -> AdmissionRule:
    """ASSAY_ADMISSION_MAX_LAG_SECONDS (0 or unset: off) and ASSAY_ADMISSION_SERVICES (default: all four)."""
    env = os.environ if env is None else env
    raw = env.get("ASSAY_ADMISSION_MAX_LAG_SECONDS", "0").strip() or "0"
    try:
        bound = float(raw)
    except ValueError:
        raise ConfigError("ASSAY_ADMISSION_MAX_LAG_SECONDS", f"must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(bound) or not 0 <= bound <= 3600:
        raise ConfigError("ASSAY_ADMISSION_MAX_LAG_SECONDS", f"must lie in [0, 3600] (0: off), got {raw!r}")
    names = tuple(s.strip() for s in env.get("ASSAY_ADMISSION_SERVICES", ",".join(DOWNSTREAM)).split(",") if s.strip())
    unknown = sorted(set(names) - set(DOWNSTREAM))
    if unknown or not names:
        raise ConfigError("ASSAY_ADMISSION_SERVICES",
                          f"must name some of {', '.join(DOWNSTREAM)}, got {', '.join(unknown) or 'none'}")
    return AdmissionRule(max_lag_seconds=bound, services=names)
