"""GLAD: worker ability times item easiness, fitted by EM with an L-BFGS M-step."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from ._common import ConsensusResult, check_answers, clamp, finish, gold_matrix


def glad(
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
    m_step_max_iter: int = 25,
    alpha_prior_mean: float = 1.0,
    beta_prior_mean: float = 1.0,
) -> ConsensusResult:
    """GLAD (Whitehill et al. 2009) in Crowd-Kit's parametrisation.

    P(answer correct) = sigmoid(alpha_w * exp(beta_i)); a wrong answer is uniform over
    the other K-1 labels; class priors are uniform; alpha and beta have N(mean, 1)
    priors and start at 1. The M-step maximises the expected complete log-likelihood
    with L-BFGS (``m_step_max_iter`` iterations) on vectorised values and gradients.
    ``worker_skill`` is sigmoid(alpha_w * exp(median beta)); ``extra`` holds alpha, beta.
    """
    data = check_answers(items=items, workers=workers, labels=labels, n_items=n_items,
                         n_workers=n_workers, n_classes=n_classes)
    gold = gold_matrix(data=data, gold_items=gold_items, gold_labels=gold_labels)
    k = data.n_classes
    log_km1 = np.log(max(k - 1, 1))
    it, wk, lb = data.items, data.workers, data.labels
    n_w, n_i = data.n_workers, data.n_items
    flat = it * k + lb
    alpha = np.ones(n_w)
    beta = np.ones(n_i)
    log_prior = np.full(k, -np.log(k))

    def e_step(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ab = a[wk] * np.exp(b[it])
        log_sig = -np.logaddexp(0.0, -ab)
        log_wrong = -np.logaddexp(0.0, ab) - log_km1
        base = np.bincount(it, weights=log_wrong, minlength=n_i)
        bonus = np.bincount(flat, weights=log_sig - log_wrong, minlength=n_i * k).reshape(n_i, k)
        z = base[:, None] + bonus + log_prior[None, :]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return clamp(p, gold)

    def neg_q(x: np.ndarray, p_hit: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = x[:n_w], x[n_w:]
        eb = np.exp(b[it])
        ab = a[wk] * eb
        log_sig = -np.logaddexp(0.0, -ab)
        log_wrong = -np.logaddexp(0.0, ab) - log_km1
        q = float((p_hit * log_sig + (1 - p_hit) * log_wrong).sum())
        q -= 0.5 * float(((a - alpha_prior_mean) ** 2).sum() + ((b - beta_prior_mean) ** 2).sum())
        g = p_hit - expit(ab)
        ga = np.bincount(wk, weights=g * eb, minlength=n_w) - (a - alpha_prior_mean)
        gb = np.bincount(it, weights=g * ab, minlength=n_i) - (b - beta_prior_mean)
        return -q, -np.concatenate([ga, gb])

    post = e_step(alpha, beta)
    last_q = -np.inf
    n_iter = 0
    norm = max(data.n_answers, 1)
    for n_iter in range(1, max_iter + 1):
        p_hit = post[it, lb]
        res = minimize(neg_q, np.concatenate([alpha, beta]), args=(p_hit,), jac=True,
                       method="L-BFGS-B", options={"maxiter": m_step_max_iter})
        alpha, beta = res.x[:n_w], res.x[n_w:]
        post = e_step(alpha, beta)
        q = -neg_q(res.x, post[it, lb])[0] / norm
        if q - last_q < tol:
            break
        last_q = q
    easiness = float(np.exp(np.median(beta))) if n_i else 1.0
    skill = expit(alpha * easiness)
    return finish(method="glad", data=data, posteriors=post, worker_skill=skill, gold=gold,
                  class_priors=np.exp(log_prior), n_iter=n_iter, extra={"alpha": alpha, "beta": beta})
