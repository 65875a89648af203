"""Geometric similarities: box IoU matrices, polygon IoU, keypoint OKS, optimal matching."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from shapely import make_valid
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from .errors import AnswerValidationError


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """[x, y, w, h] (top-left) rows to [x1, y1, x2, y2]."""
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of [x1, y1, x2, y2] boxes, shape (len(a), len(b))."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def polygon_from_points(*, points: Sequence[Sequence[float]], path: str = "points") -> BaseGeometry:
    """Build a polygon; self-intersecting rings are repaired with ``make_valid`` (the
    polygonal parts are kept, so a bow-tie becomes its two triangles); a polygon whose
    (repaired) area is zero raises :class:`AnswerValidationError` naming ``path``."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 3:
        raise AnswerValidationError(path=path, reason="needs at least 3 [x, y] points")
    poly: BaseGeometry = Polygon(pts)
    if not poly.is_valid:
        fixed = make_valid(poly)
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, (Polygon, MultiPolygon))]
        polys: list[Polygon] = []
        for g in parts:
            polys.extend(g.geoms if isinstance(g, MultiPolygon) else [g])
        poly = MultiPolygon(polys) if len(polys) != 1 else polys[0]
    if poly.is_empty or poly.area <= 0.0:
        raise AnswerValidationError(path=path, reason="polygon has zero area")
    return poly


def polygon_iou_matrix(a: Sequence[BaseGeometry], b: Sequence[BaseGeometry]) -> np.ndarray:
    """Pairwise IoU of shapely geometries; bounding-box pre-filter skips disjoint pairs."""
    out = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return out
    ba = np.array([g.bounds for g in a])
    bb = np.array([g.bounds for g in b])
    cand = box_iou_matrix(ba, bb) > 0
    for i, j in zip(*np.nonzero(cand)):
        inter = a[i].intersection(b[j]).area
        union = a[i].area + b[j].area - inter
        out[i, j] = inter / union if union > 0 else 0.0
    return out


def oks_matrix(
    *,
    gold: np.ndarray,
    pred: np.ndarray,
    sigmas: np.ndarray,
    areas: np.ndarray,
    width: float | None = None,
    height: float | None = None,
) -> np.ndarray:
    """COCO object keypoint similarity between gold (G, K, 3) and answer (P, K, 3).

    Only gold keypoints with v > 0 count. A gold keypoint outside the image
    (x not in [0, width] or y not in [0, height]) is treated as not labelled; an
    answer keypoint with v = 0 or outside the image scores 0 for that keypoint.
    ``areas[g]`` is the gold object's scale s^2 (bbox area). No labelled gold
    keypoint gives OKS 0.
    """
    g = np.asarray(gold, dtype=float).reshape(-1, len(sigmas), 3)
    p = np.asarray(pred, dtype=float).reshape(-1, len(sigmas), 3)
    gv = g[..., 2] > 0
    pv = p[..., 2] > 0
    if width is not None and height is not None:
        gv &= _inside(g, width, height)
        pv &= _inside(p, width, height)
    var = (2.0 * np.asarray(sigmas, dtype=float)) ** 2
    d2 = ((g[:, None, :, :2] - p[None, :, :, :2]) ** 2).sum(axis=-1)
    s2 = np.maximum(np.asarray(areas, dtype=float), 1e-9)[:, None, None]
    e = np.exp(-d2 / (2.0 * s2 * var[None, None, :]))
    e = np.where(pv[None, :, :], e, 0.0)
    e = np.where(gv[:, None, :], e, 0.0)
    n = gv.sum(axis=1)[:, None]
    return np.divide(e.sum(axis=-1), n, out=np.zeros((g.shape[0], p.shape[0])), where=n > 0)


def _inside(k: np.ndarray, width: float, height: float) -> np.ndarray:
    return (k[..., 0] >= 0) & (k[..., 0] <= width) & (k[..., 1] >= 0) & (k[..., 1] <= height)


def match_pairs(*, similarity: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one matching maximising total similarity (Hungarian), keeping
    pairs with similarity >= threshold. Returns (row indices, column indices)."""
    sim = np.asarray(similarity, dtype=float)
    if sim.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sim = np.where(sim >= threshold, sim, 0.0)
    r, c = linear_sum_assignment(sim, maximize=True)
    keep = sim[r, c] >= threshold
    return r[keep].astype(np.int64), c[keep].astype(np.int64)
