"""Per-task posterior from a project's fitted annotator model (no refitting on one task).

For Dawid-Skene, one-coin Dawid-Skene, GLAD and MACE the periodic refit stores each
annotator's confusion matrix P(answer | truth) and the class priors; the posterior of a new
task is then prior(t) * prod_w P(answer_w | t), computed in log space in one vectorised step.
Annotators the model has not seen get the mean confusion of those it has. Only the task's
annotators' parameters are loaded.
"""
from __future__ import annotations

import numpy as np

from assay_scoring.core.compute.config import FittedModel

LOG_FLOOR = 1e-10


def posterior_from_model(*, model: FittedModel, annotators: list[str], labels: list[str]) -> np.ndarray | None:
    """Posterior over model.labels for one task; None when an answer's label is unknown to the model."""
    label_pos = {name: i for i, name in enumerate(model.labels)}
    if any(label not in label_pos for label in labels):
        return None
    k = len(model.labels)
    cube = np.asarray([model.confusions.get(a, model.mean_confusion) for a in annotators], dtype=float)
    if k == 0 or cube.shape != (len(annotators), k, k):
        return None
    o = np.array([label_pos[label] for label in labels], dtype=np.int64)
    priors = np.asarray(model.class_priors, dtype=float)
    if priors.shape != (k,):
        priors = np.full(k, 1.0 / k)
    log_post = np.log(np.maximum(priors, LOG_FLOOR)) + np.log(
        np.maximum(cube[np.arange(len(annotators)), :, o], LOG_FLOOR)).sum(axis=0)
    log_post -= log_post.max()
    post = np.exp(log_post)
    return post / post.sum()


def posteriors_from_model(*, model: FittedModel,
                          tasks: list[tuple[list[str], list[str] | None]]) -> list[np.ndarray | None]:
    """`posterior_from_model` of many tasks at once: (annotators, labels) per task, labels None to skip a task.

    Each annotator's confusion matrix is converted once; the log-likelihood rows of every answer of every
    task are gathered in one step and summed per task. None where the single-task function gives None."""
    label_pos = {name: i for i, name in enumerate(model.labels)}
    k = len(model.labels)
    out: list[np.ndarray | None] = [None] * len(tasks)
    if k == 0:
        return out
    priors = np.asarray(model.class_priors, dtype=float)
    if priors.shape != (k,):
        priors = np.full(k, 1.0 / k)
    mean = np.asarray(model.mean_confusion, dtype=float)
    matrices: dict[str, np.ndarray] = {}
    rows, codes, segments, kept = [], [], [], []
    for index, (annotators, labels) in enumerate(tasks):
        if labels is None or not labels or any(label not in label_pos for label in labels):
            continue
        task_rows = []
        for annotator in annotators:
            if annotator not in matrices:
                given = model.confusions.get(annotator)
                matrices[annotator] = mean if given is None else np.asarray(given, dtype=float)
            task_rows.append(matrices[annotator])
        if any(m.shape != (k, k) for m in task_rows):
            continue
        rows.extend(task_rows)
        codes.extend(label_pos[label] for label in labels)
        segments.extend([len(kept)] * len(labels))
        kept.append(index)
    if not kept:
        return out
    cube = np.stack(rows)  # (answers, truth, observed)
    loglik = np.log(np.maximum(cube[np.arange(len(rows)), :, np.asarray(codes)], LOG_FLOOR))
    log_post = np.tile(np.log(np.maximum(priors, LOG_FLOOR)), (len(kept), 1))
    np.add.at(log_post, np.asarray(segments), loglik)
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    post /= post.sum(axis=1, keepdims=True)
    for row, index in enumerate(kept):
        out[index] = post[row]
    return out
