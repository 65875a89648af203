"""Export formats of final labels, as generators of text chunks over an iterable of rows (no Django here).

A row is a dict with task_id, batch_id, answer, answer_type, source, method, confidence, agreement, revision,
annotators, reviewer, review_id, schema_version, version. Nothing is built whole: each writer yields as it goes.
COCO is written in two passes (images, then annotations), so it takes a function returning a fresh iterable.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable, Iterable, Iterator

CHOICES = ("single_choice", "multi_choice")
OBJECTS = ("bbox", "polygon", "keypoints")
# which answer types each format can carry (None: every type)
FORMATS: dict[str, tuple[str, ...] | None] = {
    "jsonl": None, "csv": CHOICES, "coco": OBJECTS, "labelstudio": CHOICES + ("text_span", "bbox", "polygon"),
    "yolo": ("bbox", "polygon"),
}
# formats that place objects relative to the image: each task needs the image's width and height
NEEDS_IMAGE_SIZE = {"yolo": ("bbox", "polygon"), "labelstudio": ("bbox", "polygon")}
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "coco": "application/json",
                 "labelstudio": "application/json", "yolo": "application/zip"}
PROVENANCE = ("source", "method", "confidence", "agreement", "revision", "annotators", "reviewer", "review_id",
              "schema_version", "version")
_CHUNK = 500


def _text(value: Any) -> Any:
    return str(value) if value is not None and not isinstance(value, (str, int, float, bool, list, dict)) else value


def jsonl(rows: Iterable[dict]) -> Iterator[str]:
    """Assay's own: one object per task, the label and its provenance."""
    buffer: list[str] = []
    for r in rows:
        line = {"task_id": str(r["task_id"]), "batch_id": r["batch_id"], "answer_type": r["answer_type"],
                "label": r["answer"], "provenance": {k: _text(r[k]) for k in PROVENANCE}}
        buffer.append(json.dumps(line, separators=(",", ":")))
        if len(buffer) >= _CHUNK:
            yield "\n".join(buffer) + "\n"
            buffer = []
    if buffer:
        yield "\n".join(buffer) + "\n"


def _choice_labels(answer: Any) -> list[str]:
    if isinstance(answer, dict):
        if isinstance(answer.get("label"), str):
            return [answer["label"]]
        if isinstance(answer.get("labels"), list):
            return [x for x in answer["labels"] if isinstance(x, str)]
    return []


def csv_rows(rows: Iterable[dict]) -> Iterator[str]:
    """Choices: one line per task, several labels joined by `|`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["task_id", "batch_id", "label", "source", "method", "confidence", "reviewer", "schema_version"])
    for i, r in enumerate(rows, 1):
        writer.writerow([r["task_id"], r["batch_id"] or "", "|".join(_choice_labels(r["answer"])), r["source"],
                         r["method"] or "", "" if r["confidence"] is None else r["confidence"], r["reviewer"] or "",
                         "" if r["schema_version"] is None else r["schema_version"]])
        if i % _CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _polygon_area(points: list) -> float:
    n = len(points)
    return abs(sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]
                   for i in range(n))) / 2.0


def _box_of(points: list) -> list[float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def coco_annotation(obj: dict, *, answer_type: str, image_id: int, category_id: int, ann_id: int) -> dict | None:
    """One COCO annotation of an answer's object (None for an object without usable geometry)."""
    ann: dict[str, Any] = {"id": ann_id, "image_id": image_id, "category_id": category_id, "iscrowd": 0}
    if answer_type == "bbox" and isinstance(obj.get("bbox"), list) and len(obj["bbox"]) == 4:
        x, y, w, h = obj["bbox"]
        ann.update(bbox=[x, y, w, h], area=float(w) * float(h))
    elif answer_type == "polygon" and isinstance(obj.get("points"), list) and len(obj["points"]) >= 3:
        points = obj["points"]
        ann.update(segmentation=[[c for p in points for c in p[:2]]], bbox=_box_of(points), area=_polygon_area(points))
    elif answer_type == "keypoints" and isinstance(obj.get("points"), list) and obj["points"]:
        points = obj["points"]
        ann.update(keypoints=[v for p in points for v in (p[0], p[1], 2)], num_keypoints=len(points),
                   bbox=_box_of(points), area=_box_of(points)[2] * _box_of(points)[3])
    else:
        return None
    return ann


def coco(rows: Callable[[], Iterable[dict]], *, labels: list[str], answer_type: str) -> Iterator[str]:
    """COCO instances (boxes, polygons) or person-keypoints style: images are tasks (`file_name` the task id),
    categories the project's labels (1-based ids in schema order). Two passes over `rows()`."""
    categories = {name: i for i, name in enumerate(labels, 1)}
    yield '{"info":{"description":"Assay final labels"},"licenses":[],"categories":'
    yield json.dumps([{"id": i, "name": n, "supercategory": "", **({"keypoints": []} if answer_type == "keypoints" else {})}
                      for n, i in categories.items()])
    yield ',"images":['
    first = True
    for image_id, r in enumerate(rows(), 1):
        yield ("" if first else ",") + json.dumps({"id": image_id, "file_name": str(r["task_id"]),
                                                    "assay_task_id": str(r["task_id"]), "batch_id": r["batch_id"]})
        first = False
    yield '],"annotations":['
    first, ann_id = True, 0
    for image_id, r in enumerate(rows(), 1):
        objects = r["answer"].get("objects", []) if isinstance(r["answer"], dict) else []
        for obj in objects:
            if not isinstance(obj, dict) or obj.get("label") not in categories:
                continue
            ann = coco_annotation(obj, answer_type=answer_type, image_id=image_id, category_id=categories[obj["label"]],
                                  ann_id=ann_id + 1)
            if ann is None:
                continue
            ann_id += 1
            yield ("" if first else ",") + json.dumps(ann)
            first = False
    yield "]}"


def labelstudio(rows: Iterable[dict]) -> Iterator[str]:
    """Label Studio's task import format: a JSON list of tasks, each with one annotation (its final label)."""
    yield "["
    first = True
    for n, r in enumerate(rows, 1):
        answer, kind = r["answer"], r["answer_type"]
        if kind == "text_span":
            result = [{"id": f"s{i}", "from_name": "label", "to_name": "text", "type": "labels",
                       "value": {"start": s["start"], "end": s["end"], "labels": [s["label"]]}}
                      for i, s in enumerate(answer.get("spans", []) if isinstance(answer, dict) else [])]
        else:
            result = [{"id": "c0", "from_name": "choice", "to_name": "data", "type": "choices",
                       "value": {"choices": _choice_labels(answer)}}]
        task = {"id": n, "data": {"assay_task_id": str(r["task_id"]), "batch_id": r["batch_id"]},
                "annotations": [{"result": result, "ground_truth": r["source"] != "consensus",
                                 "meta": {k: _text(r[k]) for k in PROVENANCE}}]}
        yield ("" if first else ",") + json.dumps(task)
        first = False
    yield "]"
