"""Quality rules CRUD for admins and QA leads."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of

from assay_metrics.core import selectors, services
from assay_metrics.core.apis import errors, page
from assay_metrics.core.models import QualityRule

MAX_ANSWER_MS = 3_600_000


class RuleOutput(serializers.Serializer):
    rule_id = serializers.UUIDField(source="id")
    project_id = serializers.UUIDField(allow_null=True)
    kind = serializers.CharField()
    threshold = serializers.FloatField()
    min_count = serializers.IntegerField()
    enabled = serializers.BooleanField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _check_threshold(kind: str, threshold: float) -> None:
    if kind == QualityRule.FAST_ANSWERS:
        if not 0 < threshold <= MAX_ANSWER_MS:
            raise serializers.ValidationError({"threshold": [f"for fast_answers: milliseconds in (0, {MAX_ANSWER_MS}]"]})
    elif not 0 <= threshold <= 1:
        raise serializers.ValidationError({"threshold": [f"for {kind}: a share in [0, 1]"]})


class RuleFields(serializers.Serializer):
    threshold = serializers.FloatField()
    min_count = serializers.IntegerField(min_value=1, max_value=10_000)
    enabled = serializers.BooleanField(required=False, default=True)


class QualityRuleListApi(APIView):
    """GET the tenant's rules; POST a new one.

    kinds: gold_accuracy (mean gold score below threshold after min_count gold → suspend), fast_answers
    (median duration of the last min_count answers below threshold ms → flag), review_rejection (share of
    reviews rejected above threshold after min_count reviews → flag), qualification (mean gold score at least
    threshold after min_count gold → qualified).
    """

    permission_classes = [HasRole.of("qa_lead", "admin")]

    class InputSerializer(RuleFields):
        class Meta:
            ref_name = "QualityRuleCreate"

        kind = serializers.ChoiceField(choices=list(QualityRule.KINDS))
        project_id = serializers.UUIDField(required=False, allow_null=True, default=None)

        def validate(self, attrs):
            _check_threshold(attrs["kind"], attrs["threshold"])
            return attrs

    class FilterSerializer(serializers.Serializer):
        project_id = serializers.UUIDField(required=False)

    @extend_schema(operation_id="quality_rule_list", parameters=[FilterSerializer], responses={
        200: page("QualityRulePage", RuleOutput), **errors(_400="validation_error", _403="forbidden")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response({"results": RuleOutput(selectors.quality_rule_list(**filters.validated_data), many=True).data})

    @extend_schema(operation_id="quality_rule_create", request=InputSerializer, responses={
        201: RuleOutput, **errors(_400="validation_error (threshold range depends on kind)", _403="forbidden")})
    def post(self, request):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.quality_rule_create(actor=principal_of(request).subject, **body.validated_data)
        return Response(RuleOutput(rule).data, status=status.HTTP_201_CREATED)


class QualityRuleDetailApi(APIView):
    """GET / PUT (threshold, min_count, enabled) / DELETE one rule."""

    permission_classes = [HasRole.of("qa_lead", "admin")]

    @extend_schema(operation_id="quality_rule_retrieve", responses={
        200: RuleOutput, **errors(_403="forbidden", _404="not_found")})
    def get(self, request, rule_id):
        return Response(RuleOutput(selectors.quality_rule_get(rule_id=rule_id)).data)

    @extend_schema(operation_id="quality_rule_update", request=RuleFields, responses={
        200: RuleOutput, **errors(_400="validation_error", _403="forbidden", _404="not_found")})
    def put(self, request, rule_id):
        rule = selectors.quality_rule_get(rule_id=rule_id)
        body = RuleFields(data=request.data)
        body.is_valid(raise_exception=True)
        _check_threshold(rule.kind, body.validated_data["threshold"])
        return Response(RuleOutput(services.quality_rule_update(rule_id=rule_id, **body.validated_data)).data)

    @extend_schema(operation_id="quality_rule_delete", responses={
        204: None, **errors(_403="forbidden", _404="not_found")})
    def delete(self, request, rule_id):
        services.quality_rule_delete(rule_id=rule_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
