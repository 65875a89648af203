"""Label schemas (ontologies) and answers: validation only, no database.

A schema is {"answer_type": T, "labels": [{"name", "attributes": [{"name", "type", ...}]}], ...}.
Answers by type:
- single_choice: {"label": L, "attributes": {...}}
- multi_choice: {"labels": [L, ...]}
- bbox: {"objects": [{"label": L, "bbox": [x, y, w, h], "attributes": {...}}]}
- polygon: {"objects": [{"label": L, "points": [[x, y], ...≥3], "attributes": {...}}]}
- keypoints: {"objects": [{"label": L, "points": [[x, y], ...≥1], "attributes": {...}}]}
- text_span: {"spans": [{"label": L, "start": i, "end": j > i, "attributes": {...}}]}
- free_text: {"text": "..."}
Every problem is reported as {field path: [reason]}.
"""
from __future__ import annotations

import math
import re
from typing import Any

ANSWER_TYPES = ("single_choice", "multi_choice", "bbox", "polygon", "keypoints", "text_span", "free_text")
ATTRIBUTE_TYPES = ("select", "multi_select", "number", "text", "boolean")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,63}$")
OBJECT_TYPES = {"bbox": "bbox", "polygon": "points", "keypoints": "points"}

Errors = dict[str, list[str]]


def _err(errors: Errors, path: str, reason: str) -> None:
    errors.setdefault(path, []).append(reason)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _attribute_validate(attr: Any, path: str, errors: Errors) -> None:
    if not isinstance(attr, dict):
        return _err(errors, path, "must be an object")
    unknown = set(attr) - {"name", "type", "options", "required", "min", "max"}
    for key in sorted(unknown):
        _err(errors, f"{path}.{key}", "is not a known attribute property")
    if not isinstance(attr.get("name"), str) or not NAME_RE.match(attr["name"]):
        _err(errors, f"{path}.name", "is required: 1-64 letters, digits, space or _.:/-")
    kind = attr.get("type")
    if kind not in ATTRIBUTE_TYPES:
        return _err(errors, f"{path}.type", f"must be one of {', '.join(ATTRIBUTE_TYPES)}")
    options = attr.get("options")
    if kind in ("select", "multi_select"):
        if not isinstance(options, list) or not options or not all(isinstance(o, str) and o for o in options):
            _err(errors, f"{path}.options", "must be a non-empty list of non-empty strings")
        elif len(set(options)) != len(options):
            _err(errors, f"{path}.options", "must not repeat an option")
    elif options is not None:
        _err(errors, f"{path}.options", f"is only allowed for select and multi_select, not {kind}")
    for bound in ("min", "max"):
        if bound in attr and (kind != "number" or not _number(attr[bound])):
            _err(errors, f"{path}.{bound}", "is only allowed, as a number, for number attributes")
    if kind == "number" and _number(attr.get("min")) and _number(attr.get("max")) and attr["min"] > attr["max"]:
        _err(errors, f"{path}.max", "must be at least min")
    if "required" in attr and not isinstance(attr["required"], bool):
        _err(errors, f"{path}.required", "must be true or false")


def schema_errors(definition: Any) -> Errors:
    """Problems of a label schema definition; empty when it is valid."""
    errors: Errors = {}
    if not isinstance(definition, dict):
        return {"": ["must be an object with answer_type and labels"]}
    for key in sorted(set(definition) - {"answer_type", "labels", "max_objects"}):
        _err(errors, key, "is not a known schema property")
    kind = definition.get("answer_type")
    if kind not in ANSWER_TYPES:
        _err(errors, "answer_type", f"must be one of {', '.join(ANSWER_TYPES)}")
    labels = definition.get("labels")
    if kind == "free_text":
        if labels not in (None, []):
            _err(errors, "labels", "must be empty for free_text")
        return errors
    if not isinstance(labels, list) or not labels:
        _err(errors, "labels", "must be a non-empty list")
        return errors
    if len(labels) > 1000:
        _err(errors, "labels", "must have at most 1000 labels")
    seen: set[str] = set()
    for i, label in enumerate(labels):
        path = f"labels[{i}]"
        if not isinstance(label, dict):
            _err(errors, path, "must be an object")
            continue
        for key in sorted(set(label) - {"name", "attributes"}):
            _err(errors, f"{path}.{key}", "is not a known label property")
        name = label.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            _err(errors, f"{path}.name", "is required: 1-64 letters, digits, space or _.:/-")
        elif name in seen:
            _err(errors, f"{path}.name", f"repeats the label {name!r}")
        else:
            seen.add(name)
        attributes = label.get("attributes", [])
        if not isinstance(attributes, list):
            _err(errors, f"{path}.attributes", "must be a list")
            continue
        names = [a.get("name") for a in attributes if isinstance(a, dict)]
        if len(set(names)) != len(names):
            _err(errors, f"{path}.attributes", "must not repeat an attribute name")
        for j, attr in enumerate(attributes):
            _attribute_validate(attr, f"{path}.attributes[{j}]", errors)
    max_objects = definition.get("max_objects")
    if max_objects is not None and (not isinstance(max_objects, int) or isinstance(max_objects, bool) or max_objects < 1):
        _err(errors, "max_objects", "must be a positive integer")
    return errors


def _is_label(value: Any, labels: dict) -> bool:
    """A label is a string naming one of the schema's labels (a list or object there is not, and is unhashable)."""
    return isinstance(value, str) and value in labels


def _attributes_check(values: Any, specs: list[dict], path: str, errors: Errors) -> None:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        return _err(errors, path, "must be an object")
    by_name = {a["name"]: a for a in specs}
    for key in sorted(set(values) - set(by_name)):
        _err(errors, f"{path}.{key}", "is not an attribute of this label")
    for name, spec in by_name.items():
        p = f"{path}.{name}"
        if name not in values:
            if spec.get("required"):
                _err(errors, p, "is required")
            continue
        value, kind = values[name], spec["type"]
        if kind == "select" and value not in spec["options"]:
            _err(errors, p, f"must be one of {', '.join(spec['options'])}")
        elif kind == "multi_select" and (not isinstance(value, list) or any(v not in spec["options"] for v in value)
                                         or len(set(map(str, value))) != len(value)):
            _err(errors, p, f"must be a list of distinct values from {', '.join(spec['options'])}")
        elif kind == "number":
            if not _number(value):
                _err(errors, p, "must be a number")
            elif "min" in spec and value < spec["min"]:
                _err(errors, p, f"must be at least {spec['min']}")
            elif "max" in spec and value > spec["max"]:
                _err(errors, p, f"must be at most {spec['max']}")
        elif kind == "text" and (not isinstance(value, str) or len(value) > 10000):
            _err(errors, p, "must be a string of at most 10000 characters")
        elif kind == "boolean" and not isinstance(value, bool):
            _err(errors, p, "must be true or false")


def _keys_check(item: dict, allowed: set[str], path: str, errors: Errors) -> None:
    for key in sorted(set(item) - allowed):
        _err(errors, f"{path}.{key}", "is not allowed here")


def _point_ok(point: Any) -> bool:
    return isinstance(point, list) and len(point) == 2 and all(_number(v) for v in point)


def answer_errors(definition: dict, answer: Any, *, path: str = "answer") -> Errors:
    """Problems of an answer against one schema version; empty when it is valid."""
    errors: Errors = {}
    kind = definition["answer_type"]
    labels = {label["name"]: label.get("attributes", []) for label in definition.get("labels") or []}
    if not isinstance(answer, dict):
        return {path: ["must be an object"]}
    if kind == "free_text":
        _keys_check(answer, {"text"}, path, errors)
        if not isinstance(answer.get("text"), str) or len(answer["text"]) > 100000:
            _err(errors, f"{path}.text", "is required: a string of at most 100000 characters")
        return errors
    if kind == "single_choice":
        _keys_check(answer, {"label", "attributes"}, path, errors)
        if not _is_label(answer.get("label"), labels):
            _err(errors, f"{path}.label", f"must be one of the schema's labels ({', '.join(list(labels)[:20])})")
        else:
            _attributes_check(answer.get("attributes"), labels[answer["label"]], f"{path}.attributes", errors)
        return errors
    if kind == "multi_choice":
        _keys_check(answer, {"labels"}, path, errors)
        chosen = answer.get("labels")
        if not isinstance(chosen, list):
            _err(errors, f"{path}.labels", "is required: a list of labels")
            return errors
        for i, name in enumerate(chosen):
            if not _is_label(name, labels):
                _err(errors, f"{path}.labels[{i}]", "is not a label of the schema")
        if len({str(c) for c in chosen}) != len(chosen):
            _err(errors, f"{path}.labels", "must not repeat a label")
        return errors
    list_key = "spans" if kind == "text_span" else "objects"
    _keys_check(answer, {list_key}, path, errors)
    items = answer.get(list_key)
    if not isinstance(items, list):
        _err(errors, f"{path}.{list_key}", "is required: a list")
        return errors
    limit = definition.get("max_objects") or 10000
    if len(items) > limit:
        _err(errors, f"{path}.{list_key}", f"must have at most {limit} items")
        return errors
    for i, item in enumerate(items):
        p = f"{path}.{list_key}[{i}]"
        if not isinstance(item, dict):
            _err(errors, p, "must be an object")
            continue
        geometry = "start" if kind == "text_span" else OBJECT_TYPES[kind]
        allowed = {"label", "attributes", "start", "end"} if kind == "text_span" else {"label", "attributes", geometry}
        _keys_check(item, allowed, p, errors)
        if not _is_label(item.get("label"), labels):
            _err(errors, f"{p}.label", "is not a label of the schema")
        else:
            _attributes_check(item.get("attributes"), labels[item["label"]], f"{p}.attributes", errors)
        if kind == "bbox":
            box = item.get("bbox")
            if not isinstance(box, list) or len(box) != 4 or not all(_number(v) for v in box):
                _err(errors, f"{p}.bbox", "is required: [x, y, width, height] numbers")
            elif box[2] <= 0 or box[3] <= 0:
                _err(errors, f"{p}.bbox", "width and height must be positive")
        elif kind in ("polygon", "keypoints"):
            points, least = item.get("points"), 3 if kind == "polygon" else 1
            if not isinstance(points, list) or len(points) < least:
                _err(errors, f"{p}.points", f"is required: a list of at least {least} [x, y] points")
            else:
                for j, point in enumerate(points):
                    if not _point_ok(point):
                        _err(errors, f"{p}.points[{j}]", "must be [x, y] numbers")
        else:
            start, end = item.get("start"), item.get("end")
            if not isinstance(start, int) or isinstance(start, bool) or start < 0:
                _err(errors, f"{p}.start", "is required: an integer at least 0")
            elif not isinstance(end, int) or isinstance(end, bool) or end <= start:
                _err(errors, f"{p}.end", "is required: an integer greater than start")
    return errors
