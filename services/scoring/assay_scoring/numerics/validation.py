"""Validation of answer JSON per answer type; errors carry a field path and a reason.

Shapes (all coordinates in pixels, origin top-left):

- single choice: ``{"label": str}``
- multi choice: ``{"labels": [str, ...]}`` (no duplicates)
- boxes: ``{"objects": [{"label": str, "bbox": [x, y, w, h], "attributes": {...}}]}``,
  x, y the top-left corner, w, h > 0
- polygons: ``{"objects": [{"label": str, "points": [[x, y], ...], "attributes": {...}}]}``,
  at least 3 points, non-zero area
- keypoints: ``{"objects": [{"label": str, "keypoints": [[x, y, v], ...], "attributes": {...}}]}``,
  v = 0 not labelled, 1 labelled but occluded, 2 visible
- text spans: ``{"spans": [{"label": str, "start": int, "end": int}]}``, 0 <= start < end
- free text: ``{"text": str}``
"""

from __future__ import annotations

import math
from typing import Any

from .errors import AnswerValidationError


def _fail(path: str, reason: str) -> None:
    raise AnswerValidationError(path=path, reason=reason)


def _obj(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        _fail(path, "must be an object")
    return value


def _label(value: Any, path: str, allowed: frozenset[str] | None) -> str:
    if not isinstance(value, str) or not value:
        _fail(path, "must be a non-empty string")
    if allowed is not None and value not in allowed:
        _fail(path, f"unknown label {value!r}")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(path, "must be a finite number")
    return float(value)


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        _fail(path, "must be an array")
    return value


def _attributes(obj: dict, path: str) -> None:
    if "attributes" in obj and not isinstance(obj["attributes"], dict):
        _fail(f"{path}.attributes", "must be an object")


def _objects(answer: Any) -> list:
    a = _obj(answer, "")
    if "objects" not in a:
        _fail("objects", "is required")
    return _list(a["objects"], "objects")


def validate_single_choice(*, answer: Any, labels: frozenset[str] | None = None) -> str:
    """Return the label of a single-choice answer."""
    a = _obj(answer, "")
    if "label" not in a:
        _fail("label", "is required")
    return _label(a["label"], "label", labels)


def validate_multi_choice(*, answer: Any, labels: frozenset[str] | None = None) -> list[str]:
    """Return the selected labels of a multi-choice answer."""
    a = _obj(answer, "")
    if "labels" not in a:
        _fail("labels", "is required")
    out = [_label(v, f"labels[{i}]", labels) for i, v in enumerate(_list(a["labels"], "labels"))]
    seen: set[str] = set()
    for i, v in enumerate(out):
        if v in seen:
            _fail(f"labels[{i}]", f"duplicate label {v!r}")
        seen.add(v)
    return out


def validate_boxes(*, answer: Any, labels: frozenset[str] | None = None) -> list[dict]:
    """Return objects with ``bbox`` as four floats; w and h must be > 0."""
    out = []
    for i, o in enumerate(_objects(answer)):
        p = f"objects[{i}]"
        o = _obj(o, p)
        lab = _label(o.get("label"), f"{p}.label", labels)
        bb = _list(o.get("bbox"), f"{p}.bbox")
        if len(bb) != 4:
            _fail(f"{p}.bbox", "must have 4 numbers [x, y, w, h]")
        x, y, w, h = (_number(v, f"{p}.bbox[{j}]") for j, v in enumerate(bb))
        if w <= 0:
            _fail(f"{p}.bbox[2]", "width must be > 0")
        if h <= 0:
            _fail(f"{p}.bbox[3]", "height must be > 0")
        _attributes(o, p)
        out.append({"label": lab, "bbox": [x, y, w, h], "attributes": o.get("attributes", {})})
    return out


def validate_polygons(*, answer: Any, labels: frozenset[str] | None = None) -> list[dict]:
    """Return objects with ``points`` as float pairs (>= 3 points). Area checks are
    done by :func:`assay_scoring.numerics.geometry.polygon_from_points`."""
    from .geometry import polygon_from_points

    out = []
    for i, o in enumerate(_objects(answer)):
        p = f"objects[{i}]"
        o = _obj(o, p)
        lab = _label(o.get("label"), f"{p}.label", labels)
        pts = _list(o.get("points"), f"{p}.points")
        if len(pts) < 3:
            _fail(f"{p}.points", "needs at least 3 points")
        coords = []
        for j, pt in enumerate(pts):
            pt = _list(pt, f"{p}.points[{j}]")
            if len(pt) != 2:
                _fail(f"{p}.points[{j}]", "must be [x, y]")
            coords.append((_number(pt[0], f"{p}.points[{j}][0]"), _number(pt[1], f"{p}.points[{j}][1]")))
        _attributes(o, p)
        polygon_from_points(points=coords, path=f"{p}.points")
        out.append({"label": lab, "points": coords, "attributes": o.get("attributes", {})})
    return out


def validate_keypoints(*, answer: Any, n_keypoints: int, labels: frozenset[str] | None = None) -> list[dict]:
    """Return objects with ``keypoints`` as (x, y, v) triples, exactly ``n_keypoints``."""
    out = []
    for i, o in enumerate(_objects(answer)):
        p = f"objects[{i}]"
        o = _obj(o, p)
        lab = _label(o.get("label"), f"{p}.label", labels)
        kps = _list(o.get("keypoints"), f"{p}.keypoints")
        if len(kps) != n_keypoints:
            _fail(f"{p}.keypoints", f"must have {n_keypoints} entries, got {len(kps)}")
        trip = []
        for j, kp in enumerate(kps):
            kp = _list(kp, f"{p}.keypoints[{j}]")
            if len(kp) != 3:
                _fail(f"{p}.keypoints[{j}]", "must be [x, y, v]")
            x, y = _number(kp[0], f"{p}.keypoints[{j}][0]"), _number(kp[1], f"{p}.keypoints[{j}][1]")
            if kp[2] not in (0, 1, 2) or isinstance(kp[2], bool):
                _fail(f"{p}.keypoints[{j}][2]", "visibility must be 0, 1 or 2")
            trip.append((x, y, int(kp[2])))
        _attributes(o, p)
        out.append({"label": lab, "keypoints": trip, "attributes": o.get("attributes", {})})
    return out


def validate_spans(*, answer: Any, text_length: int | None = None,
                   labels: frozenset[str] | None = None) -> list[dict]:
    """Return spans as {label, start, end} with integer character offsets, end exclusive."""
    a = _obj(answer, "")
    if "spans" not in a:
        _fail("spans", "is required")
    out = []
    for i, s in enumerate(_list(a["spans"], "spans")):
        p = f"spans[{i}]"
        s = _obj(s, p)
        lab = _label(s.get("label"), f"{p}.label", labels)
        st, en = s.get("start"), s.get("end")
        for name, v in (("start", st), ("end", en)):
            if isinstance(v, bool) or not isinstance(v, int):
                _fail(f"{p}.{name}", "must be an integer")
        if st < 0:
            _fail(f"{p}.start", "must be >= 0")
        if en <= st:
            _fail(f"{p}.end", "must be greater than start")
        if text_length is not None and en > text_length:
            _fail(f"{p}.end", f"exceeds the text length {text_length}")
        out.append({"label": lab, "start": st, "end": en})
    return out


def validate_free_text(*, answer: Any) -> str:
    """Return the text of a free-text answer."""
    a = _obj(answer, "")
    if not isinstance(a.get("text"), str):
        _fail("text", "must be a string")
    return a["text"]
