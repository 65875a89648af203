"""A tenant's input, validated before anything is written, and the names derived from it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from kubernetes.utils import parse_quantity

MODES = ("namespace", "shared")
SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks")
# A DNS-1123 label that starts with a letter: it is also a bus prefix, and with "-" as "_" a Postgres identifier.
# 40 characters at most: the chart's busPrefix limit; "<name>_assignment" and "assay-<name>" then fit 63.
NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
NAME_MAX = 40
NAMESPACE_PREFIX_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?-)?$")
DEFAULT_QUOTA = {"cpu": "8", "memory": "16Gi", "pods": "60"}


class TenantInputError(ValueError):
    """Refused input; `field` names the argument."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TenantSpec:
    name: str
    mode: str
    cpu: str = DEFAULT_QUOTA["cpu"]
    memory: str = DEFAULT_QUOTA["memory"]
    pods: str = DEFAULT_QUOTA["pods"]
    # 0: the install's default limit applies to this tenant (RATE_LIMIT_PER_SECOND).
    rate_per_second: float = 0.0
    rate_burst: int = 0
    namespace_prefix: str = "assay-"

    @property
    def namespace(self) -> str:
        return f"{self.namespace_prefix}{self.name}"

    @property
    def database_prefix(self) -> str:
        return self.name.replace("-", "_")

    @property
    def app_role(self) -> str:
        return f"{self.database_prefix}_app"

    @property
    def databases(self) -> list[str]:
        return [f"{self.database_prefix}_{svc}" for svc in SERVICES]

    @property
    def release(self) -> str:
        return f"assay-{self.name}"

    def rate_limit(self) -> dict | None:
        if not self.rate_per_second:
            return None
        return {"per_second": self.rate_per_second, "burst": self.rate_burst}


def name_check(name: object, *, field: str = "name") -> str:
    if not isinstance(name, str) or not name:
        raise TenantInputError(field, "is required")
    if len(name) > NAME_MAX:
        raise TenantInputError(field, f"must be at most {NAME_MAX} characters, got {len(name)}")
    if not NAME_RE.match(name):
        raise TenantInputError(field, "must be a DNS-1123 label starting with a letter: lower-case letters, "
                                      f"digits and '-', got {name!r}")
    return name


def _quantity(field: str, text: object, *, whole: bool = False) -> str:
    if not isinstance(text, str) or not text.strip():
        raise TenantInputError(field, "is required")
    try:
        value = parse_quantity(text)
    except (ValueError, TypeError):
        raise TenantInputError(field, f"must be a Kubernetes quantity such as 500m, 4 or 16Gi, got {text!r}") from None
    if value <= 0:
        raise TenantInputError(field, f"must be more than 0, got {text!r}")
    if whole and value != value.to_integral_value():
        raise TenantInputError(field, f"must be a whole number, got {text!r}")
    return text


def spec_check(*, name: object, mode: object, cpu: object = DEFAULT_QUOTA["cpu"],
               memory: object = DEFAULT_QUOTA["memory"], pods: object = DEFAULT_QUOTA["pods"],
               rate_per_second: object = 0.0, rate_burst: object = 0,
               namespace_prefix: object = "assay-") -> TenantSpec:
    """The validated spec; every refusal names its field (TenantInputError)."""
    name_check(name)
    if mode not in MODES:
        raise TenantInputError("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    _quantity("cpu", cpu)
    _quantity("memory", memory)
    _quantity("pods", pods, whole=True)
    if isinstance(rate_per_second, bool) or not isinstance(rate_per_second, (int, float, Decimal)):
        raise TenantInputError("rate_per_second", f"must be a number, got {rate_per_second!r}")
    if not 0 <= float(rate_per_second) <= 1_000_000 or (0 < float(rate_per_second) < 0.001):
        raise TenantInputError("rate_per_second", f"must be 0 (the install's default) or 0.001..1000000, "
                                                  f"got {rate_per_second!r}")
    if isinstance(rate_burst, bool) or not isinstance(rate_burst, int) or not 0 <= rate_burst <= 1_000_000:
        raise TenantInputError("rate_burst", f"must be a whole number 0..1000000, got {rate_burst!r}")
    if rate_burst and not rate_per_second:
        raise TenantInputError("rate_burst", "needs rate_per_second")
    if not isinstance(namespace_prefix, str) or not NAMESPACE_PREFIX_RE.match(namespace_prefix) \
            or len(namespace_prefix) > 63 - NAME_MAX:
        raise TenantInputError("namespace_prefix", "must be empty or a DNS-1123 label ending in '-', at most "
                                                   f"{63 - NAME_MAX} characters, got {namespace_prefix!r}")
    return TenantSpec(name=name, mode=mode, cpu=cpu, memory=memory, pods=pods, rate_per_second=float(rate_per_second),
                      rate_burst=rate_burst, namespace_prefix=namespace_prefix)


@dataclass(frozen=True)
class Change:
    """One line of a command's report: `action` (created, updated, unchanged, deleted, absent, kept) and what."""
    action: str
    what: str

    def __str__(self) -> str:
        return f"{self.action:<9} {self.what}"
