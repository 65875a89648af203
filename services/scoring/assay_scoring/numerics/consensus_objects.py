"""Consensus of object annotations (boxes, polygons, keypoints) and text spans.

Objects of one item are clustered across annotators with at most one object per
annotator per cluster: annotators are visited from most to fewest objects and their
objects are matched optimally (Hungarian) to the clusters so far by mean similarity
to the members (pairs below ``threshold`` are not matched; leftovers open clusters);
a second pass re-matches every annotator against the clusters formed by the others.
A cluster is kept when its weighted support (sum of member annotators' weights over
the sum of weights of all annotators who answered the item) reaches ``quorum``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import box_iou_matrix, match_pairs, oks_matrix, polygon_iou_matrix, xywh_to_xyxy


@dataclass
class ObjectConsensus:
    """Kept clusters of one item: fused geometry, members, support and agreement.

    ``members[c]`` lists input object indices; ``support[c]`` is the weighted share of
    annotators in the cluster (the confidence); ``agreement[c]`` the mean similarity of
    members to the fused object; ``labels[c]`` the weighted-vote label.
    """

    geometry: list
    labels: list
    members: list[np.ndarray]
    support: np.ndarray
    agreement: np.ndarray


def cluster_objects(*, annotators: np.ndarray, similarity: np.ndarray, threshold: float,
                    passes: int = 2) -> np.ndarray:
    """Cluster id per object, at most one object per annotator in each cluster."""
    ann = np.asarray(annotators, dtype=np.int64)
    n = ann.size
    cid = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return cid
    uniq, counts = np.unique(ann, return_counts=True)
    order = uniq[np.argsort(-counts, kind="stable")]
    n_clusters = 0
    for p in range(passes):
        for a in order:
            mine = np.flatnonzero(ann == a)
            if p > 0:
                cid[mine] = -1
            others = cid >= 0
            if n_clusters and others.any():
                onehot = np.zeros((n, n_clusters))
                onehot[np.flatnonzero(others), cid[others]] = 1.0
                size = onehot.sum(axis=0)
                sim = np.divide(similarity[mine] @ onehot, size, out=np.zeros((mine.size, n_clusters)),
                                where=size > 0)
                r, c = match_pairs(similarity=sim, threshold=threshold)
                cid[mine[r]] = c
            rest = mine[cid[mine] < 0]
            cid[rest] = n_clusters + np.arange(rest.size)
            n_clusters += rest.size
        _, cid = np.unique(cid, return_inverse=True)
        n_clusters = int(cid.max()) + 1
    return cid


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Column-wise weighted median of (m, d) values."""
    order = np.argsort(values, axis=0)
    v = np.take_along_axis(values, order, axis=0)
    w = weights[order]
    cw = np.cumsum(w, axis=0)
    half = cw[-1] / 2.0
    idx = np.argmax(cw >= half[None, :] - 1e-12, axis=0)
    return v[idx, np.arange(values.shape[1])]


def _vote(labels: list, weights: np.ndarray) -> object:
    tally: dict = {}
    for lab, w in zip(labels, weights.tolist()):
        tally[lab] = tally.get(lab, 0.0) + w
    return sorted(tally.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]


def box_consensus(
    *,
    boxes: np.ndarray,
    annotators: np.ndarray,
    n_annotators: int,
    labels: list | None = None,
    annotator_weights: np.ndarray | None = None,
    iou_threshold: float = 0.5,
    quorum: float = 0.5,
    fusion: str = "median",
) -> ObjectConsensus:
    """Consensus boxes of one item. ``boxes`` are [x, y, w, h] rows, ``annotators[j]``
    the index (0..n_annotators-1) of the annotator who drew box j; annotators who drew
    nothing still count towards the quorum. ``fusion`` is "median" (weighted median of
    each edge) or "mean" (weighted mean). Returns fused [x, y, w, h] boxes."""
    ann = np.asarray(annotators, dtype=np.int64)
    w_ann = np.ones(n_annotators) if annotator_weights is None else np.asarray(annotator_weights, dtype=float)
    xyxy = xywh_to_xyxy(np.asarray(boxes, dtype=float).reshape(-1, 4))
    sim = box_iou_matrix(xyxy, xyxy)
    cid = cluster_objects(annotators=ann, similarity=sim, threshold=iou_threshold)
    total = w_ann.sum() if n_annotators else 1.0
    out = ObjectConsensus(geometry=[], labels=[], members=[], support=np.zeros(0), agreement=np.zeros(0))
    sup, agr = [], []
    for c in range(int(cid.max()) + 1 if cid.size else 0):
        m = np.flatnonzero(cid == c)
        w = np.maximum(w_ann[ann[m]], 1e-9)
        s = float(w_ann[ann[m]].sum() / total) if total > 0 else 0.0
        if s < quorum:
            continue
        if fusion == "median":
            fused = _weighted_median(xyxy[m], w)
        else:
            fused = (xyxy[m] * w[:, None]).sum(axis=0) / w.sum()
        out.geometry.append([fused[0], fused[1], fused[2] - fused[0], fused[3] - fused[1]])
        out.labels.append(_vote([labels[i] for i in m], w) if labels is not None else None)
        out.members.append(m)
        sup.append(s)
        agr.append(float(box_iou_matrix(fused[None], xyxy[m]).mean()))
    out.support, out.agreement = np.array(sup), np.array(agr)
    return out


def polygon_consensus(
    *, polygons: list, annotators: np.ndarray, n_annotators: int, labels: list | None = None,
    annotator_weights: np.ndarray | None = None, iou_threshold: float = 0.5, quorum: float = 0.5,
) -> ObjectConsensus:
    """Consensus polygons (shapely geometries) of one item; the fused polygon is the
    weighted medoid (the member with the highest weighted IoU to the others)."""
    ann = np.asarray(annotators, dtype=np.int64)
    w_ann = np.ones(n_annotators) if annotator_weights is None else np.asarray(annotator_weights, dtype=float)
    sim = polygon_iou_matrix(polygons, polygons)
    cid = cluster_objects(annotators=ann, similarity=sim, threshold=iou_threshold)
    return _medoid_clusters(polygons, ann, w_ann, sim, cid, labels, quorum)


def keypoint_consensus(
    *, keypoints: np.ndarray, annotators: np.ndarray, n_annotators: int, sigmas: np.ndarray,
    labels: list | None = None, annotator_weights: np.ndarray | None = None,
    oks_threshold: float = 0.5, quorum: float = 0.5,
) -> ObjectConsensus:
    """Consensus keypoint objects ((n, K, 3) array) of one item, clustered by OKS; each
    fused keypoint is the weighted median of members that labelled it (v > 0), with
    visibility 2 when labelled by a weighted majority of members and 0 otherwise."""
    kp = np.asarray(keypoints, dtype=float).reshape(-1, len(sigmas), 3)
    ann = np.asarray(annotators, dtype=np.int64)
    w_ann = np.ones(n_annotators) if annotator_weights is None else np.asarray(annotator_weights, dtype=float)
    vis = kp[..., 2] > 0
    span = np.array([np.ptp(k[v, :2], axis=0).prod() if v.sum() > 1 else 1.0 for k, v in zip(kp, vis)])
    sim = oks_matrix(gold=kp, pred=kp, sigmas=np.asarray(sigmas), areas=np.maximum(span, 1.0))
    sim = np.minimum(sim, sim.T)
    cid = cluster_objects(annotators=ann, similarity=sim, threshold=oks_threshold)
    total = w_ann.sum() if n_annotators else 1.0
    out = ObjectConsensus(geometry=[], labels=[], members=[], support=np.zeros(0), agreement=np.zeros(0))
    sup, agr = [], []
    for c in range(int(cid.max()) + 1 if cid.size else 0):
        m = np.flatnonzero(cid == c)
        w = np.maximum(w_ann[ann[m]], 1e-9)
        s = float(w_ann[ann[m]].sum() / total) if total > 0 else 0.0
        if s < quorum:
            continue
        fused = np.zeros((len(sigmas), 3))
        for k in range(len(sigmas)):
            on = vis[m, k]
            if w[on].sum() * 2 >= w.sum() and on.any():
                fused[k, :2] = _weighted_median(kp[m[on], k, :2], w[on])
                fused[k, 2] = 2
        out.geometry.append(fused)
        out.labels.append(_vote([labels[i] for i in m], w) if labels is not None else None)
        out.members.append(m)
        sup.append(s)
        agr.append(float(sim[np.ix_(m, m)].mean()))
    out.support, out.agreement = np.array(sup), np.array(agr)
    return out


def _medoid_clusters(geoms, ann, w_ann, sim, cid, labels, quorum) -> ObjectConsensus:
    total = w_ann.sum() if w_ann.size else 1.0
    out = ObjectConsensus(geometry=[], labels=[], members=[], support=np.zeros(0), agreement=np.zeros(0))
    sup, agr = [], []
    for c in range(int(cid.max()) + 1 if cid.size else 0):
        m = np.flatnonzero(cid == c)
        w = np.maximum(w_ann[ann[m]], 1e-9)
        s = float(w_ann[ann[m]].sum() / total) if total > 0 else 0.0
        if s < quorum:
            continue
        best = int(np.argmax(sim[np.ix_(m, m)] @ w))
        out.geometry.append(geoms[m[best]])
        out.labels.append(_vote([labels[i] for i in m], w) if labels is not None else None)
        out.members.append(m)
        sup.append(s)
        agr.append(float(sim[m[best], m].mean()))
    out.support, out.agreement = np.array(sup), np.array(agr)
    return out


@dataclass
class SpanConsensus:
    """Character-level vote: ``char_labels[i]`` the winning label index of character i
    (-1 = none), ``spans`` the merged runs as (label, start, end, confidence)."""

    char_labels: np.ndarray
    confidence: np.ndarray
    spans: list[tuple[str, int, int, float]]
    agreement: float


def span_consensus(*, answers: list[list[dict]], text_length: int,
                   annotator_weights: np.ndarray | None = None, quorum: float = 0.5) -> SpanConsensus:
    """Token (character) vote over span answers ({label, start, end}) of one text: a
    character takes the label with the largest weighted vote if that share of all
    annotators reaches ``quorum``; ties go to the label sorted first."""
    n = len(answers)
    w = np.ones(n) if annotator_weights is None else np.asarray(annotator_weights, dtype=float)
    names = sorted({s["label"] for a in answers for s in a})
    votes = np.zeros((len(names) + 1, text_length))
    for ai, spans in enumerate(answers):
        for s in spans:
            votes[names.index(s["label"]) + 1, s["start"]:s["end"]] += w[ai]
    total = w.sum() if n else 1.0
    votes[0] = total - votes[1:].sum(axis=0)
    win = np.argmax(votes, axis=0)
    share = votes[win, np.arange(text_length)] / total if text_length else np.zeros(0)
    char = np.where((win > 0) & (share >= quorum), win - 1, -1)
    spans = []
    edges = np.flatnonzero(np.diff(np.concatenate([[-2], char, [-2]])) != 0)
    for st, en in zip(edges[:-1], edges[1:]):
        if char[st] >= 0:
            spans.append((names[char[st]], int(st), int(en), float(share[st:en].mean())))
    return SpanConsensus(char_labels=char, confidence=share, spans=spans,
                         agreement=float(share.mean()) if text_length else 1.0)
