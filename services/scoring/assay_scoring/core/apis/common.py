"""Role sets and small helpers shared by the views."""
from __future__ import annotations

from rest_framework import serializers

from assay_shared.auth.drf import HasRole

GOLD_ROLES = ("qa_lead", "expert", "admin")
LEAD_ROLES = ("qa_lead", "admin")
RESULT_ROLES = ("qa_lead", "admin", "expert", "reviewer", "service")

CanManageGold = HasRole.of(*GOLD_ROLES)
IsLead = HasRole.of(*LEAD_ROLES)
CanReadResults = HasRole.of(*RESULT_ROLES)


class PageSerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)


def page(rows, params: dict) -> list:
    return list(rows[params["offset"]:params["offset"] + params["limit"]])
