"""The small language of pipeline edges: references, templates, conditions and join keys (ADR 0094). Plain
Python, no database: checked when a pipeline is saved, against what can be known of the source stage, and
evaluated when a source task is finished.

- A reference is a string starting with `$`: `$data.url`, `$data.metadata.<key>...` (the source task's data),
  `$task.id`, `$task.external_id`, `$label` (the answer's label: a string, or a list for multi-label answers),
  `$answer`, `$answer.<path>` (`label`, `attributes.<name>`, `labels`, `objects[<n>].bbox`, ...). `$$...` is the
  literal string `$...`.
- A template is an object: `url` is the new task's URL (default `$data.url`), every other key one entry of its
  metadata; values are references, literals, or objects and lists of them. `crop` must name a box.
- A condition is an object of `label` and, for a review verdict, `verdict`, each `{"in": [...]}` or
  `{"not_in": [...]}`; every one given must hold.
- A join (a fan-in stage's) is a reference to the source task (`$task...` or `$data...`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")
SEGMENT_RE = re.compile(r"\.([A-Za-z0-9_][A-Za-z0-9_ :/-]{0,63})|\[(\d{1,6})\]")
ROOTS = ("data", "task", "label", "answer")
ANSWER_KEYS = {"single_choice": {"label", "attributes"}, "multi_choice": {"labels"}, "bbox": {"objects"},
               "polygon": {"objects"}, "keypoints": {"objects"}, "text_span": {"spans"}, "free_text": {"text"}}
ITEM_KEYS = {"bbox": {"label", "bbox", "attributes"}, "polygon": {"label", "points", "attributes"},
             "keypoints": {"label", "points", "attributes"}, "text_span": {"label", "start", "end", "attributes"}}
VERDICTS = ("accepted", "rejected", "corrected")
MAX_TEMPLATE_BYTES = 16 * 1024
MAX_DEPTH = 6
MISSING = object()

Errors = dict[str, list[str]]


class RenderError(Exception):
    """A reference the finished task does not have (`$answer.objects[0]` of an answer with no objects)."""


@dataclass(frozen=True)
class Source:
    """What can be known of a source stage when a pipeline is saved."""

    answer_type: str
    labels: frozenset[str]  # of every schema version
    attributes: frozenset[str]  # names, of every label of every version
    metadata_keys: frozenset[str]
    trigger: str = ""
    extra: dict = field(default_factory=dict)


def _err(errors: Errors, path: str, reason: str) -> None:
    errors.setdefault(path, []).append(reason)


def parse(reference: str) -> tuple[str, list[str | int]] | None:
    """(root, [segment, ...]) of a reference; None when it is not one."""
    match = re.match(r"^\$([a-z]+)", reference)
    if not match or match.group(1) not in ROOTS:
        return None
    rest, segments, at = reference[match.end():], [], 0
    while at < len(rest):
        seg = SEGMENT_RE.match(rest, at)
        if seg is None:
            return None
        segments.append(seg.group(1) if seg.group(1) is not None else int(seg.group(2)))
        at = seg.end()
    return match.group(1), segments


def reference_problem(reference: str, source: Source, *, roots: tuple[str, ...] = ROOTS) -> str | None:
    """Why a reference cannot be resolved on the source stage's tasks; None when it can."""
    parsed = parse(reference)
    if parsed is None:
        return (f"{reference!r} is not a reference: $data.url, $data.metadata.<key>, $task.id, $task.external_id,"
                " $label, $answer or $answer.<path>")
    root, segs = parsed
    if root not in roots:
        return f"{reference!r}: only {', '.join('$' + r for r in roots)} may be named here"
    if root == "task":
        return None if segs in (["id"], ["external_id"]) else f"{reference!r}: a task has id and external_id"
    if root == "data":
        if not segs or segs[0] not in ("url", "metadata"):
            return f"{reference!r}: the source task's data has url and metadata"
        if segs[0] == "url" and len(segs) > 1:
            return f"{reference!r}: url is a string"
        if segs[0] == "metadata" and len(segs) > 1 and segs[1] not in source.metadata_keys:
            known = ", ".join(sorted(source.metadata_keys)) or "none known"
            return f"{reference!r}: the source stage's tasks have no metadata key {segs[1]!r} (known: {known})"
        return None
    if root == "label":
        if segs:
            return f"{reference!r}: $label has no fields"
        return "$label: the source schema (free_text) has no labels" if source.answer_type == "free_text" else None
    if not segs:
        return None
    kind = source.answer_type
    if segs[0] not in ANSWER_KEYS.get(kind, set()):
        return f"{reference!r}: a {kind} answer has {', '.join(sorted(ANSWER_KEYS.get(kind, ())))}"
    rest = segs[1:]
    if segs[0] == "attributes":
        return _attribute_problem(reference, rest, source)
    if segs[0] in ("objects", "spans") and rest:
        if not isinstance(rest[0], int):
            return f"{reference!r}: {segs[0]} is a list: name an item, {segs[0]}[0]"
        if len(rest) > 1:
            if rest[1] not in ITEM_KEYS[kind]:
                return f"{reference!r}: an item of a {kind} answer has {', '.join(sorted(ITEM_KEYS[kind]))}"
            if rest[1] == "attributes":
                return _attribute_problem(reference, rest[2:], source)
    return None


def _attribute_problem(reference: str, rest: list, source: Source) -> str | None:
    if rest and rest[0] not in source.attributes:
        return f"{reference!r}: the source schema has no attribute {rest[0]!r}"
    return None


def template_errors(template: Any, source: Source, path: str) -> Errors:
    errors: Errors = {}
    if not isinstance(template, dict):
        return {path: ["must be an object: url and metadata keys"]}
    if len(json.dumps(template)) > MAX_TEMPLATE_BYTES:
        return {path: [f"must be at most {MAX_TEMPLATE_BYTES} bytes of JSON"]}
    for key, value in template.items():
        where = f"{path}.{key}"
        if not NAME_RE.match(key):
            _err(errors, where, "is not a metadata key: 1-64 letters, digits or _.:-")
            continue
        if key == "url" and not isinstance(value, str):
            _err(errors, where, "must be a reference ($data.url) or a URL")
            continue
        if key == "crop" and not (isinstance(value, str) and value.endswith(".bbox") and source.answer_type == "bbox"):
            _err(errors, where, "must name a box of the source answer: $answer.objects[<n>].bbox of a bbox schema")
            continue
        _value_check(value, source, where, errors, 0)
    return errors


def _value_check(value: Any, source: Source, path: str, errors: Errors, depth: int) -> None:
    if depth > MAX_DEPTH:
        return _err(errors, path, f"is nested more than {MAX_DEPTH} deep")
    if isinstance(value, str) and value.startswith("$") and not value.startswith("$$"):
        if problem := reference_problem(value, source):
            _err(errors, path, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            _value_check(item, source, f"{path}.{key}", errors, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _value_check(item, source, f"{path}[{index}]", errors, depth + 1)


def condition_errors(condition: Any, source: Source, path: str) -> Errors:
    errors: Errors = {}
    if not isinstance(condition, dict):
        return {path: ['must be an object such as {"label": {"in": ["..."]}}']}
    for key, test in condition.items():
        where = f"{path}.{key}"
        if key not in ("label", "verdict"):
            _err(errors, where, "is not a condition: label or verdict")
            continue
        if key == "verdict" and source.trigger != "review.completed":
            _err(errors, where, "only an edge triggered by review.completed has a verdict")
            continue
        if key == "label" and source.answer_type == "free_text":
            _err(errors, where, "the source schema (free_text) has no labels")
            continue
        if not isinstance(test, dict) or len(test) != 1 or next(iter(test)) not in ("in", "not_in"):
            _err(errors, where, 'must be {"in": [...]} or {"not_in": [...]}')
            continue
        op, values = next(iter(test.items()))
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            _err(errors, f"{where}.{op}", "must be a non-empty list of strings")
            continue
        known = source.labels if key == "label" else frozenset(VERDICTS)
        for index, value in enumerate(values):
            if value not in known:
                what = "a label of the source schema" if key == "label" else f"a verdict ({', '.join(VERDICTS)})"
                _err(errors, f"{where}.{op}[{index}]", f"{value!r} is not {what}")
    return errors


# -- evaluation ------------------------------------------------------------------------------------------------------

def answer_labels(answer: Any) -> list[str]:
    if not isinstance(answer, dict):
        return []
    if isinstance(answer.get("label"), str):
        return [answer["label"]]
    if isinstance(answer.get("labels"), list):
        return [v for v in answer["labels"] if isinstance(v, str)]
    items = answer.get("objects", answer.get("spans"))
    if isinstance(items, list):
        return [i["label"] for i in items if isinstance(i, dict) and isinstance(i.get("label"), str)]
    return []


def condition_holds(condition: dict, *, answer: Any, verdict: str | None) -> bool:
    for key, test in condition.items():
        have = set(answer_labels(answer)) if key == "label" else {verdict}
        op, values = next(iter(test.items()))
        hit = bool(have & set(values))
        if hit != (op == "in"):
            return False
    return True


@dataclass(frozen=True)
class Finished:
    """A finished source task as an edge sees it."""

    task_id: str
    external_id: str | None
    data: dict
    answer: Any
    verdict: str | None = None


def resolve(reference: str, finished: Finished) -> Any:
    root, segs = parse(reference)
    if root == "task":
        value: Any = {"id": finished.task_id, "external_id": finished.external_id}
    elif root == "data":
        value = finished.data
    elif root == "label":
        labels = answer_labels(finished.answer)
        if not labels:
            raise RenderError("$label: the answer has no label")
        return labels[0] if isinstance(finished.answer, dict) and "label" in finished.answer else labels
    else:
        value = finished.answer
    for seg in segs:
        if isinstance(seg, int):
            value = value[seg] if isinstance(value, list) and seg < len(value) else MISSING
        else:
            value = value.get(seg, MISSING) if isinstance(value, dict) else MISSING
        if value is MISSING:
            raise RenderError(f"{reference}: the finished task has no such value")
    if value is None:
        raise RenderError(f"{reference}: the finished task has no such value")
    return value


def render(value: Any, finished: Finished) -> Any:
    if isinstance(value, str) and value.startswith("$$"):
        return value[1:]
    if isinstance(value, str) and value.startswith("$"):
        return resolve(value, finished)
    if isinstance(value, dict):
        return {k: render(v, finished) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, finished) for v in value]
    return value


def template_render(template: dict, finished: Finished) -> dict:
    """{"url": ..., "metadata": {...}}: the new task's share of data from this edge."""
    out = {k: render(v, finished) for k, v in template.items()}
    url = out.pop("url", None) if "url" in template else render("$data.url", finished)
    return {"url": url, "metadata": out}


def join_value(join: str, finished: Finished) -> str:
    return json.dumps(resolve(join, finished), sort_keys=True, separators=(",", ":"))
