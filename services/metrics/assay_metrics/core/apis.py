"""Thin DRF views of annotator metrics: validate, call one selector or service, serialize."""
from datetime import datetime, timezone

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of
from assay_shared.openapi_errors import ErrorOutput

from assay_metrics.core import selectors, services

PRIVILEGED = ("admin", "qa_lead", "reviewer", "service")


def errors(**described: str) -> dict:
    """OpenAPI responses in the error shape: errors(_400="...", _404="...") plus 401 and 429."""
    out = {401: OpenApiResponse(ErrorOutput, description="not_authenticated, authentication_failed"),
           429: OpenApiResponse(ErrorOutput, description="rate_limited (Retry-After)")}
    for key, text in described.items():
        out[int(key.lstrip("_"))] = OpenApiResponse(ErrorOutput, description=text)
    return out


def page(name: str, item) -> serializers.Serializer:
    return inline_serializer(name, {"results": item(many=True)})


def _own_view(request, annotator: str | None) -> tuple[str | None, datetime | None]:
    """Annotators see only themselves, and their gold results and consensus matches only up to the start of today
    (UTC), so a figure moving right after a submission never tells them which task was gold."""
    principal = principal_of(request)
    if principal.has_any(*PRIVILEGED):
        return annotator, None
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return principal.subject, today


class AnnotatorStatsListApi(APIView):
    """Per-annotator counters. Annotators see only their own rows."""

    class FilterSerializer(serializers.Serializer):
        annotator = serializers.CharField(required=False, max_length=128)
        project_id = serializers.UUIDField(required=False)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnnotatorStats"

        project_id = serializers.UUIDField()
        annotator = serializers.CharField()
        submissions = serializers.IntegerField()
        total_duration_ms = serializers.IntegerField()
        last_submitted_at = serializers.DateTimeField()

    @extend_schema(operation_id="annotator_stats_list", parameters=[FilterSerializer],
                   responses={200: page("AnnotatorStatsPage", OutputSerializer), **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        principal = principal_of(request)
        annotator = filters.validated_data.get("annotator")
        if not principal.has_any(*PRIVILEGED):
            annotator = principal.subject
        rows = selectors.annotator_stats_list(annotator=annotator, project_id=filters.validated_data.get("project_id"))
        return Response({"results": self.OutputSerializer(rows, many=True).data})


def interval_field(what: str) -> serializers.ListField:
    """`[low, high]`: the 95 % interval of a rate, null when there is nothing to count."""
    return serializers.ListField(child=serializers.FloatField(min_value=0, max_value=1), min_length=2, max_length=2,
                                 allow_null=True, help_text=f"95 % interval [low, high] of {what}")


class GoldOutput(serializers.Serializer):
    count = serializers.IntegerField()
    mean_score = serializers.FloatField(allow_null=True)
    mean_score_interval = interval_field("the mean gold score (Wilson, scores as fractional successes)")
    pass_rate = serializers.FloatField(allow_null=True)
    pass_rate_interval = interval_field("the pass rate (Wilson)")


class ConsensusOutput(serializers.Serializer):
    count = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True, help_text="mean agreement with the task's consensus")
    agreement_interval = interval_field("the agreement (Wilson, agreements as fractional successes)")
    disputed = serializers.IntegerField()


class ReviewsOutput(serializers.Serializer):
    count = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    corrected = serializers.IntegerField()
    rejection_rate = serializers.FloatField(allow_null=True, help_text="rejected / count (ADR 0037)")
    rejection_rate_interval = interval_field("the rejection rate (Wilson)")


class MetricsOutput(serializers.Serializer):
    annotator = serializers.CharField()
    project_id = serializers.UUIDField()
    submissions = serializers.IntegerField()
    mean_duration_ms = serializers.FloatField(allow_null=True)
    last_submitted_at = serializers.DateTimeField(allow_null=True)
    skill = serializers.FloatField(allow_null=True)
    skill_method = serializers.CharField(allow_null=True)
    skill_interval = interval_field("the skill, as scoring estimated it (annotator.skill_estimated)")
    gold = GoldOutput()
    consensus = ConsensusOutput()
    reviews = ReviewsOutput()


class ReviewerAgreementOutput(serializers.Serializer):
    project_id = serializers.UUIDField()
    checks = serializers.IntegerField()
    agreed = serializers.IntegerField()
    agreement = serializers.FloatField()
    agreement_interval = interval_field("the agreement with the later stage (Wilson)")


class StandingOutput(serializers.Serializer):
    annotator = serializers.CharField()
    project_id = serializers.UUIDField(allow_null=True)
    suspended = serializers.BooleanField()
    flagged = serializers.BooleanField()
    qualified = serializers.BooleanField()
    exam_failed = serializers.BooleanField(help_text="failed a sequential exam; awaiting manual qualification")
    exam_since = serializers.DateTimeField(allow_null=True, help_text="a retake counts gold answers recorded after")
    since = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class AnnotatorMetricsListApi(APIView):
    """Every annotator's metrics per project (annotators: only their own)."""

    class FilterSerializer(serializers.Serializer):
        annotator = serializers.CharField(required=False, max_length=128)
        project_id = serializers.UUIDField(required=False)

    @extend_schema(operation_id="annotator_metrics_list", parameters=[FilterSerializer],
                   responses={200: page("AnnotatorMetricsPage", MetricsOutput), **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        annotator, hidden_from = _own_view(request, filters.validated_data.get("annotator"))
        rows = selectors.annotator_metrics_list(annotator=annotator, project_id=filters.validated_data.get("project_id"),
                                                hidden_from=hidden_from)
        return Response({"results": MetricsOutput(rows, many=True).data})


class AnnotatorMetricsDetailApi(APIView):
    """One annotator: metrics per project, trend (daily, last 7 days vs before), standings."""

    class FilterSerializer(serializers.Serializer):
        project_id = serializers.UUIDField(required=False)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnnotatorMetricsDetail"

        annotator = serializers.CharField()
        projects = MetricsOutput(many=True)
        trend = serializers.DictField(help_text="daily buckets of the last 14 days (UTC) and the last 7 days "
                                                "against everything before; each gold mean score with its 95 % "
                                                "Wilson interval (`gold_mean_score_interval`)")
        standings = StandingOutput(many=True)
        reviewer_agreement = ReviewerAgreementOutput(many=True, help_text=(
            "as a reviewer, per project: verdicts a later review stage checked and how many it agreed with"))

    @extend_schema(operation_id="annotator_metrics_retrieve", parameters=[FilterSerializer],
                   responses={200: OutputSerializer, **errors(_400="validation_error",
                                                              _403="forbidden: annotators see only their own")})
    def get(self, request, annotator):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        allowed, hidden_from = _own_view(request, annotator)
        if allowed != annotator:
            return Response({"error": {"code": "forbidden", "message": "annotators see only their own metrics",
                                       "fields": {}}}, status=status.HTTP_403_FORBIDDEN)
        project_id = filters.validated_data.get("project_id")
        return Response({
            "annotator": annotator,
            "projects": MetricsOutput(selectors.annotator_metrics_list(
                annotator=annotator, project_id=project_id, hidden_from=hidden_from), many=True).data,
            "trend": selectors.annotator_trend(annotator=annotator, project_id=project_id,
                                               now=datetime.now(timezone.utc), hidden_from=hidden_from),
            "standings": StandingOutput(selectors.standing_list(annotator=annotator), many=True).data,
            # as a reviewer: agreement with the later review stage that checked their verdicts (review.checked)
            "reviewer_agreement": selectors.reviewer_agreement(reviewer=annotator, project_id=project_id),
        })


class StandingListApi(APIView):
    """Suspension, flag and qualification state (annotators: only their own)."""

    class FilterSerializer(serializers.Serializer):
        annotator = serializers.CharField(required=False, max_length=128)
        project_id = serializers.UUIDField(required=False)
        state = serializers.ChoiceField(choices=["suspended", "flagged", "qualified"], required=False)

    @extend_schema(operation_id="standing_list", parameters=[FilterSerializer],
                   responses={200: page("StandingPage", StandingOutput), **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        data["annotator"], _ = _own_view(request, data.get("annotator"))
        return Response({"results": StandingOutput(selectors.standing_list(**data), many=True).data})


class StandingChangeListApi(APIView):
    """The history of state changes with the rule and the numbers (annotators: only their own)."""

    class FilterSerializer(serializers.Serializer):
        annotator = serializers.CharField(required=False, max_length=128)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StandingChange"

        annotator = serializers.CharField()
        project_id = serializers.UUIDField(allow_null=True)
        change = serializers.CharField()
        rule = serializers.CharField()
        rule_id = serializers.UUIDField(allow_null=True)
        reason = serializers.CharField()
        value = serializers.FloatField(allow_null=True)
        threshold = serializers.FloatField(allow_null=True)
        count = serializers.IntegerField()
        actor = serializers.CharField()
        at = serializers.DateTimeField()

    @extend_schema(operation_id="standing_change_list", parameters=[FilterSerializer],
                   responses={200: page("StandingChangePage", OutputSerializer), **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        annotator, _ = _own_view(request, filters.validated_data.get("annotator"))
        rows = selectors.standing_change_list(annotator=annotator)[:500]
        return Response({"results": self.OutputSerializer(rows, many=True).data})


class AnnotatorDailyListApi(APIView):
    """Every annotator's answers and mean gold score per day over the last `days` days (annotators: own)."""

    class FilterSerializer(serializers.Serializer):
        days = serializers.IntegerField(required=False, min_value=1, max_value=90, default=14)
        project_id = serializers.UUIDField(required=False)

    class DayOutput(serializers.Serializer):
        date = serializers.DateField()
        submissions = serializers.IntegerField()
        gold_mean_score = serializers.FloatField(allow_null=True)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnnotatorDaily"

        annotator = serializers.CharField()
        daily = serializers.ListField(child=serializers.DictField())

    @extend_schema(operation_id="annotator_daily_list", parameters=[FilterSerializer],
                   responses={200: page("AnnotatorDailyPage", OutputSerializer), **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        annotator, hidden_from = _own_view(request, None)
        rows = selectors.annotators_daily(now=datetime.now(timezone.utc), days=filters.validated_data["days"],
                                          project_id=filters.validated_data.get("project_id"), annotator=annotator,
                                          hidden_from=hidden_from)
        return Response({"results": self.OutputSerializer(rows, many=True).data})


class AnnotatorSuspendApi(APIView):
    """POST: suspend the annotator by hand in a project (or tenant-wide with project_id null), with a reason."""

    permission_classes = [HasRole.of("admin")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnnotatorSuspend"

        project_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        reason = serializers.CharField(max_length=500)

    @extend_schema(operation_id="annotator_suspend", request=InputSerializer, responses={
        200: StandingOutput, **errors(_400="validation_error", _403="forbidden: admins only",
                                      _409="conflict: already suspended there")})
    def post(self, request, annotator):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        standing = services.annotator_suspend(annotator=annotator, actor=principal_of(request).subject,
                                              **body.validated_data)
        return Response(StandingOutput(standing).data)


class AnnotatorReinstateApi(APIView):
    """POST: lift the annotator's suspension or flag in a project (or tenant-wide with project_id null)."""

    permission_classes = [HasRole.of("admin")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnnotatorReinstate"

        project_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        reason = serializers.CharField(max_length=500)

    @extend_schema(operation_id="annotator_reinstate", request=InputSerializer, responses={
        200: StandingOutput, **errors(_400="validation_error", _403="forbidden: admins only",
                                      _409="conflict: neither suspended nor flagged there")})
    def post(self, request, annotator):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        standing = services.annotator_reinstate(annotator=annotator, actor=principal_of(request).subject,
                                                **body.validated_data)
        return Response(StandingOutput(standing).data)


class AnnotatorQualifyApi(APIView):
    """POST: qualify the annotator by hand in a project (or tenant-wide with project_id null), with a reason."""

    permission_classes = [HasRole.of("qa_lead", "admin")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnnotatorQualify"

        project_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        reason = serializers.CharField(max_length=500)

    @extend_schema(operation_id="annotator_qualify", request=InputSerializer, responses={
        200: StandingOutput, **errors(_400="validation_error", _403="forbidden: leads and admins only",
                                      _409="conflict: already qualified there")})
    def post(self, request, annotator):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        standing = services.annotator_qualify(annotator=annotator, actor=principal_of(request).subject,
                                              **body.validated_data)
        return Response(StandingOutput(standing).data)


class AnnotatorAlphaOutput(serializers.Serializer):
    annotator = serializers.CharField()
    alpha = serializers.FloatField(allow_null=True, help_text="1 − (the annotator's own observed disagreement) "
                                                              "/ (the project's expected disagreement)")
    values = serializers.IntegerField(help_text="the annotator's pairable values (objects, or nothing drawn)")


class ObjectAgreementApi(APIView):
    """Agreement of a box or polygon project: Krippendorff's alpha with the 1 − IoU distance, overall and per
    annotator (ADR 0096)."""

    permission_classes = [HasRole.of(*PRIVILEGED)]

    class FilterSerializer(serializers.Serializer):
        project_id = serializers.UUIDField()

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ObjectAgreement"

        project_id = serializers.UUIDField()
        answer_type = serializers.ChoiceField(choices=["bbox", "polygon"], allow_null=True,
                                              help_text="the shape of the answers counted; null when there are none")
        distance = serializers.CharField(help_text="always `1 - IoU` (1 for two labels or an object against nothing)")
        alpha = serializers.FloatField(allow_null=True, help_text="null when no disagreement can be expected")
        answers = serializers.IntegerField(help_text="answers counted: each annotator's latest per task")
        units = serializers.IntegerField(help_text="clusters of matched objects with at least two values")
        values = serializers.IntegerField(help_text="pairable values")
        annotators = AnnotatorAlphaOutput(many=True)

    @extend_schema(operation_id="object_agreement_retrieve", parameters=[FilterSerializer],
                   responses={200: OutputSerializer, **errors(_400="validation_error",
                                                              _403="forbidden: admin, qa_lead, reviewer, service")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(self.OutputSerializer(selectors.object_agreement(**filters.validated_data)).data)
