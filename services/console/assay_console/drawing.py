"""An answer as shapes to draw over its image (SVG in image pixels) or as marked text segments."""
from __future__ import annotations


def shapes_of(answer: dict | None, *, answer_type: str, kind: str) -> list[dict]:
    """Boxes, polygons and keypoints of `answer`; `kind` (answer / consensus) picks the colour class."""
    if not isinstance(answer, dict):
        return []
    shapes = []
    for obj in answer.get("objects") or []:
        if not isinstance(obj, dict):
            continue
        label = str(obj.get("label", ""))
        if answer_type == "bbox" and isinstance(obj.get("bbox"), list) and len(obj["bbox"]) == 4:
            x, y, w, h = (float(v) for v in obj["bbox"])
            shapes.append({"type": "rect", "x": x, "y": y, "w": w, "h": h, "label": label, "kind": kind,
                           "tx": x, "ty": max(y - 4, 10)})
        elif answer_type == "polygon" and isinstance(obj.get("points"), list) and obj["points"]:
            points = [(float(p[0]), float(p[1])) for p in obj["points"]]
            shapes.append({"type": "polygon", "points": " ".join(f"{x},{y}" for x, y in points), "label": label,
                           "kind": kind, "tx": points[0][0], "ty": max(points[0][1] - 4, 10)})
        elif answer_type == "keypoints" and isinstance(obj.get("points"), list):
            for x, y in obj["points"]:
                shapes.append({"type": "point", "x": float(x), "y": float(y), "label": label, "kind": kind,
                               "tx": float(x) + 5, "ty": float(y) - 5})
    return shapes


def choices_of(answer: dict | None) -> list[str]:
    if not isinstance(answer, dict):
        return []
    if "label" in answer:
        return [str(answer["label"])]
    return [str(label) for label in answer.get("labels") or []]


def text_segments(text: str, answer: dict | None) -> list[dict]:
    """`text` cut at the answer's spans: [{text, label|None}], spans clipped to the text, overlaps dropped."""
    spans = sorted((s for s in (answer or {}).get("spans") or [] if isinstance(s, dict)),
                   key=lambda s: (s.get("start", 0), s.get("end", 0)))
    out, at = [], 0
    for span in spans:
        start, end = max(int(span.get("start", 0)), at), min(int(span.get("end", 0)), len(text))
        if end <= start:
            continue
        if start > at:
            out.append({"text": text[at:start], "label": None})
        out.append({"text": text[start:end], "label": str(span.get("label", ""))})
        at = end
    if at < len(text):
        out.append({"text": text[at:], "label": None})
    return out
