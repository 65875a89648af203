"""A label mapping between two schema versions applied to an answer (ADR 0069); scoring and review both apply it.

`resolved` is source label → target label, as `schema.migrated` carries it (a split already resolved to its default).
"""
from __future__ import annotations

from typing import Any


def answer_map(*, answer: Any, resolved: dict[str, str]) -> Any:
    """`answer` with its labels renamed by `resolved`: a single choice's `label`, a multi choice's `labels`
    (a merge keeps one of each), the `label` of objects and spans. Other shapes pass unchanged."""
    if not isinstance(answer, dict):
        return answer
    out = dict(answer)
    if isinstance(out.get("label"), str):
        out["label"] = resolved.get(out["label"], out["label"])
    if isinstance(out.get("labels"), list):
        kept: list = []
        for x in out["labels"]:
            y = resolved.get(x, x) if isinstance(x, str) else x
            if y not in kept:
                kept.append(y)
        out["labels"] = kept
    for key in ("objects", "spans"):
        if isinstance(out.get(key), list):
            out[key] = [{**o, "label": resolved.get(o["label"], o["label"])}
                        if isinstance(o, dict) and isinstance(o.get("label"), str) else o for o in out[key]]
    return out
