"""Worker reliability for the answer types other than single choice (numpy/scipy only, never Django).

- multi choice: one binary one-coin Dawid-Skene per label (selected or not, gold clamped), combined per
  annotator as the mean of the per-label accuracies over the labels anyone chose;
- boxes and polygons: each annotator's objects are matched (Hungarian on IoU, same label, IoU >= threshold)
  to the fused consensus of the *other* annotators of the item (leave-one-out, so nobody agrees with
  themselves); the skill is the match rate matched / (own + consensus − matched);
- text spans: per item, the character-overlap F1 of the annotator's labelled characters against the
  character vote of the other annotators (both empty = 1); the skill is the mean over items.

Every fit carries `successes` and `trials` for a Beta(1, 1) posterior interval (:meth:`Skills.interval`):
objects for boxes and polygons, answers (items) for multi choice and spans, where `successes` is
skill × answers as for single choice (ADR 0067).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .categorical import one_coin_dawid_skene
from .consensus_objects import box_consensus, polygon_consensus, span_consensus
from .errors import AggregationInputError
from .geometry import box_iou_matrix, match_pairs, polygon_from_points, polygon_iou_matrix, xywh_to_xyxy
from .intervals import LEVEL, Interval, rate_interval


@dataclass(frozen=True)
class Skills:
    """Per annotator (sorted names): skill in [0, 1], the evidence behind it and the answers counted."""

    method: str
    annotators: list[str]
    skill: np.ndarray
    successes: np.ndarray
    trials: np.ndarray
    n_answers: np.ndarray

    def interval(self, index: int, *, level: float = LEVEL) -> Interval:
        """Beta(1, 1) posterior interval of annotator `index`'s skill from its successes and trials."""
        return rate_interval(successes=float(self.successes[index]), n=float(self.trials[index]), method="beta",
                             level=level)


def _groups(items: Sequence, annotators: Sequence, answers: Sequence) -> tuple[list[str], dict]:
    if not (len(items) == len(annotators) == len(answers)):
        raise AggregationInputError("items, annotators and answers must have the same length")
    names = sorted({str(a) for a in annotators})
    by_item: dict[str, list[tuple[int, object]]] = {}
    index = {n: i for i, n in enumerate(names)}
    for item, annotator, answer in zip(items, annotators, answers):
        by_item.setdefault(str(item), []).append((index[str(annotator)], answer))
    return names, by_item


def _finish(method: str, names: list[str], successes: np.ndarray, trials: np.ndarray,
            n_answers: np.ndarray) -> Skills:
    skill = np.divide(successes, trials, out=np.full(len(names), 0.5), where=trials > 0)
    return Skills(method=method, annotators=names, skill=np.clip(skill, 0.0, 1.0), successes=successes,
                  trials=trials, n_answers=n_answers)


def multi_choice_skills(*, items: Sequence, annotators: Sequence, answers: Sequence[Sequence[str]],
                        gold: dict[str, Sequence[str]] | None = None) -> Skills:
    """Per-label binary one-coin Dawid-Skene, combined: skill = mean per-label accuracy over the labels
    anyone selected (or gold names); successes = skill × answers, trials = answers."""
    names, _ = _groups(items, annotators, answers)
    gold = {str(k): set(v) for k, v in (gold or {}).items()}
    labels = sorted({x for a in answers for x in a} | {x for g in gold.values() for x in g})
    item_names, item_idx = np.unique(np.asarray([str(i) for i in items]), return_inverse=True)
    worker_idx = np.asarray([names.index(str(a)) for a in annotators], dtype=np.int64) if names else np.zeros(0, int)
    n_answers = np.bincount(worker_idx, minlength=len(names)).astype(float)
    if not labels or not len(items):
        return _finish("per_label_one_coin", names, np.zeros(len(names)), n_answers, n_answers)
    g_items = np.asarray([i for i, n in enumerate(item_names) if n in gold], dtype=np.int64)
    accuracy = np.zeros((len(labels), len(names)))
    for li, label in enumerate(labels):
        chosen = np.asarray([int(label in a) for a in answers], dtype=np.int64)
        g_labels = np.asarray([int(label in gold[item_names[i]]) for i in g_items], dtype=np.int64)
        fit = one_coin_dawid_skene(items=item_idx, workers=worker_idx, labels=chosen, n_items=len(item_names),
                                   n_workers=len(names), n_classes=2,
                                   gold_items=g_items if g_items.size else None,
                                   gold_labels=g_labels if g_items.size else None)
        accuracy[li] = np.nan_to_num(np.asarray(fit.worker_skill, dtype=float), nan=0.5)
    skill = np.clip(accuracy.mean(axis=0), 0.0, 1.0)
    return _finish("per_label_one_coin", names, skill * n_answers, n_answers, n_answers)


def object_skills(*, items: Sequence, annotators: Sequence, objects: Sequence[list[dict]], kind: str,
                  iou_threshold: float = 0.5, quorum: float = 0.5) -> Skills:
    """Match rate of each annotator's objects (`bbox` [x, y, w, h] or `points`, with `label`) against the
    leave-one-out fused consensus of the item; items answered by one annotator give no evidence."""
    if kind not in ("bbox", "polygon"):
        raise AggregationInputError(f"kind must be 'bbox' or 'polygon', got {kind!r}")
    names, by_item = _groups(items, annotators, objects)
    successes, trials, n_answers = (np.zeros(len(names)) for _ in range(3))
    for rows in by_item.values():
        for w, _ in rows:
            n_answers[w] += 1
        if len(rows) < 2:
            continue
        for pos, (w, own) in enumerate(rows):
            others = [r for j, r in enumerate(rows) if j != pos]
            matched, union = _object_match(own, others, kind, iou_threshold, quorum)
            successes[w] += matched
            trials[w] += union
    return _finish(f"{kind}_match_rate", names, successes, trials, n_answers)


def _object_match(own: list[dict], others: list[tuple[int, list[dict]]], kind: str, threshold: float,
                  quorum: float) -> tuple[int, int]:
    flat = [(j, o) for j, (_, objs) in enumerate(others) for o in objs]
    ann = np.asarray([j for j, _ in flat], dtype=np.int64)
    labels = [o["label"] for _, o in flat]
    if kind == "bbox":
        cons = box_consensus(boxes=np.asarray([o["bbox"] for _, o in flat], dtype=float).reshape(-1, 4),
                             annotators=ann, n_annotators=len(others), labels=labels, iou_threshold=threshold,
                             quorum=quorum)
        mine = xywh_to_xyxy(np.asarray([o["bbox"] for o in own], dtype=float).reshape(-1, 4))
        theirs = xywh_to_xyxy(np.asarray(cons.geometry, dtype=float).reshape(-1, 4))
        iou = box_iou_matrix(mine, theirs)
    else:
        geoms = [polygon_from_points(points=o["points"]) for _, o in flat]
        cons = polygon_consensus(polygons=geoms, annotators=ann, n_annotators=len(others), labels=labels,
                                 iou_threshold=threshold, quorum=quorum)
        iou = polygon_iou_matrix([polygon_from_points(points=o["points"]) for o in own], cons.geometry)
    iou = np.asarray(iou, dtype=float).reshape(len(own), len(cons.geometry))
    same = np.asarray([[o["label"] == c for c in cons.labels] for o in own], dtype=bool).reshape(iou.shape)
    r, _ = match_pairs(similarity=np.where(same, iou, 0.0), threshold=threshold)
    return len(r), len(own) + len(cons.geometry) - len(r)


def span_skills(*, items: Sequence, annotators: Sequence, spans: Sequence[list[dict]],
                quorum: float = 0.5) -> Skills:
    """Mean per-item character F1 of each annotator's spans ({label, start, end}) against the character vote
    of the item's other annotators (same label needed; both empty = 1); successes = the F1 sum, trials =
    the items compared."""
    names, by_item = _groups(items, annotators, spans)
    successes, trials, n_answers = (np.zeros(len(names)) for _ in range(3))
    for rows in by_item.values():
        for w, _ in rows:
            n_answers[w] += 1
        if len(rows) < 2:
            continue
        length = max([s["end"] for _, a in rows for s in a], default=0)
        for pos, (w, own) in enumerate(rows):
            others = [a for j, (_, a) in enumerate(rows) if j != pos]
            cons = span_consensus(answers=others, text_length=length, quorum=quorum)
            theirs = np.full(length, "", dtype=object)
            for label, start, end, _ in cons.spans:
                theirs[start:end] = label
            mine = np.full(length, "", dtype=object)
            for s in own:
                mine[s["start"]:s["end"]] = s["label"]
            tp = int(((mine != "") & (mine == theirs)).sum())
            fp = int(((mine != "") & (mine != theirs)).sum())
            fn = int(((theirs != "") & (mine != theirs)).sum())
            successes[w] += 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
            trials[w] += 1
    return _finish("span_f1", names, successes, trials, n_answers)
