"""Label mappings between two schema versions: checked against both versions' labels, applied to answers.

A mapping names, per source label, its target: a label (a rename, or a merge when several sources name one
target) or a split `{"one_of": [labels...], "default": label}` whose existing work moves to `default` (a split
without a `default` among its `one_of` is refused: no rule, no guess). A source label the mapping leaves out
keeps its name, and must then exist in the target version.
"""
from __future__ import annotations

from typing import Any


def mapping_errors(*, mapping: Any, source: list[str], target: list[str]) -> dict[str, list[str]]:
    """Field path → reasons for every problem of `mapping` from a version with labels `source` to one with
    labels `target`; empty when the mapping is usable."""
    errors: dict[str, list[str]] = {}

    def add(path: str, reason: str) -> None:
        errors.setdefault(path, []).append(reason)

    if not isinstance(mapping, dict):
        return {"mapping": ["must be an object {source label: target label or split}"]}
    src, dst = set(source), set(target)
    for label, to in mapping.items():
        path = f"mapping.{label}"
        if label not in src:
            add(path, f"{label!r} is not a label of the source version")
        if isinstance(to, str):
            if to not in dst:
                add(path, f"{to!r} is not a label of the target version")
        elif isinstance(to, dict):
            unknown = sorted(set(to) - {"one_of", "default"})
            if unknown:
                add(path, f"a split takes one_of and default, not {', '.join(unknown)}")
            one_of = to.get("one_of")
            if not isinstance(one_of, list) or len(one_of) < 2 or not all(isinstance(x, str) for x in one_of):
                add(f"{path}.one_of", "must list at least two target labels")
                continue
            for x in one_of:
                if x not in dst:
                    add(f"{path}.one_of", f"{x!r} is not a label of the target version")
            default = to.get("default")
            if default is None:
                add(f"{path}.default", "a split needs a rule: name the label existing work moves to")
            elif default not in one_of:
                add(f"{path}.default", "must be one of one_of")
        else:
            add(path, "must be a target label or a split {one_of, default}")
    for label in sorted(src - dst - set(mapping)):
        add(f"mapping.{label}", f"the target version has no label {label!r}: map it")
    return errors


def mapping_resolve(mapping: dict[str, Any]) -> dict[str, str]:
    """A checked mapping as source label → target label (a split resolved to its default)."""
    return {k: v if isinstance(v, str) else v["default"] for k, v in mapping.items()}
