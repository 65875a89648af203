"""Quality rules CRUD for admins and QA leads."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of

from assay_metrics.core import selectors, services
from assay_metrics.core.apis import errors, page
from assay_metrics.core.models import QualityRule
from assay_metrics.core.services.exams import exam_problems
from assay_metrics.numerics.sprt import Plan, min_answers, plan_problems

MAX_ANSWER_MS = 3_600_000


class RuleOutput(serializers.Serializer):
    rule_id = serializers.UUIDField(source="id")
    project_id = serializers.UUIDField(allow_null=True)
    kind = serializers.CharField()
    threshold = serializers.FloatField()
    min_count = serializers.IntegerField()
    enabled = serializers.BooleanField()
    p0 = serializers.FloatField(allow_null=True)
    p1 = serializers.FloatField(allow_null=True)
    alpha = serializers.FloatField(allow_null=True)
    beta = serializers.FloatField(allow_null=True)
    max_count = serializers.IntegerField(allow_null=True)
    on_fail = serializers.CharField(allow_null=True)
    cooldown_s = serializers.IntegerField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    reinstate_threshold = serializers.FloatField(allow_null=True)
    probation = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


SEQUENTIAL = ("p0", "p1", "alpha", "beta", "max_count", "on_fail", "cooldown_s")
HYSTERESIS = ("confidence", "reinstate_threshold", "probation")
MAX_COOLDOWN_S = 90 * 86_400


def _refuse(problems: dict[str, str]) -> None:
    if problems:
        raise serializers.ValidationError({field: [reason] for field, reason in problems.items()})


def _check(kind: str, attrs: dict, *, project_id) -> dict:
    """Refuse settings that do not fit the kind, or that could leave an annotator waiting forever (ADR 0087).

    A sequential qualification stores its indifference accuracy as the threshold and its shortest possible
    verdict as min_count."""
    sequential = attrs.get("p0") is not None
    _refuse({name: f"only for {QualityRule.QUALIFICATION} rules" for name in SEQUENTIAL
             if attrs.get(name) is not None and kind != QualityRule.QUALIFICATION})
    _refuse({name: f"only for {QualityRule.GOLD_ACCURACY} rules" for name in HYSTERESIS[1:]
             if attrs.get(name) is not None and kind != QualityRule.GOLD_ACCURACY})
    if attrs.get("confidence") is not None and kind not in (QualityRule.GOLD_ACCURACY, QualityRule.LOW_AGREEMENT):
        _refuse({"confidence": f"only for {QualityRule.GOLD_ACCURACY} and {QualityRule.LOW_AGREEMENT} rules"})
    if not sequential:
        _refuse({name: "This field is required." for name in ("threshold", "min_count") if attrs.get(name) is None})
        _refuse({name: "only with p0 (a sequential exam)" for name in SEQUENTIAL if attrs.get(name) is not None})
    if kind == QualityRule.FAST_ANSWERS:
        if not 0 < attrs["threshold"] <= MAX_ANSWER_MS:
            _refuse({"threshold": f"for fast_answers: milliseconds in (0, {MAX_ANSWER_MS}]"})
    elif attrs.get("threshold") is not None and not 0 <= attrs["threshold"] <= 1:
        _refuse({"threshold": f"for {kind}: a share in [0, 1]"})
    if sequential:
        _refuse({name: "required for a sequential exam" for name in ("p1", "alpha", "beta", "max_count", "on_fail")
                 if attrs.get(name) is None})
        _refuse(plan_problems(p0=attrs["p0"], p1=attrs["p1"], alpha=attrs["alpha"], beta=attrs["beta"],
                              max_count=attrs["max_count"]))
        if attrs["on_fail"] == "retake" and attrs.get("cooldown_s") is None:
            _refuse({"cooldown_s": "required when a failed exam is retaken: seconds before the retake"})
        if attrs["on_fail"] == "manual" and attrs.get("cooldown_s") is not None:
            _refuse({"cooldown_s": "only when a failed exam is retaken"})
        plan = Plan(attrs["p0"], attrs["p1"], attrs["alpha"], attrs["beta"], attrs["max_count"])
        attrs["threshold"], attrs["min_count"] = plan.indifference, min(min_answers(plan))
    if attrs.get("reinstate_threshold") is not None:
        _refuse({name: "required to reinstate automatically" for name in ("confidence", "probation")
                 if attrs.get(name) is None})
        if attrs["reinstate_threshold"] <= attrs["threshold"]:
            _refuse({"reinstate_threshold": f"must be above the suspension threshold ({attrs['threshold']:g}), "
                                            "or a suspension could be lifted by the evidence that caused it"})
    elif attrs.get("probation") is not None:
        _refuse({"probation": "only with reinstate_threshold"})
    _refuse(exam_problems(kind=kind, project_id=project_id, sequential=sequential, min_count=attrs.get("min_count"),
                          max_count=attrs.get("max_count")))
    return attrs


class RuleFields(serializers.Serializer):
    threshold = serializers.FloatField(required=False, help_text="required unless the rule is a sequential exam")
    min_count = serializers.IntegerField(min_value=1, max_value=10_000, required=False,
                                         help_text="required unless the rule is a sequential exam")
    enabled = serializers.BooleanField(required=False, default=True)
    p0 = serializers.FloatField(required=False, allow_null=True, default=None,
                                help_text="qualification: rejectable accuracy; setting it makes the exam sequential")
    p1 = serializers.FloatField(required=False, allow_null=True, default=None, help_text="acceptable accuracy (> p0)")
    alpha = serializers.FloatField(required=False, allow_null=True, default=None,
                                   help_text="risk of passing someone at p0, in (0, 0.5)")
    beta = serializers.FloatField(required=False, allow_null=True, default=None,
                                  help_text="risk of failing someone at p1, in (0, 0.5)")
    max_count = serializers.IntegerField(required=False, allow_null=True, default=None, max_value=10_000,
                                         help_text="answers at most; refused below the test's worst expected length")
    on_fail = serializers.ChoiceField(choices=["retake", "manual"], required=False, allow_null=True, default=None)
    cooldown_s = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0,
                                          max_value=MAX_COOLDOWN_S, help_text="seconds before a retake")
    confidence = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0.5, max_value=0.999,
                                        help_text="gold_accuracy, low_agreement: act only when the Wilson upper bound is below")
    reinstate_threshold = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0,
                                                 max_value=1, help_text="lift when the lower bound is above")
    probation = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=10_000,
                                         help_text="gold answers after the suspension before it can be lifted")


class QualityRuleListApi(APIView):
    """GET the tenant's rules; POST a new one.

    kinds: gold_accuracy (mean gold score below threshold after min_count gold → suspend), fast_answers
    (median duration of the last min_count answers below threshold ms → flag), review_rejection (share of
    reviews rejected above threshold after min_count reviews → flag), qualification (mean gold score at least
    threshold after min_count gold → qualified), low_agreement (mean agreement with consensus below threshold
    after min_count tasks → flag).
    qualification with p0, p1, alpha, beta, max_count, on_fail (and cooldown_s to retake) is Wald's sequential
    test instead; gold_accuracy with confidence decides on the Wilson interval and, with reinstate_threshold and
    probation, lifts its own suspension (docs/metrics.md, ADR 0087).
    """

    permission_classes = [HasRole.of("qa_lead", "admin")]

    class InputSerializer(RuleFields):
        class Meta:
            ref_name = "QualityRuleCreate"

        kind = serializers.ChoiceField(choices=list(QualityRule.KINDS))
        project_id = serializers.UUIDField(required=False, allow_null=True, default=None)

        def validate(self, attrs):
            return _check(attrs["kind"], attrs, project_id=attrs.get("project_id"))

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
        attrs = _check(rule.kind, dict(body.validated_data), project_id=rule.project_id)
        return Response(RuleOutput(services.quality_rule_update(rule_id=rule_id, **attrs)).data)

    @extend_schema(operation_id="quality_rule_delete", responses={
        204: None, **errors(_403="forbidden", _404="not_found")})
    def delete(self, request, rule_id):
        services.quality_rule_delete(rule_id=rule_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
