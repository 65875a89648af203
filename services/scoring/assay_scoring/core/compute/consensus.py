"""Consensus of one task's answers, per answer type, through the numerical core."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay_scoring.core.compute.answers import answer_normalise, answer_validate, keypoint_sigmas
from assay_scoring.core.compute.config import FittedModel, ScoringConfig
from assay_scoring.core.compute.online import posterior_from_model, posteriors_from_model
from assay_scoring.numerics.categorical import majority_vote, weighted_vote
from assay_scoring.numerics.consensus_objects import (
    box_consensus,
    keypoint_consensus,
    polygon_consensus,
    span_consensus,
)
from assay_scoring.numerics.errors import AnswerValidationError
from assay_scoring.numerics.geometry import polygon_from_points
from assay_scoring.numerics.gold_simple import normalized_edit_distance

MODEL_METHODS = ("default", "dawid_skene", "one_coin_dawid_skene", "glad", "mace")
FREE_TEXT_CLOSE = 0.1


@dataclass(frozen=True)
class TaskConsensus:
    method: str
    answer: Any
    confidence: float
    agreement: float
    details: dict = field(default_factory=dict)


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _weights(*, model: FittedModel | None, annotators: list[str]) -> np.ndarray | None:
    if model is None:
        return None
    return np.array([model.skill_of(a) for a in annotators], dtype=float)


def _model_applies(config: ScoringConfig, model: FittedModel | None) -> bool:
    return model is not None and config.consensus_method in MODEL_METHODS and model.method == config.consensus_method


def _categorical(*, config: ScoringConfig, model: FittedModel | None, annotators: list[str],
                 labels: list[str], label_space: list[str], use_model: bool,
                 posterior: np.ndarray | None = None) -> tuple[str, str, float, float, dict]:
    """(method, winning label, confidence, agreement, posterior by label) of one categorical question;
    `posterior`, when given, is this question's posterior from the fitted model, computed beforehand."""
    if use_model and _model_applies(config, model):
        post = posterior if posterior is not None else posterior_from_model(model=model, annotators=annotators,
                                                                              labels=labels)
        if post is not None:
            best = int(np.argmax(post >= post.max() - 1e-12))
            winner = model.labels[best]
            agreement = sum(1 for x in labels if x == winner) / len(labels)
            return (config.consensus_method, winner, float(post[best]), agreement,
                    {name: float(p) for name, p in zip(model.labels, post)})
    space = sorted(set(label_space) | set(labels))
    pos = {name: i for i, name in enumerate(space)}
    items = np.zeros(len(labels), dtype=np.int64)
    workers = np.arange(len(labels), dtype=np.int64)
    codes = np.array([pos[x] for x in labels], dtype=np.int64)
    if config.consensus_method == "majority_vote":
        result = majority_vote(items=items, workers=workers, labels=codes, n_items=1, n_classes=len(space))
    elif model is not None and use_model:
        result = weighted_vote(items=items, workers=workers, labels=codes, n_items=1, n_classes=len(space),
                               worker_skill=_weights(model=model, annotators=annotators), weighting="log_odds")
    else:
        result = weighted_vote(items=items, workers=workers, labels=codes, n_items=1, n_classes=len(space),
                               worker_skill=np.ones(len(labels)), weighting="accuracy")
    best = int(result.labels[0])
    method = "majority_vote" if config.consensus_method == "majority_vote" else "weighted_vote"
    return (method, space[best], float(result.confidence[0]), float(result.agreement[0]),
            {name: float(p) for name, p in zip(space, result.posteriors[0])})


def _single_choice(config, model, annotators, answers, posterior=None) -> TaskConsensus:
    labels = [answer_validate(config=config, answer=a) for a in answers]
    method, winner, conf, agree, post = _categorical(config=config, model=model, annotators=annotators,
                                                     labels=labels, label_space=list(config.labels), use_model=True,
                                                     posterior=posterior)
    return TaskConsensus(method=method, answer={"label": winner}, confidence=_clip01(conf),
                         agreement=_clip01(agree), details={"posterior": post})


def _multi_choice(config, model, annotators, answers) -> TaskConsensus:
    chosen = [set(answer_validate(config=config, answer=a)) for a in answers]
    options = sorted(set(config.labels) | set().union(*chosen))
    per_label, selected, confs, agrees, method = {}, [], [], [], "majority_vote"
    for option in options:
        votes = ["yes" if option in c else "no" for c in chosen]
        method, winner, conf, agree, _ = _categorical(config=config, model=model, annotators=annotators,
                                                      labels=votes, label_space=["no", "yes"], use_model=False)
        per_label[option] = {"selected": winner == "yes", "confidence": _clip01(conf), "agreement": _clip01(agree)}
        confs.append(conf)
        agrees.append(agree)
        if winner == "yes":
            selected.append(option)
    return TaskConsensus(method=method, answer={"labels": selected},
                         confidence=_clip01(min(confs)) if confs else 1.0,
                         agreement=_clip01(float(np.mean(agrees))) if agrees else 1.0,
                         details={"per_label": per_label})


def _vote_attributes(objects: list[dict], members: np.ndarray) -> dict:
    out: dict = {}
    keys = sorted({k for i in members.tolist() for k in objects[i].get("attributes", {})})
    for key in keys:
        tally: dict[str, tuple[int, Any]] = {}
        for i in members.tolist():
            attrs = objects[i].get("attributes", {})
            if key in attrs:
                token = repr(attrs[key])
                count, _ = tally.get(token, (0, None))
                tally[token] = (count + 1, attrs[key])
        out[key] = sorted(tally.items(), key=lambda kv: (-kv[1][0], kv[0]))[0][1][1]
    return out


def _objects(config, model, annotators, answers) -> TaskConsensus:
    kind = config.answer_type
    per_answer = [answer_validate(config=config, answer=a) for a in answers]
    objects = [o for objs in per_answer for o in objs]
    owner = np.array([i for i, objs in enumerate(per_answer) for _ in objs], dtype=np.int64)
    labels = [o["label"] for o in objects]
    weights = _weights(model=model, annotators=annotators)
    common = dict(annotators=owner, n_annotators=len(answers), labels=labels, annotator_weights=weights,
                  quorum=config.quorum)
    if kind == "bbox":
        result = box_consensus(boxes=np.array([o["bbox"] for o in objects], dtype=float).reshape(-1, 4),
                               iou_threshold=config.overlap_threshold, **common)
        fused = [{"bbox": [float(v) for v in g]} for g in result.geometry]
    elif kind == "polygon":
        shapes = [polygon_from_points(points=o["points"], path="points") for o in objects]
        result = polygon_consensus(polygons=shapes, iou_threshold=config.overlap_threshold, **common)
        fused = [{"points": [list(p) for p in objects[next(i for i in m.tolist() if shapes[i] is g)]["points"]]}
                 for g, m in zip(result.geometry, result.members)]
    else:
        sigmas = keypoint_sigmas(config=config, answer=answers[0] if answers else None)
        kp = np.array([o["keypoints"] for o in objects], dtype=float).reshape(-1, sigmas.size, 3)
        result = keypoint_consensus(keypoints=kp, sigmas=sigmas, oks_threshold=config.overlap_threshold, **common)
        fused = [{"keypoints": [[float(x), float(y), int(v)] for x, y, v in g]} for g in result.geometry]
    out = [{"label": lab, **geo, "attributes": _vote_attributes(objects, m)}
           for lab, geo, m in zip(result.labels, fused, result.members)]
    w = np.ones(len(answers)) if weights is None else np.maximum(weights, 0.0)
    drew = np.array([1.0 if objs else 0.0 for objs in per_answer])
    drew_share = float((w * drew).sum() / w.sum()) if w.sum() > 0 else 0.0
    if out:
        confidence, agreement = float(result.support.min()), float(result.agreement.mean())
    else:
        confidence, agreement = 1.0 - drew_share, 1.0 if drew_share == 0 else 0.0
    return TaskConsensus(method=f"{kind}_clustering", answer={"objects": out}, confidence=_clip01(confidence),
                         agreement=_clip01(agreement),
                         details={"support": [float(s) for s in result.support],
                                  "object_agreement": [float(a) for a in result.agreement],
                                  "unclustered_objects": len(objects) - sum(m.size for m in result.members)})


def _text_spans(config, model, annotators, answers) -> TaskConsensus:
    per_answer = [answer_validate(config=config, answer=a) for a in answers]
    length = max((s["end"] for spans in per_answer for s in spans), default=0)
    result = span_consensus(answers=per_answer, text_length=length,
                            annotator_weights=_weights(model=model, annotators=annotators), quorum=config.quorum)
    spans = [{"label": lab, "start": st, "end": en} for lab, st, en, _ in result.spans]
    if result.spans:
        confidence = min(c for *_, c in result.spans)
    else:
        confidence = float(result.confidence.mean()) if length else 1.0
    return TaskConsensus(method="span_vote", answer={"spans": spans}, confidence=_clip01(confidence),
                         agreement=_clip01(result.agreement),
                         details={"span_confidence": [float(c) for *_, c in result.spans]})


def _free_text(config, model, annotators, answers) -> TaskConsensus:
    texts = [answer_validate(config=config, answer=a) for a in answers]
    norm = [" ".join(t.casefold().split()) for t in texts]
    n = len(texts)
    dist = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            dist[i, j] = dist[j, i] = normalized_edit_distance(a=norm[i], b=norm[j])
    w = _weights(model=model, annotators=annotators)
    w = np.ones(n) if w is None else np.maximum(w, 1e-9)
    medoid = int(np.argmin(dist @ w))
    close = dist[medoid] <= FREE_TEXT_CLOSE
    agreement = 1.0 - float(dist[np.triu_indices(n, 1)].mean()) if n > 1 else 1.0
    return TaskConsensus(method="medoid_edit_distance", answer={"text": texts[medoid]},
                         confidence=_clip01(float(w[close].sum() / w.sum())), agreement=_clip01(agreement),
                         details={"distance_to_consensus": [float(d) for d in dist[medoid]]})


_BY_TYPE = {
    "single_choice": _single_choice,
    "multi_choice": _multi_choice,
    "bbox": _objects,
    "polygon": _objects,
    "keypoints": _objects,
    "text_span": _text_spans,
    "free_text": _free_text,
}


def task_consensus_compute(*, config: ScoringConfig, model: FittedModel | None, annotators: list[str],
                           answers: list[Any], posterior: np.ndarray | None = None) -> TaskConsensus:
    """Consensus of one task from one answer per annotator (parallel lists); `posterior` from
    `model_posteriors` saves computing a single-choice task's posterior again.

    Raises AnswerValidationError when a stored answer does not fit the project's answer type."""
    answers = [answer_normalise(config=config, answer=a) for a in answers]
    if config.answer_type == "single_choice":
        return _single_choice(config, model, annotators, answers, posterior)
    return _BY_TYPE[config.answer_type](config, model, annotators, answers)


def model_posteriors(*, config: ScoringConfig, model: FittedModel | None,
                     tasks: list[tuple[list[str], list[Any]]]) -> list[np.ndarray | None]:
    """The fitted model's posteriors of many single-choice tasks (annotators, answers) in one vectorised
    step; None where the model does not apply, or for a task with an invalid answer (its own
    computation reports it)."""
    if config.answer_type != "single_choice" or not _model_applies(config, model):
        return [None] * len(tasks)
    labelled: list[tuple[list[str], list[str] | None]] = []
    for annotators, answers in tasks:
        try:
            labelled.append((annotators, [answer_validate(config=config, answer=a) for a in answers]))
        except AnswerValidationError:
            labelled.append((annotators, None))
    return posteriors_from_model(model=model, tasks=labelled)
