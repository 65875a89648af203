"""What the consumed events say, as the record functions take it (one item per event, in order)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class SubmissionIn:
    submission_id: UUID
    task_id: UUID
    project_id: UUID
    annotator: str
    answer: Any
    duration_ms: int | None  # None: the event did not say (counted as 0 in the totals, left out of speed rules)
    submitted_at: datetime
    correlation_id: str


@dataclass(frozen=True)
class GoldIn:
    submission_id: UUID
    project_id: UUID
    annotator: str
    score: float
    passed: bool
    correlation_id: str


@dataclass(frozen=True)
class ReviewIn:
    review_id: UUID
    submission_id: UUID
    project_id: UUID
    annotator: str
    reviewer: str
    verdict: str
    correlation_id: str


@dataclass(frozen=True)
class ConsensusIn:
    task_id: UUID
    project_id: UUID
    answer: Any
    agreement: float
    disputed: bool
    annotators: list[str]
    submission_ids: list[UUID]
    correlation_id: str = ""


@dataclass(frozen=True)
class SkillIn:
    project_id: UUID
    annotator: str
    method: str
    skill: float
    interval: tuple[float, float] | None = None
