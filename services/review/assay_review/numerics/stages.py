"""Review stages as plain data: where a fresh item enters and where a verdict sends it next (no Django here).

A project's workflow is an ordered list of stages. A fresh item (sampled, disputed, batch sample, flagged by
the model) enters the first stage that takes its source and, if the stage names classes, one of its classes;
when no stage takes it, the first stage. A verdict at a stage either ends the item's review (it is final) or
sends it on: `escalated` to the stage's `escalate_to` (a later stage, the next by default); `rejected` or
`corrected` to the next stage when that stage takes them; any other verdict, with the stage's `check_share`
(a deterministic draw per item), to the next stage as a check of the reviewer. The last stage's verdict is final.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from assay_review.numerics.sampling import draw

FRESH_SOURCES = ("sampled", "disputed", "batch_sample", "model_flagged")
FORWARDED_SOURCES = ("escalated", "rejected", "corrected")
SOURCES = FRESH_SOURCES + FORWARDED_SOURCES
VERDICTS = ("accepted", "rejected", "corrected", "escalated")
FINAL_VERDICTS = ("accepted", "rejected", "corrected")
ROLES = ("reviewer", "expert", "qa_lead", "admin")
MAX_STAGES = 8

# the reason an item was queued with (review.requested's `reason`) → the source a stage's `enters` names
_REASON_SOURCE = {"consensus_disputed": "disputed", "batch_sample": "batch_sample", "model_disagrees": "model_flagged"}


@dataclass(frozen=True)
class Stage:
    name: str
    roles: tuple[str, ...]
    enters: tuple[str, ...] = FRESH_SOURCES
    exits: tuple[str, ...] = FINAL_VERDICTS
    classes: tuple[str, ...] = ()
    check_share: float = 0.0
    escalate_to: str | None = None
    skills: tuple[str, ...] = ()  # a person working the stage must hold every one of them (none: any)


DEFAULT = (Stage(name="review", roles=ROLES),)


@dataclass(frozen=True)
class Route:
    """Where a verdict sends an item: `stage` (position) and why (`reason`), or nowhere (final)."""

    stage: int | None
    reason: str | None = None


@dataclass
class StageErrors:
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)


def stages_from(raw: Iterable[dict[str, Any]] | None) -> tuple[Stage, ...]:
    """Stages from their stored form (validated on the way in); no workflow means one stage anyone reviewing may work."""
    if not raw:
        return DEFAULT
    return tuple(Stage(name=s["name"], roles=tuple(s["roles"]), enters=tuple(s.get("enters") or FRESH_SOURCES),
                       exits=tuple(s.get("exits") or FINAL_VERDICTS), classes=tuple(s.get("classes") or ()),
                       check_share=float(s.get("check_share") or 0.0), escalate_to=s.get("escalate_to"),
                       skills=tuple(s.get("skills") or ()))
                 for s in raw)


def stages_check(stages: list[dict[str, Any]]) -> dict[str, list[str]]:
    """What is wrong with a stage list (field path → reasons); empty when it is a workflow that can run.

    Refused: no stage, more than MAX_STAGES, a repeated name, a stage nobody may work (no roles), a stage that
    takes nothing or can be left by no verdict, an escalation to itself or an earlier stage (a cycle) or to an
    unknown one, the last stage escalating or checking (there is nothing after it), a later stage taking
    forwarded items when no stage before it can send them.
    """
    errors = StageErrors()
    if not stages:
        errors.add("stages", "at least one stage is needed")
        return errors.fields
    if len(stages) > MAX_STAGES:
        errors.add("stages", f"at most {MAX_STAGES} stages")
        return errors.fields
    positions: dict[str, int] = {}
    for i, s in enumerate(stages):
        if s["name"] in positions:
            errors.add(f"stages[{i}].name", f"repeats the name of stage {positions[s['name']]}")
        positions.setdefault(s["name"], i)
    last = len(stages) - 1
    for i, s in enumerate(stages):
        at = f"stages[{i}]"
        if not s.get("roles"):
            errors.add(f"{at}.roles", "an empty stage: nobody may work it")
        if s.get("enters") is not None and not s["enters"]:
            errors.add(f"{at}.enters", "an empty stage: nothing enters it")
        if not s.get("exits", FINAL_VERDICTS):
            errors.add(f"{at}.exits", "an empty stage: no verdict leaves it")
        if i == 0 and any(src in FORWARDED_SOURCES for src in s.get("enters") or ()):
            errors.add(f"{at}.enters", "the first stage has no stage before it to forward items")
        target = s.get("escalate_to")
        escalates = "escalated" in s.get("exits", FINAL_VERDICTS)
        if i == last and escalates:
            errors.add(f"{at}.exits", "the last stage's verdict is final: it cannot escalate")
        if i == last and s.get("check_share"):
            errors.add(f"{at}.check_share", "the last stage has no stage after it to check its reviewers")
        if target is not None:
            if target not in positions:
                errors.add(f"{at}.escalate_to", f"no stage is named {target!r}")
            elif positions[target] <= i:
                errors.add(f"{at}.escalate_to", f"a cycle: {target!r} is not after this stage")
            elif not escalates:
                errors.add(f"{at}.escalate_to", "the stage's exits do not include escalated")
    return errors.fields


def source_of(reason: str) -> str:
    """The source a fresh item's reason stands for: every sampling rule is `sampled`."""
    return _REASON_SOURCE.get(reason, "sampled")


def entry_stage(stages: tuple[Stage, ...], *, reason: str, labels: Iterable[str]) -> int:
    """The stage a fresh item enters: the first taking its source (and one of its classes, if it names any)."""
    source, labels = source_of(reason), set(labels)
    for i, s in enumerate(stages):
        if source in s.enters and (not s.classes or labels.intersection(s.classes)):
            return i
    return 0


def next_route(stages: tuple[Stage, ...], *, stage: int, verdict: str, review_id: str) -> Route:
    """Where a verdict at `stage` sends the item (see the module's description); Route(None) when it is final."""
    if stage >= len(stages) - 1:
        return Route(None)
    current = stages[stage]
    if verdict == "escalated":
        target = current.escalate_to
        position = next((i for i, s in enumerate(stages) if s.name == target), stage + 1) if target else stage + 1
        return Route(position, "escalated")
    following = stages[stage + 1]
    if verdict in following.enters:
        return Route(stage + 1, verdict)
    if current.check_share and draw(key=review_id, salt="reviewer_check") < current.check_share:
        return Route(stage + 1, "reviewer_check")
    return Route(None)
