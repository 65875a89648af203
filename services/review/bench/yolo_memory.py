"""The YOLO writer's time and peak memory for N images (one box each), without the database or HTTP.

    cd services/review && uv run python bench/yolo_memory.py --images 400000

A zip's central directory names every file, so the writer keeps one entry per image until the end (ADR 0089).
"""
from __future__ import annotations

import argparse
import resource
import time
import uuid

from assay_review.formats_images import yolo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    n = parser.parse_args().images
    rows = ({"task_id": uuid.UUID(int=i), "answer": {"objects": [{"label": "car", "bbox": [1, 2, 30, 40]}]},
             "image": {"width": 640, "height": 480}} for i in range(n))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, size = time.monotonic(), 0
    for chunk in yolo(rows, labels=["car", "person"], answer_type="bbox"):
        size += len(chunk)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} images in {time.monotonic() - started:.1f} s, zip {size / 2**20:.1f} MiB; "
          f"peak RSS {before:.0f} -> {peak:.0f} MiB ({(peak - before) * 1024 / n:.2f} KiB per image)")


if __name__ == "__main__":
    main()
