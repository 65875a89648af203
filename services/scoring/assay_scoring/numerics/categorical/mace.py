"""MACE: each worker either knows the answer or spams from a personal label distribution."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from ._common import (
    CategoricalData,
    ConsensusResult,
    answered_mask,
    check_answers,
    clamp,
    finish,
    gold_matrix,
    vote_posteriors,
)


def mace(
    *,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int | None = None,
    n_workers: int | None = None,
    n_classes: int | None = None,
    gold_items: np.ndarray | None = None,
    gold_labels: np.ndarray | None = None,
    n_iter: int = 50,
    n_restarts: int = 1,
    init: str = "random",
    knowing_prior: tuple[float, float] = (0.5, 0.5),
    strategy_prior: float = 10.0,
    seed: int = 0,
    learn_class_priors: bool = False,
    select: str = "loglik",
) -> ConsensusResult:
    """MACE (Hovy et al. 2013) with variational-Bayes M-steps, as in Crowd-Kit.

    A worker answers the true label with probability ``knowing`` and otherwise draws
    from a personal ``strategy`` distribution; the truth is uniform a priori, or with
    ``learn_class_priors`` follows class priors re-estimated at every iteration as the
    mean posterior of the items that have answers or gold (started from the vote shares).
    ``knowing_prior=(a_spam, a_know)`` are the Beta prior counts, ``strategy_prior``
    the symmetric Dirichlet count. ``init="random"`` runs ``n_restarts`` seeded random
    starts and keeps the best marginal likelihood; ``init="majority"`` runs one EM
    started from the majority-vote posteriors; ``init="both"`` runs the majority-vote
    start and then the ``n_restarts`` random ones. ``select`` picks the kept run:
    ``"loglik"`` (the plug-in log marginal likelihood, as Crowd-Kit) or ``"elbo"`` (the
    variational lower bound: that likelihood minus the KL of the Beta/Dirichlet posteriors
    from their priors). Both figures are in ``extra``. ``worker_skill`` is P(knowing).
    """
    data = check_answers(items=items, workers=workers, labels=labels, n_items=n_items,
                         n_workers=n_workers, n_classes=n_classes)
    gold = gold_matrix(data=data, gold_items=gold_items, gold_labels=gold_labels)
    if select not in ("loglik", "elbo"):
        raise ValueError(f"select must be 'loglik' or 'elbo', got {select!r}")
    prior_sk = np.asarray(knowing_prior, dtype=float)
    starts = []
    if init in ("majority", "both"):
        starts.append(_vb_m_step(data, clamp(vote_posteriors(data), gold), prior_sk, strategy_prior))
    if init in ("random", "both"):
        rng = np.random.default_rng(seed)
        for _ in range(max(n_restarts, 1)):
            s = rng.uniform(1.0, 1.5, size=(data.n_workers, 2))
            t = rng.uniform(1.0, 1.5, size=(data.n_workers, data.n_classes))
            starts.append((s / s.sum(axis=1, keepdims=True), t / t.sum(axis=1, keepdims=True)))
    if not starts:
        raise ValueError(f"init must be 'random', 'majority' or 'both', got {init!r}")

    best = None
    k = data.n_classes
    for spam, theta in starts:
        log_pi = np.full(k, -np.log(k))
        if learn_class_priors:
            log_pi = np.log(np.maximum(_start_prior(data, gold), 1e-10))
        kl = 0.0
        for _ in range(n_iter):
            post, _ = _e_step(data, spam, theta, gold, log_pi)
            spam, theta, kl = _vb_m_step(data, post, prior_sk, strategy_prior, spam=spam, theta=theta,
                                         with_kl=True)
            if learn_class_priors:
                log_pi = np.log(np.maximum(_answered_mean(data, gold, post), 1e-10))
        post, loglik = _e_step(data, spam, theta, gold, log_pi)
        score = loglik if select == "loglik" else loglik - kl
        if best is None or score > best[0]:
            best = (score, post, spam, theta, loglik, loglik - kl, np.exp(log_pi))
    _, post, spam, theta, loglik, elbo, priors = best
    confusion = spam[:, 0, None, None] * theta[:, None, :] + spam[:, 1, None, None] * np.eye(k)[None]
    return finish(method="mace", data=data, posteriors=post, worker_skill=spam[:, 1].copy(), gold=gold,
                  worker_confusion=confusion, class_priors=priors / priors.sum(), n_iter=n_iter,
                  extra={"log_marginal_likelihood": loglik, "elbo": elbo, "strategy": theta})


def _start_prior(data: CategoricalData, gold: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Class priors to start from: the mean vote share of the answered (or gold) items."""
    return _answered_mean(data, gold, clamp(vote_posteriors(data), gold))


def _answered_mean(data: CategoricalData, gold: tuple[np.ndarray, np.ndarray] | None,
                   post: np.ndarray) -> np.ndarray:
    mask = answered_mask(data, gold)
    if not mask.any():
        return np.full(data.n_classes, 1.0 / data.n_classes)
    return post[mask].mean(axis=0)


def _e_step(
    data: CategoricalData,
    spam: np.ndarray,
    theta: np.ndarray,
    gold: tuple[np.ndarray, np.ndarray] | None,
    log_pi: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Item posteriors and the log marginal likelihood."""
    k, n_i = data.n_classes, data.n_items
    st = spam[data.workers, 0] * theta[data.workers, data.labels]
    know = spam[data.workers, 1]
    log_st = np.log(np.maximum(st, 1e-300))
    base = np.bincount(data.items, weights=log_st, minlength=n_i)
    bonus = np.bincount(data.items * k + data.labels, weights=np.log(st + know) - log_st,
                        minlength=n_i * k).reshape(n_i, k)
    z = base[:, None] + bonus + log_pi[None, :]
    top = z.max(axis=1, keepdims=True)
    p = np.exp(z - top)
    tot = p.sum(axis=1, keepdims=True)
    loglik = float((np.log(tot[:, 0]) + top[:, 0]).sum())
    p /= tot
    return clamp(p, gold), loglik


def _vb_m_step(
    data: CategoricalData,
    post: np.ndarray,
    prior_sk: np.ndarray,
    strategy_prior: float,
    *,
    spam: np.ndarray | None = None,
    theta: np.ndarray | None = None,
    with_kl: bool = False,
) -> tuple:
    """Expected spam/know counts and strategy counts, then digamma normalisation.

    Returns (spam, theta) as exp(E[log p]) under the Beta/Dirichlet posteriors, and with
    ``with_kl`` also the KL divergence of those posteriors from their priors.
    """
    k, n_w = data.n_classes, data.n_workers
    p_hit = post[data.items, data.labels]
    if spam is None or theta is None:
        know_share = p_hit * 0.5
    else:
        st = spam[data.workers, 0] * theta[data.workers, data.labels]
        kn = spam[data.workers, 1]
        know_share = p_hit * kn / (st + kn)
    spam_share = 1.0 - know_share
    counts_sk = np.stack([
        np.bincount(data.workers, weights=spam_share, minlength=n_w),
        np.bincount(data.workers, weights=know_share, minlength=n_w),
    ], axis=1)
    counts_t = np.bincount(data.workers * k + data.labels, weights=spam_share,
                           minlength=n_w * k).reshape(n_w, k)
    post_sk = counts_sk + prior_sk[None, :]
    post_t = counts_t + strategy_prior
    if not with_kl:
        return _vnorm(post_sk), _vnorm(post_t)
    kl = _kl_dirichlet(post_sk, np.broadcast_to(prior_sk, post_sk.shape)) \
        + _kl_dirichlet(post_t, np.full_like(post_t, strategy_prior))
    return _vnorm(post_sk), _vnorm(post_t), kl


def _vnorm(x: np.ndarray) -> np.ndarray:
    return np.exp(digamma(x) - digamma(x.sum(axis=1, keepdims=True)))


def _kl_dirichlet(a: np.ndarray, b: np.ndarray) -> float:
    """Sum over rows of KL(Dir(a_row) || Dir(b_row))."""
    a0, b0 = a.sum(axis=1), b.sum(axis=1)
    return float((gammaln(a0) - gammaln(a).sum(axis=1) - gammaln(b0) + gammaln(b).sum(axis=1)
                  + ((a - b) * (digamma(a) - digamma(a0)[:, None])).sum(axis=1)).sum())
