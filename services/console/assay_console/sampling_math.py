"""Numbers the sampling page shows before anything is saved: the effective rate per class (the highest of
the rules that apply, ADR 0031 of the review service) and a single sampling plan's operating-characteristic
curve (binomial: the chance a lot with defect rate p is accepted with sample n and acceptance number c)."""
from __future__ import annotations

from math import comb


def effective_class_rates(*, base_rate: float, class_rates: dict[str, float], labels: list[str]) -> list[dict]:
    names = list(dict.fromkeys([*labels, *class_rates]))
    return [{"label": name, "rate": max(base_rate, class_rates.get(name, 0.0)),
             "rule": "class rate" if class_rates.get(name, 0.0) > base_rate else "base rate"} for name in names]


def oc_curve(*, sample_size: int, acceptance_number: int, points: int = 41, max_rate: float = 0.2) -> list[dict]:
    curve = []
    for i in range(points):
        p = max_rate * i / (points - 1)
        accept = sum(comb(sample_size, k) * p**k * (1 - p) ** (sample_size - k)
                     for k in range(0, min(acceptance_number, sample_size) + 1))
        curve.append({"p": round(p, 4), "accept": round(accept, 4)})
    return curve


def rates_parse(text: str, *, field: str) -> tuple[dict[str, float], list[str]]:
    """`name = rate` per line (rate in [0, 1]); the rates and the problems, each naming its line."""
    rates, errors = {}, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.rpartition("=")
        if not sep or not name.strip():
            errors.append(f"line {number}: write `name = rate`")
            continue
        try:
            rate = float(value)
        except ValueError:
            errors.append(f"line {number}: {value.strip()!r} is not a number")
            continue
        if not 0 <= rate <= 1:
            errors.append(f"line {number}: the rate must be between 0 and 1")
            continue
        rates[name.strip()] = rate
    return rates, errors
