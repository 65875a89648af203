"""A project's scoring configuration as a frozen value handed to the pure compute functions."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScoringConfig:
    answer_type: str
    labels: tuple[str, ...] = ()
    overlap: int = 1
    consensus_method: str = "default"
    consensus_threshold: float = 0.7
    gold_pass_threshold: float = 0.8
    cost_matrix: dict = field(default_factory=dict)
    multi_choice_metric: str = "jaccard"
    overlap_threshold: float = 0.5
    quorum: float = 0.5
    keypoint_sigmas: tuple[float, ...] = ()

    @property
    def label_set(self) -> frozenset[str] | None:
        return frozenset(self.labels) if self.labels else None

    def cost_pairs(self) -> dict[tuple[str, str], float] | None:
        """{gold: {answer: cost}} as {(gold, answer): cost}; None when no cost matrix is set."""
        if not self.cost_matrix:
            return None
        return {(g, a): float(c) for g, row in self.cost_matrix.items() for a, c in row.items()}


@dataclass(frozen=True)
class FittedModel:
    """A project's fitted annotator parameters, for the annotators of one task (see WorkerModel)."""

    method: str
    labels: tuple[str, ...]
    class_priors: tuple[float, ...]
    mean_skill: float
    mean_confusion: list  # [truth][answer], for annotators the fit has not seen
    skills: dict[str, float] = field(default_factory=dict)
    confusions: dict[str, list] = field(default_factory=dict)  # annotator -> [truth][answer]

    def skill_of(self, annotator: str) -> float:
        return self.skills.get(annotator, self.mean_skill)
