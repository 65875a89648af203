"""Sampling decisions as pure functions: the labels of an answer, a deterministic draw, the effective rate."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable

LABEL_KEYS = ("label", "labels", "class", "category")
MAX_LABELS = 256


def answer_labels(answer: Any) -> list[str]:
    """The classes an answer speaks of: a plain label, a list of labels, or the labels of its objects.

    Looks at strings and lists of strings at the top level, and at `label`/`labels`/`class`/`category`
    keys at any depth (boxes, polygons, nested objects). Sorted, without duplicates.
    """
    found: set[str] = set()

    def visit(value: Any, *, top: bool) -> None:
        if len(found) >= MAX_LABELS:
            return
        if isinstance(value, str):
            if top:
                found.add(value)
        elif isinstance(value, list):
            for item in value:
                visit(item, top=top)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in LABEL_KEYS and isinstance(item, (str, list)):
                    visit(item, top=True)
                elif isinstance(item, (dict, list)):
                    visit(item, top=False)

    visit(answer, top=True)
    return sorted(found)


def draw(*, key: str, salt: str = "") -> float:
    """A number in [0, 1) fixed by `key` (and `salt`): the same submission always draws the same."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Policy:
    base_rate: float
    class_rates: dict[str, float]
    annotator_rates: dict[str, float]
    new_annotator_submissions: int
    new_annotator_rate: float
    low_gold_threshold: float
    low_gold_min_count: int
    low_gold_rate: float
    flagged_rate: float = 0.0


# The policy of a project the QA lead has not given one (ADR 0098): no rule samples anything. Disputes, batch
# samples and the model-disagrees rule still queue items; they do not go through a policy.
DEFAULT_POLICY = Policy(base_rate=0.0, class_rates={}, annotator_rates={}, new_annotator_submissions=0,
                        new_annotator_rate=0.0, low_gold_threshold=0.0, low_gold_min_count=0, low_gold_rate=0.0,
                        flagged_rate=0.0)
DEFAULT_POLICY_RULE = "no_policy"
DEFAULT_POLICY_DETAIL = "the project has no sampling policy: the default samples nothing by rule"


@dataclass(frozen=True)
class AnnotatorHistory:
    submissions_before: int
    gold_count: int
    gold_mean_score: float | None
    flagged: bool = False  # metrics flagged the annotator (annotator.flagged) and has not reinstated them


@dataclass(frozen=True)
class RateChoice:
    rule: str
    rate: float
    detail: str


def effective_rate(*, policy: Policy, annotator: str, labels: Iterable[str], history: AnnotatorHistory) -> RateChoice:
    """The highest rate among the rules that apply; an annotator override replaces the base rate.

    Ties go to the more specific rule (listed later below), so the recorded reason is the most telling one.
    """
    if annotator in policy.annotator_rates:
        choice = RateChoice("annotator_override", policy.annotator_rates[annotator], f"override for {annotator}")
    else:
        choice = RateChoice("base_rate", policy.base_rate, "base rate")
    candidates: list[RateChoice] = []
    for label in labels:
        if label in policy.class_rates:
            candidates.append(RateChoice("class_rate", policy.class_rates[label], f"class {label}"))
    if policy.new_annotator_submissions and history.submissions_before < policy.new_annotator_submissions:
        candidates.append(RateChoice(
            "new_annotator", policy.new_annotator_rate,
            f"submission {history.submissions_before + 1} of the first {policy.new_annotator_submissions}"))
    if (policy.low_gold_min_count and history.gold_mean_score is not None
            and history.gold_count >= policy.low_gold_min_count
            and history.gold_mean_score < policy.low_gold_threshold):
        candidates.append(RateChoice(
            "low_gold_score", policy.low_gold_rate,
            f"gold mean {history.gold_mean_score:.3f} < {policy.low_gold_threshold:g} over {history.gold_count}"))
    if history.flagged and policy.flagged_rate:
        candidates.append(RateChoice("flagged_annotator", policy.flagged_rate, "annotator flagged by metrics"))
    for candidate in candidates:
        if candidate.rate >= choice.rate:
            choice = candidate
    return choice


def sample_order(*, keys: Iterable[str], salt: str) -> list[str]:
    """Keys in a fixed pseudo-random order (by their draw): the first n are the sample."""
    return sorted(keys, key=lambda k: (draw(key=k, salt=salt), k))
