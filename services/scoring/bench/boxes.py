"""Pedestrian bounding-box benchmark: worker answers and consensus against expert boxes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from assay_scoring.numerics.box_batch import BoxBatch, box_consensus_batch
from assay_scoring.numerics.geometry import box_iou_matrix, match_pairs, xywh_to_xyxy


def _boxes(entries: list) -> np.ndarray:
    rows = [[e[1]["x"] - e[1]["scaleX"] / 2, e[1]["y"] - e[1]["scaleY"] / 2, e[1]["scaleX"], e[1]["scaleY"]]
            for e in entries if e is not None]
    return np.array(rows, dtype=float).reshape(-1, 4)


def load(folder: Path) -> tuple[dict, dict]:
    """crowd: image -> list of (worker, boxes xywh); expert: image -> boxes xywh."""
    crowd_raw = json.loads((folder / "crowd.json").read_text())
    expert_raw = json.loads((folder / "expert.json").read_text())
    crowd: dict = {}
    for ann in crowd_raw["annotations"]:
        for img, entries in ann["answer"]["images"].items():
            if entries is None:
                continue
            crowd.setdefault(img, []).append((ann["worker"], _boxes(entries)))
    expert: dict = {}
    for ann in expert_raw["annotations"]:
        for img, entries in ann["answer"]["images"].items():
            if entries is not None:
                expert[img] = _boxes(entries)
    return crowd, expert


def _f1_iou(gold: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, list[float]]:
    if gold.shape[0] == 0 or pred.shape[0] == 0:
        return 0, pred.shape[0], gold.shape[0], []
    sim = box_iou_matrix(xywh_to_xyxy(gold), xywh_to_xyxy(pred))
    r, c = match_pairs(similarity=sim, threshold=0.5)
    return r.size, pred.shape[0], gold.shape[0], sim[r, c].tolist()


def run(folder: Path, quorum: float = 0.5, rounds: int = 2, cluster_ious: tuple = (None, 0.3)) -> dict:
    """Per-answer F1 (micro over all answers and per answer) and consensus F1 / mean IoU."""
    crowd, expert = load(folder)
    imgs = sorted(i for i in expert if i in crowd)
    tp = npred = ngold = 0
    per_answer = []
    per_worker: dict = {}
    for img in imgs:
        for worker, b in crowd[img]:
            t, p, g, _ = _f1_iou(expert[img], b)
            tp, npred, ngold = tp + t, npred + p, ngold + g
            f = 2 * t / (p + g) if p + g else 1.0
            per_answer.append(f)
            per_worker.setdefault(worker, [0, 0, 0])
            pw = per_worker[worker]
            pw[0] += t
            pw[1] += p
            pw[2] += g
    answer_f1 = 2 * tp / (npred + ngold)
    wf1 = [2 * t / (p + g) for t, p, g in per_worker.values() if p + g]
    workers = sorted({w for lst in crowd.values() for w, _ in lst})
    widx = {w: i for i, w in enumerate(workers)}
    all_imgs = sorted(crowd)
    batches = []
    for img in all_imgs:
        lst = crowd[img]
        boxes = np.concatenate([b for _, b in lst]) if lst else np.zeros((0, 4))
        ann = np.concatenate([np.full(b.shape[0], widx[w]) for w, b in lst]).astype(np.int64)
        batches.append(BoxBatch(boxes=boxes, annotators=ann,
                                answered_by=np.unique([widx[w] for w, _ in lst]).astype(np.int64)))
    variants = {}
    for link in cluster_ious:
        t0 = time.perf_counter()
        results, _ = box_consensus_batch(batches=batches, n_annotators=len(workers), quorum=quorum, rounds=rounds,
                                         cluster_iou=link)
        secs = time.perf_counter() - t0
        by_img = dict(zip(all_imgs, results))
        tp = npred = ngold = 0
        ious: list[float] = []
        for img in imgs:
            pred = np.array(by_img[img].geometry).reshape(-1, 4)
            t, p, g, iou = _f1_iou(expert[img], pred)
            tp, npred, ngold = tp + t, npred + p, ngold + g
            ious += iou
        variants[link] = (2 * tp / (npred + ngold), float(np.mean(ious)), secs)
    first = variants[cluster_ious[0]]
    return {
        "images": len(imgs), "answers": len(per_answer), "answer_f1_micro": answer_f1,
        "answer_f1_mean": float(np.mean(per_answer)), "worker_f1_median": float(np.median(wf1)),
        "consensus_f1": first[0], "consensus_mean_iou": first[1], "consensus_seconds": first[2],
        "variants": variants,
    }
