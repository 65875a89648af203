"""What is wrong with a reviewer's correction, before it becomes the label that ships (no Django here)."""
from __future__ import annotations

import math
from typing import Any, Sequence

from assay_review.numerics.sampling import answer_labels


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def correction_problems(*, answer: Any, labels: Sequence[str] | None, image: dict | None) -> dict[str, str]:
    """Field path → reason. A label no schema version of the project has (when its labels are known); a box
    (`objects[i].bbox`, [x, y, width, height] in pixels) without a positive size or outside the image, when the
    image's width and height are known. Empty when the correction may ship."""
    problems: dict[str, str] = {}
    if labels:
        unknown = [label for label in answer_labels(answer) if label not in labels]
        if unknown:
            problems["corrected_answer"] = f"not labels of the project's schema: {', '.join(unknown[:10])}"
    known = isinstance(image, dict) and all(_number(image.get(k)) and image[k] > 0 for k in ("width", "height"))
    objects = answer.get("objects") if isinstance(answer, dict) else None
    if not known or not isinstance(objects, list):
        return problems
    for i, obj in enumerate(objects):
        bbox = obj.get("bbox") if isinstance(obj, dict) else None
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_number(v) for v in bbox):
            continue
        at = f"corrected_answer.objects[{i}].bbox"
        x, y, w, h = bbox
        if w <= 0 or h <= 0:
            problems[at] = "width and height must be positive"
        elif x < 0 or y < 0 or x + w > image["width"] or y + h > image["height"]:
            problems[at] = f"is outside the image ({image['width']:g} x {image['height']:g})"
    return problems
