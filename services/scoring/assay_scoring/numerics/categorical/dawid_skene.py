"""Dawid-Skene (full confusion matrices) and one-coin Dawid-Skene, fitted by EM.

The unsmoothed defaults reproduce Crowd-Kit 1.4.2's ``DawidSkene``: initialisation from
majority-vote shares, M-step with counts clipped at 1e-10 then column-normalised,
priors as the mean posterior, stopping when the per-answer evidence lower bound
(Crowd-Kit's formula, prior term counted once per answer) improves by less than ``tol``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from ._common import (
    EPS,
    CategoricalData,
    ConsensusResult,
    answered_mask,
    check_answers,
    clamp,
    finish,
    gold_matrix,
    vote_posteriors,
)


def dawid_skene(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int | None = None,
    n_workers: int | None = None,
    n_classes: int | None = None,
    gold_items: np.ndarray | None = None,
    gold_labels: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 0.0,
    diagonal_prior: float = 0.0,
    one_coin_prior: float = 0.0,
) -> ConsensusResult:
    """Full-confusion-matrix Dawid-Skene.

    ``smoothing`` adds a symmetric Dirichlet pseudo-count to every confusion cell and
    ``diagonal_prior`` an extra pseudo-count on the diagonal (MAP estimate); with both
    at 0 the fit is Crowd-Kit's maximum-likelihood EM. Gold items (``gold_items`` with
    ``gold_labels``) are clamped to their label at initialisation and every E-step.
    """
    data = check_answers(items=items, workers=workers, labels=labels, n_items=n_items,
                         n_workers=n_workers, n_classes=n_classes)
    gold = gold_matrix(data=data, gold_items=gold_items, gold_labels=gold_labels)
    k = data.n_classes
    used = np.bincount(data.workers * k + data.labels, minlength=data.n_workers * k) > 0

    n_per_worker = np.bincount(data.workers, minlength=data.n_workers).astype(float)
    eye = np.eye(k)

    def m_step(design: sp.csr_matrix, post: np.ndarray) -> np.ndarray:
        counts = np.asarray(design.T @ post)  # (W*K obs, K true)
        counts += smoothing
        if one_coin_prior:
            hits = np.bincount(data.workers, weights=post[data.items, data.labels], minlength=data.n_workers)
            s = np.divide(hits + 1.0, n_per_worker + 2.0)
            oc = np.where(eye[None] > 0, s[:, None, None], ((1 - s) / max(k - 1, 1))[:, None, None])
            counts += one_coin_prior * oc.reshape(data.n_workers * k, k)
        if diagonal_prior:
            counts.reshape(data.n_workers, k, k)[:, np.arange(k), np.arange(k)] += diagonal_prior
        if smoothing <= 0.0:
            counts = np.where(used[:, None], np.maximum(counts, EPS), 0.0)
        cube = counts.reshape(data.n_workers, k, k)
        cube /= np.maximum(cube.sum(axis=1, keepdims=True), EPS)
        return cube.reshape(data.n_workers * k, k)

    post, priors, errors, n_iter = _em(data=data, gold=gold, m_step=m_step, max_iter=max_iter, tol=tol)
    confusion = errors.reshape(data.n_workers, k, k).transpose(0, 2, 1).copy()  # [w, true, obs]
    skill = (confusion[:, np.arange(k), np.arange(k)] * priors).sum(axis=1)
    return finish(method="dawid_skene", data=data, posteriors=post, worker_skill=skill, gold=gold,
                  worker_confusion=confusion, class_priors=priors, n_iter=n_iter)


def one_coin_dawid_skene(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int | None = None,
    n_workers: int | None = None,
    n_classes: int | None = None,
    gold_items: np.ndarray | None = None,
    gold_labels: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-5,
    skill_prior: tuple[float, float] = (0.0, 0.0),
) -> ConsensusResult:
    """One-coin Dawid-Skene: each worker is right with probability ``s_w``, otherwise
    uniform over the other labels. ``skill_prior=(a, b)`` adds Beta pseudo-counts of
    right/wrong answers to every worker's skill (``(0, 0)`` is Crowd-Kit's estimate).
    """
    data = check_answers(items=items, workers=workers, labels=labels, n_items=n_items,
                         n_workers=n_workers, n_classes=n_classes)
    gold = gold_matrix(data=data, gold_items=gold_items, gold_labels=gold_labels)
    k = data.n_classes
    n_per_worker = np.bincount(data.workers, minlength=data.n_workers).astype(float)
    a, b = skill_prior
    eye = np.eye(k)

    def m_step(design: sp.csr_matrix, post: np.ndarray) -> np.ndarray:
        hits = np.bincount(data.workers, weights=post[data.items, data.labels], minlength=data.n_workers)
        skill = np.divide(hits + a, n_per_worker + a + b, out=np.full(data.n_workers, 0.5),
                          where=(n_per_worker + a + b) > 0)
        wrong = (1.0 - skill) / max(k - 1, 1)
        cube = np.where(eye[None, :, :] > 0, skill[:, None, None], wrong[:, None, None])
        return np.clip(cube, EPS, 1 - EPS).reshape(data.n_workers * k, k)

    post, priors, errors, n_iter = _em(data=data, gold=gold, m_step=m_step, max_iter=max_iter, tol=tol)
    confusion = errors.reshape(data.n_workers, k, k).transpose(0, 2, 1).copy()
    skill = confusion[:, 0, 0] if k > 0 else np.zeros(data.n_workers)
    return finish(method="one_coin_dawid_skene", data=data, posteriors=post, worker_skill=skill,
                  gold=gold, worker_confusion=confusion, class_priors=priors, n_iter=n_iter)


def _em(
    *,
    data: CategoricalData,
    gold: tuple[np.ndarray, np.ndarray] | None,
    m_step: Callable[[sp.csr_matrix, np.ndarray], np.ndarray],
    max_iter: int,
    tol: float,
    init: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """EM loop shared by both models; returns posteriors, priors, errors (W*K, K), iterations."""
    design = data.item_design()
    mask = answered_mask(data, gold)
    n_ans = data.answers_per_item().astype(float)
    post = clamp(vote_posteriors(data) if init is None else init.copy(), gold)
    priors = _priors(post, mask)
    errors = m_step(design, post)
    answer_ll = design @ _safe_log(errors)
    loss = -np.inf
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        loglik = np.log(np.maximum(priors, EPS)) + answer_ll
        post = _softmax(loglik)
        post = clamp(post, gold)
        priors = _priors(post, mask)
        errors = m_step(design, post)
        answer_ll = design @ _safe_log(errors)
        new_loss = _elbo(answer_ll=answer_ll, post=post, priors=priors, n_ans=n_ans,
                         mask=mask) / max(data.n_answers, 1)
        if new_loss - loss < tol:
            break
        loss = new_loss
    return post, priors, errors, n_iter


def _priors(post: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.full(post.shape[1], 1.0 / post.shape[1])
    return np.maximum(post[mask].mean(axis=0), EPS)


def _safe_log(x: np.ndarray) -> np.ndarray:
    return np.log(np.where(x > 0, x, 1.0))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _elbo(
    *,
    answer_ll: np.ndarray,
    post: np.ndarray,
    priors: np.ndarray,
    n_ans: np.ndarray,
    mask: np.ndarray,
) -> float:
    """Crowd-Kit's evidence lower bound (log prior counted once per answer);
    ``answer_ll[i, c]`` is the summed log-probability of item i's answers given c."""
    joint = answer_ll + n_ans[:, None] * np.log(priors)[None, :]
    expectation = float((post * joint).sum())
    p = np.maximum(post[mask], EPS)
    entropy = float(-(p * np.log(p)).sum())
    return expectation + entropy
