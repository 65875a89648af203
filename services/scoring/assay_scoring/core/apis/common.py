"""Role sets and small helpers shared by the views."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from assay_shared.auth.drf import HasRole
from assay_shared.openapi_errors import ErrorOutput

GOLD_ROLES = ("qa_lead", "expert", "admin")
LEAD_ROLES = ("qa_lead", "admin")
RESULT_ROLES = ("qa_lead", "admin", "expert", "reviewer", "service")

CanManageGold = HasRole.of(*GOLD_ROLES)
IsLead = HasRole.of(*LEAD_ROLES)
CanReadResults = HasRole.of(*RESULT_ROLES)


class PageSerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000_000, default=0)


def errors(*, roles: bool = True, **described: str) -> dict:
    """OpenAPI responses in the error shape: errors(_400="...", _404="...") plus 401, 429 and (roles) 403."""
    out = {401: "not_authenticated, authentication_failed", **({403: "forbidden (roles)"} if roles else {}),
           429: "rate_limited (Retry-After)", **{int(key.lstrip("_")): text for key, text in described.items()}}
    return {code: OpenApiResponse(ErrorOutput, description=text) for code, text in out.items()}


def page(rows, params: dict) -> list:
    return list(rows[params["offset"]:params["offset"] + params["limit"]])
