"""Inter-annotator agreement: Krippendorff's alpha, Fleiss' kappa, pairwise Cohen's kappa."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .errors import AggregationInputError

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def value_counts(
    *, items: np.ndarray, workers: np.ndarray, labels: np.ndarray, n_items: int | None = None,
    n_classes: int | None = None,
) -> np.ndarray:
    """(n_items, n_classes) counts of distinct workers per label.

    A worker who answered the same item more than once counts once, with their last
    answer (the reliability-matrix convention: one value per coder and unit).
    """
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if not (items.shape == workers.shape == labels.shape):
        raise AggregationInputError("items, workers and labels must have equal length")
    n_i = int(items.max()) + 1 if n_items is None and items.size else (n_items or 0)
    k = int(labels.max()) + 1 if n_classes is None and labels.size else (n_classes or 0)
    if items.size:
        key = items * (int(workers.max()) + 1) + workers
        _, last_rev = np.unique(key[::-1], return_index=True)
        keep = items.size - 1 - last_rev
        items, labels = items[keep], labels[keep]
    return np.bincount(items * k + labels, minlength=n_i * k).reshape(n_i, k).astype(float)


def krippendorff_alpha(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    level: str = "nominal",
    values: np.ndarray | None = None,
    n_classes: int | None = None,
) -> float:
    """Krippendorff's alpha from answers (label indices).

    ``values[k]`` is the numeric value of label k for the interval and ratio levels
    (default ``k``); for the ordinal level the label index order is the rank order.
    Equal to ``krippendorff.alpha`` on the reliability matrix built from the same
    answers. Raises ``ValueError`` when no unit has two values or fewer than two
    labels exist.
    """
    vc = value_counts(items=items, workers=workers, labels=labels, n_classes=n_classes)
    return alpha_from_counts(counts=vc, level=level, values=values)


def alpha_from_counts(*, counts: np.ndarray, level: str = "nominal", values: np.ndarray | None = None) -> float:
    """Krippendorff's alpha from an (n_units, n_values) count matrix."""
    if level not in LEVELS:
        raise AggregationInputError(f"level must be one of {LEVELS}, got {level!r}")
    vc = np.asarray(counts, dtype=float)
    k = vc.shape[1]
    if k <= 1:
        raise AggregationInputError("There has to be more than one value in the domain.")
    m = vc.sum(axis=1)
    pair = m >= 2
    if not pair.any():
        raise AggregationInputError("There has to be at least one unit with values assigned by at least two coders.")
    vp, mp = vc[pair], m[pair]
    scaled = vp / (mp - 1)[:, None]
    o = scaled.T @ vp
    o[np.diag_indices(k)] -= scaled.sum(axis=0)
    n_v = o.sum(axis=0)
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n_v.sum() - 1)
    d = _distances(level=level, k=k, n_v=n_v, values=values)
    return float(1 - (o * d).sum() / (e * d).sum())


def _distances(*, level: str, k: int, n_v: np.ndarray, values: np.ndarray | None) -> np.ndarray:
    v = np.arange(k, dtype=float) if values is None else np.asarray(values, dtype=float)
    if v.shape != (k,):
        raise AggregationInputError(f"values must have one entry per label ({k})")
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        s = v[:, None] + v[None, :]
        return np.divide(v[:, None] - v[None, :], s, out=np.zeros((k, k)), where=s != 0) ** 2
    cum = np.concatenate([[0.0], np.cumsum(n_v)])
    i = np.arange(k)
    lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
    between = cum[hi + 1] - cum[lo]
    return (between - (n_v[lo] + n_v[hi]) / 2.0) ** 2


def per_class_alpha(*, items: np.ndarray, workers: np.ndarray, labels: np.ndarray,
                    n_classes: int | None = None) -> np.ndarray:
    """Nominal alpha of each label against all others (NaN where undefined)."""
    vc = value_counts(items=items, workers=workers, labels=labels, n_classes=n_classes)
    out = np.full(vc.shape[1], np.nan)
    m = vc.sum(axis=1, keepdims=True)
    for c in range(vc.shape[1]):
        two = np.hstack([vc[:, [c]], m - vc[:, [c]]])
        n_v = two[two.sum(axis=1) >= 2].sum(axis=0)
        if (n_v > 0).all():
            out[c] = alpha_from_counts(counts=two)
    return out


@dataclass
class FleissResult:
    """Fleiss' kappa overall and per class (one-vs-rest), with observed/expected agreement."""

    kappa: float
    per_class: np.ndarray
    observed: float
    expected: float


def fleiss_kappa(*, items: np.ndarray, workers: np.ndarray, labels: np.ndarray,
                 n_classes: int | None = None) -> FleissResult:
    """Fleiss' kappa, generalised to a varying number of raters per item (items with
    fewer than two raters are ignored; each item's observed agreement is averaged)."""
    vc = value_counts(items=items, workers=workers, labels=labels, n_classes=n_classes)
    n = vc.sum(axis=1)
    keep = n >= 2
    if not keep.any():
        raise AggregationInputError("Fleiss' kappa needs at least one item with two raters")
    vc, n = vc[keep], n[keep]
    p_i = ((vc * (vc - 1)).sum(axis=1)) / (n * (n - 1))
    p_obs = float(p_i.mean())
    p_j = vc.sum(axis=0) / n.sum()
    p_exp = float((p_j ** 2).sum())
    kappa = (p_obs - p_exp) / (1 - p_exp) if p_exp < 1 else (1.0 if p_obs == 1 else np.nan)
    disagree = (vc * (n[:, None] - vc)).sum(axis=0)
    denom = (n * (n - 1)).sum() * p_j * (1 - p_j)
    per_class = np.divide(disagree, denom, out=np.full(vc.shape[1], np.nan), where=denom > 0)
    return FleissResult(kappa=float(kappa), per_class=1 - per_class, observed=p_obs, expected=p_exp)


@dataclass
class PairwiseKappa:
    """Cohen's kappa for every worker pair: ``kappa[a, b]`` (NaN where the pair shares
    fewer than ``min_overlap`` items or chance agreement is 1) and ``overlap[a, b]``."""

    kappa: np.ndarray
    overlap: np.ndarray
    observed: np.ndarray


def pairwise_cohen_kappa(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_workers: int | None = None,
    n_classes: int | None = None,
    min_overlap: int = 1,
) -> PairwiseKappa:
    """Cohen's kappa of each pair of workers on the items both answered (last answer
    per worker and item), computed with sparse products, no loop over pairs."""
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n_w = n_workers if n_workers is not None else (int(workers.max()) + 1 if workers.size else 0)
    k = n_classes if n_classes is not None else (int(labels.max()) + 1 if labels.size else 0)
    n_i = int(items.max()) + 1 if items.size else 0
    if items.size:
        key = items * max(n_w, 1) + workers
        _, last_rev = np.unique(key[::-1], return_index=True)
        keep = items.size - 1 - last_rev
        items, workers, labels = items[keep], workers[keep], labels[keep]
    any_ans = sp.csr_matrix((np.ones(items.size), (workers, items)), shape=(n_w, n_i))
    overlap = (any_ans @ any_ans.T).toarray()
    agree = np.zeros((n_w, n_w))
    chance = np.zeros((n_w, n_w))
    for c in range(k):
        sel = labels == c
        x = sp.csr_matrix((np.ones(int(sel.sum())), (workers[sel], items[sel])), shape=(n_w, n_i))
        agree += (x @ x.T).toarray()
        marg = (x @ any_ans.T).toarray()  # marg[a, b]: items both did where a said c
        chance += marg * marg.T
    with np.errstate(invalid="ignore", divide="ignore"):
        p_o = agree / overlap
        p_e = chance / overlap ** 2
        kappa = (p_o - p_e) / (1 - p_e)
    kappa[(overlap < max(min_overlap, 1)) | ~np.isfinite(kappa)] = np.nan
    return PairwiseKappa(kappa=kappa, overlap=overlap.astype(np.int64), observed=p_o)
