"""Export formats that place objects relative to the image: YOLO and Label Studio's boxes and polygons (no Django).

Both need each image's width and height: a row here carries `image` ({width, height}, positive numbers), which the
caller has checked is present for every row before the first byte (ADR 0089). Nothing is built whole: YOLO is a
zip written by the standard library to a sink that hands out its bytes after each file; Label Studio's JSON is
yielded task by task.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Iterable, Iterator

from assay_review.formats import PROVENANCE, _text

IMAGE_TYPES = ("bbox", "polygon")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # one shared timestamp: the zip's directory keeps one per file


class _Sink:
    """A write-only stream without `tell`: zipfile then writes data descriptors and never seeks back."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


class _Counted:
    """Stands for the written entries where zipfile counts them at the end (their records are already bytes)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return iter(())


class _CompactZip(zipfile.ZipFile):
    """A zip that keeps each file's central directory record as bytes once the file is written (about 90 bytes a
    file) instead of a ZipInfo object and its name index; the records are packed by zipfile's own code."""

    _END_RECORD = 22  # the end-of-archive record zipfile writes after one entry at offset 0, without a comment

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._directory = bytearray()
        self._entries = 0

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None) -> None:
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)
        zinfo = self.filelist.pop()
        self.NameToInfo.pop(zinfo.filename, None)
        fp, start = self.fp, self.start_dir
        self.fp, self.filelist, self.start_dir = io.BytesIO(), [zinfo], 0
        try:
            super()._write_end_record()
            self._directory += self.fp.getvalue()[:-self._END_RECORD]
        finally:
            self.fp, self.filelist, self.start_dir = fp, [], start
        self._entries += 1

    def _write_end_record(self) -> None:
        self.fp.write(self._directory)
        self.filelist = _Counted(self._entries)
        super()._write_end_record()


def _objects(answer: Any) -> list[dict]:
    objects = answer.get("objects", []) if isinstance(answer, dict) else []
    return [o for o in objects if isinstance(o, dict) and isinstance(o.get("label"), str)]


def _points(obj: dict) -> list[list[float]] | None:
    points = obj.get("points")
    if isinstance(points, list) and len(points) >= 3 and all(isinstance(p, list) and len(p) >= 2 for p in points):
        return [[float(p[0]), float(p[1])] for p in points]
    return None


def _bbox(obj: dict) -> list[float] | None:
    box = obj.get("bbox")
    if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
        return [float(v) for v in box]
    return None


def _g(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"


def yolo_lines(answer: Any, *, answer_type: str, classes: dict[str, int], width: float, height: float) -> list[str]:
    """One image's YOLO lines: `class cx cy w h` for boxes, `class x1 y1 x2 y2 …` for polygons, normalised."""
    lines = []
    for obj in _objects(answer):
        if obj["label"] not in classes:
            continue
        cls = classes[obj["label"]]
        if answer_type == "bbox" and (box := _bbox(obj)) is not None:
            x, y, w, h = box
            values = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]
        elif answer_type == "polygon" and (points := _points(obj)) is not None:
            values = [c for x, y in points for c in (x / width, y / height)]
        else:
            continue
        lines.append(" ".join([str(cls), *(_g(v) for v in values)]))
    return lines


def yolo(rows: Iterable[dict], *, labels: list[str], answer_type: str) -> Iterator[bytes]:
    """A zip: `classes.txt` (one label a line, its line number the class id) and one `<task_id>.txt` per image
    (empty for an image without objects), streamed file by file."""
    classes = {name: i for i, name in enumerate(labels)}
    sink = _Sink()
    with _CompactZip(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("classes.txt", "".join(f"{name}\n" for name in labels))
        yield sink.take()
        for r in rows:
            image = r["image"]
            lines = yolo_lines(r["answer"], answer_type=answer_type, classes=classes, width=float(image["width"]),
                               height=float(image["height"]))
            archive.writestr(zipfile.ZipInfo(f"{r['task_id']}.txt", date_time=_EPOCH),
                             "".join(f"{line}\n" for line in lines), compress_type=zipfile.ZIP_DEFLATED)
            if (chunk := sink.take()):
                yield chunk
    yield sink.take()


def labelstudio_regions(answer: Any, *, answer_type: str, width: float, height: float) -> list[dict]:
    """Label Studio results for one image: rectangles or polygons in percent of the image's size."""
    results = []
    for i, obj in enumerate(_objects(answer)):
        base = {"id": f"r{i}", "from_name": "label", "to_name": "image", "original_width": width,
                "original_height": height, "image_rotation": 0}
        if answer_type == "bbox" and (box := _bbox(obj)) is not None:
            x, y, w, h = box
            results.append({**base, "type": "rectanglelabels", "value": {
                "x": 100 * x / width, "y": 100 * y / height, "width": 100 * w / width, "height": 100 * h / height,
                "rotation": 0, "rectanglelabels": [obj["label"]]}})
        elif answer_type == "polygon" and (points := _points(obj)) is not None:
            results.append({**base, "type": "polygonlabels", "value": {
                "points": [[100 * x / width, 100 * y / height] for x, y in points], "closed": True,
                "polygonlabels": [obj["label"]]}})
    return results


def labelstudio_images(rows: Iterable[dict], *, answer_type: str) -> Iterator[str]:
    """Label Studio's task import format for images: each task with one annotation (its final label)."""
    yield "["
    first = True
    for n, r in enumerate(rows, 1):
        width, height = float(r["image"]["width"]), float(r["image"]["height"])
        result = labelstudio_regions(r["answer"], answer_type=answer_type, width=width, height=height)
        data = {"assay_task_id": str(r["task_id"]), "batch_id": r["batch_id"]}
        task = {"id": n, "data": data, "annotations": [{"result": result, "ground_truth": r["source"] != "consensus",
                                                        "meta": {k: _text(r[k]) for k in PROVENANCE}}]}
        yield ("" if first else ",") + json.dumps(task)
        first = False
    yield "]"
