"""What the webhooks APIs share: admin-only access and input serializers that refuse unknown fields."""
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from assay_shared.auth.drf import HasRole
from assay_shared.openapi_errors import ErrorOutput

ADMIN_ONLY = [HasRole.of("admin")]


def errors(**described: str) -> dict:
    """OpenAPI responses in the error shape: errors(_400="...", _404="...") plus 401, 403 and 429."""
    out = {401: "not_authenticated, authentication_failed", 403: "forbidden (admin only)",
           429: "rate_limited (Retry-After)", **{int(key.lstrip("_")): text for key, text in described.items()}}
    return {code: OpenApiResponse(ErrorOutput, description=text) for code, text in out.items()}


def _indexed(detail):
    """DRF reports list-item errors as {index: errors}; make them lists so paths read `field[index]`."""
    if isinstance(detail, dict):
        if detail and all(isinstance(k, int) for k in detail):
            items = [[] for _ in range(max(detail) + 1)]
            for index, value in detail.items():
                items[index] = _indexed(value)
            return items
        return {key: _indexed(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_indexed(item) for item in detail]
    return detail


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare, so a misspelt option is an error rather than ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["is not a known field"] for name in unknown})
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_indexed(exc.detail)) from None
