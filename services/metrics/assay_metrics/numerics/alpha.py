"""Krippendorff's alpha with any distance, and its use for boxes and polygons with the IoU distance (plain
numpy/scipy/shapely, never Django).

alpha = 1 − D_o / D_e over the pairable values (units with at least two values), Krippendorff (2011):
D_o = (1/n) Σ_u 1/(m_u − 1) Σ_{i≠j in u} δ(v_i, v_j) and D_e = 1/(n(n − 1)) Σ_{i≠j, all values} δ(v_i, v_j).
An annotator's alpha restricts D_o to their own values (each one's mean distance to the other values of its
unit) and keeps the project's D_e.

Objects become units per item: each annotator's objects are matched (Hungarian on IoU > 0) to the first object of
each cluster the item's earlier annotators opened, the rest open clusters; an annotator of the item who has no object in a
cluster contributes the value "nothing there". δ = 1 − IoU for two objects of one label, 1 for two labels or an
object against nothing, 0 for nothing against nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from shapely.geometry import Polygon


@dataclass(frozen=True)
class Alpha:
    """alpha of all values, per coder alpha, the number of pairable values (total and per coder), units."""

    alpha: float | None
    n_values: int
    n_units: int
    coders: dict[str, tuple[float | None, int]]


def alpha_with_distance(*, units: Sequence[Sequence[tuple[str, object]]],
                        distance: Callable[[object, object], float]) -> Alpha:
    """Krippendorff's alpha of `units` (each a list of (coder, value)); None when no disagreement is expected."""
    kept = [list(u) for u in units if len(u) >= 2]
    values = [v for u in kept for _, v in u]
    n = len(values)
    if n < 2:
        return Alpha(alpha=None, n_values=n, n_units=len(kept), coders={})
    d = np.array([[distance(a, b) for b in values] for a in values], dtype=float)
    expected = d.sum() / (n * (n - 1))
    observed_by_coder: dict[str, list[float]] = {}
    start = 0
    for u in kept:
        m = len(u)
        block = d[start:start + m, start:start + m]
        for k, (coder, _) in enumerate(u):
            observed_by_coder.setdefault(coder, []).append(block[k].sum() / (m - 1))
        start += m
    observed = sum(sum(v) for v in observed_by_coder.values()) / n

    def alpha_of(o: float) -> float | None:
        return None if expected <= 0 else round(float(1.0 - o / expected), 6)

    coders = {c: (alpha_of(float(np.mean(v))), len(v)) for c, v in sorted(observed_by_coder.items())}
    return Alpha(alpha=alpha_of(observed), n_values=n, n_units=len(kept), coders=coders)


NOTHING = None


def _shape(obj: dict):
    if "bbox" in obj:
        x, y, w, h = (float(v) for v in obj["bbox"])
        return Polygon([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])
    return Polygon([(float(p[0]), float(p[1])) for p in obj["points"]])


def _iou(a, b) -> float:
    if not (a.is_valid and b.is_valid):
        return 0.0
    union = a.union(b).area
    return float(a.intersection(b).area / union) if union > 0 else 0.0


def iou_distance(a: tuple[str, object] | None, b: tuple[str, object] | None) -> float:
    """1 − IoU of two (label, shape) objects of one label; 1 for two labels or one object against nothing."""
    if a is NOTHING and b is NOTHING:
        return 0.0
    if a is NOTHING or b is NOTHING or a[0] != b[0]:
        return 1.0
    return 1.0 - _iou(a[1], b[1])


def object_units(*, answers: Sequence[tuple[str, str, list[dict]]]) -> list[list[tuple[str, object]]]:
    """Units of (item, annotator, objects) answers: one per cluster of matched objects (see the module)."""
    by_item: dict[str, list[tuple[str, list[dict]]]] = {}
    for item, annotator, objects in answers:
        by_item.setdefault(str(item), []).append((annotator, objects))
    units = []
    for rows in by_item.values():
        clusters: list[dict[str, tuple[str, object]]] = []
        for annotator, objects in rows:
            mine = [(o["label"], _shape(o)) for o in objects]
            rep = [next(iter(c.values())) for c in clusters]
            sim = np.array([[_iou(a[1], b[1]) for b in rep] for a in mine]).reshape(len(mine), len(rep))
            taken = set()
            if sim.size:
                for r, c in zip(*linear_sum_assignment(sim, maximize=True)):
                    if sim[r, c] > 0:
                        clusters[c][annotator] = mine[r]
                        taken.add(r)
            clusters += [{annotator: mine[r]} for r in range(len(mine)) if r not in taken]
        coders = [a for a, _ in rows]
        units += [[(a, c.get(a, NOTHING)) for a in coders] for c in clusters]
    return units
