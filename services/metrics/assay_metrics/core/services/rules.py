"""Quality rules: create, update, delete (validated by the API: apis_rules.py)."""
from __future__ import annotations

from uuid import UUID

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import NotFoundError

from assay_metrics.core.models import QualityRule

# optional settings: the sequential exam (qualification) and hysteresis (gold_accuracy); None when unused
SETTINGS = ("p0", "p1", "alpha", "beta", "max_count", "on_fail", "cooldown_s", "confidence", "reinstate_threshold",
            "probation")


def quality_rule_create(*, kind: str, threshold: float, min_count: int, project_id: UUID | None = None,
                        enabled: bool = True, actor: str, **settings) -> QualityRule:
    return QualityRule.objects.create(tenant_id=require_tenant(), project_id=project_id, kind=kind,
                                      threshold=threshold, min_count=min_count, enabled=enabled, created_by=actor,
                                      **{name: settings.get(name) for name in SETTINGS})


def quality_rule_update(*, rule_id: UUID, threshold: float, min_count: int, enabled: bool, **settings) -> QualityRule:
    rule = QualityRule.objects.select_for_update().filter(id=rule_id).first()
    if rule is None:
        raise NotFoundError(f"quality rule {rule_id} does not exist")
    rule.threshold, rule.min_count, rule.enabled = threshold, min_count, enabled
    for name in SETTINGS:
        setattr(rule, name, settings.get(name))
    rule.save(update_fields=["threshold", "min_count", "enabled", *SETTINGS, "updated_at"])
    return rule


def quality_rule_delete(*, rule_id: UUID) -> None:
    deleted, _ = QualityRule.objects.filter(id=rule_id).delete()
    if not deleted:
        raise NotFoundError(f"quality rule {rule_id} does not exist")
