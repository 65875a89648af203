"""Thin DRF views of review sampling: validate, call one service or selector, serialize."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of

from assay_review.core import selectors, services
from assay_review.core.apis_workflow import refusals
from assay_review.core.models import ReviewItem

LEADS = HasRole.of("qa_lead", "admin")
REVIEWERS = HasRole.of("reviewer", "expert", "qa_lead", "admin")

Rate = lambda: serializers.FloatField(min_value=0.0, max_value=1.0)  # noqa: E731


class RateMapField(serializers.DictField):
    """{name: rate} with names of 1..128 characters and at most 1000 entries."""

    child = serializers.FloatField(min_value=0.0, max_value=1.0)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        errors = {k: ["keys must be 1 to 128 characters"] for k in value if not 1 <= len(k) <= 128}
        if errors:
            raise serializers.ValidationError(errors)
        if len(value) > 1000:
            raise serializers.ValidationError("at most 1000 entries")
        return value


class PolicyOutput(serializers.Serializer):
    project_id = serializers.UUIDField()
    base_rate = serializers.FloatField()
    class_rates = serializers.DictField(child=serializers.FloatField())
    annotator_rates = serializers.DictField(child=serializers.FloatField())
    new_annotator_submissions = serializers.IntegerField()
    new_annotator_rate = serializers.FloatField()
    low_gold_threshold = serializers.FloatField()
    low_gold_min_count = serializers.IntegerField()
    low_gold_rate = serializers.FloatField()
    flagged_rate = serializers.FloatField(help_text="rate for an annotator metrics flagged, until reinstated")
    acceptance_plan_type = serializers.CharField(help_text="single or double: the project's batch inspections' plan")
    model_disagrees_threshold = serializers.FloatField(allow_null=True, help_text="model-disagrees rule: a score under it")
    model_disagrees_worst_share = serializers.FloatField(allow_null=True, help_text="model-disagrees rule: the worst share")
    updated_by = serializers.CharField()
    updated_at = serializers.DateTimeField()


class SamplingPolicyListApi(APIView):
    permission_classes = [LEADS]

    @extend_schema(operation_id="sampling_policies_list", responses={200: inline_serializer(
        "SamplingPolicyList", fields={"results": PolicyOutput(many=True)}), **refusals()})
    def get(self, request):
        return Response({"results": PolicyOutput(selectors.sampling_policy_list(), many=True).data})


class SamplingPolicyApi(APIView):
    """GET / PUT (create or replace) / DELETE the sampling policy of one project."""

    permission_classes = [LEADS]

    class SamplingPolicyInput(serializers.Serializer):
        base_rate = Rate()
        class_rates = RateMapField(required=False, default=dict)
        annotator_rates = RateMapField(required=False, default=dict)
        new_annotator_submissions = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
        new_annotator_rate = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.0)
        low_gold_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.0)
        low_gold_min_count = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
        low_gold_rate = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.0)
        flagged_rate = serializers.FloatField(
            min_value=0.0, max_value=1.0, required=False, default=0.0,
            help_text="rate for the work of an annotator metrics flagged (annotator.flagged), until reinstated; 0: off")
        acceptance_plan_type = serializers.CharField(
            required=False, default="single",
            help_text="single or double: the plan of this project's batch inspections that do not ask for one (ADR 0095)")

        model_disagrees_threshold = serializers.FloatField(
            min_value=0.0, max_value=1.0, required=False, default=None, allow_null=True,
            help_text="when label issues are computed without a rule: raise the labels scoring under this into review")
        model_disagrees_worst_share = serializers.FloatField(
            min_value=0.0, max_value=1.0, required=False, default=None, allow_null=True,
            help_text="when label issues are computed without a rule: raise this share of the labels, the worst first")

        def validate_acceptance_plan_type(self, value):
            if value not in ("single", "double"):
                raise serializers.ValidationError("must be single or double")
            return value

        def validate(self, attrs):
            errors = {}
            if attrs["new_annotator_submissions"] and "new_annotator_rate" not in self.initial_data:
                errors["new_annotator_rate"] = ["required when new_annotator_submissions is set"]
            if attrs["low_gold_min_count"] and "low_gold_threshold" not in self.initial_data:
                errors["low_gold_threshold"] = ["required when low_gold_min_count is set"]
            if attrs["low_gold_min_count"] and "low_gold_rate" not in self.initial_data:
                errors["low_gold_rate"] = ["required when low_gold_min_count is set"]
            if errors:
                raise serializers.ValidationError(errors)
            return attrs

    @extend_schema(operation_id="sampling_policy_get", responses={200: PolicyOutput, **refusals(_404="no policy")})
    def get(self, request, project_id):
        return Response(PolicyOutput(selectors.sampling_policy_get(project_id=project_id)).data)

    @extend_schema(operation_id="sampling_policy_set", request=SamplingPolicyInput, responses={
        200: PolicyOutput, 201: PolicyOutput, **refusals(_400="validation_error (fields by path, e.g. class_rates.cat)")})
    def put(self, request, project_id):
        body = self.SamplingPolicyInput(data=request.data)
        body.is_valid(raise_exception=True)
        policy, created = services.sampling_policy_set(
            project_id=project_id, actor=principal_of(request).subject, **body.validated_data)
        return Response(PolicyOutput(policy).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(operation_id="sampling_policy_delete", responses={204: None, **refusals(_404="no policy")})
    def delete(self, request, project_id):
        services.sampling_policy_delete(project_id=project_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SamplingDecisionListApi(APIView):
    permission_classes = [LEADS]

    class SamplingDecisionListFilter(serializers.Serializer):
        project_id = serializers.UUIDField(required=False)
        annotator = serializers.CharField(required=False, max_length=128)
        sampled = serializers.BooleanField(required=False, allow_null=True, default=None)
        batch_id = serializers.CharField(required=False, max_length=128)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)
        offset = serializers.IntegerField(required=False, min_value=0, default=0)

    class SamplingDecisionListOutput(serializers.Serializer):
        submission_id = serializers.UUIDField()
        task_id = serializers.UUIDField()
        project_id = serializers.UUIDField()
        batch_id = serializers.CharField(allow_null=True)
        annotator = serializers.CharField()
        labels = serializers.ListField(child=serializers.CharField())
        sampled = serializers.BooleanField()
        rule = serializers.CharField()
        rate = serializers.FloatField()
        draw = serializers.FloatField()
        detail = serializers.CharField()
        decided_at = serializers.DateTimeField()

    @extend_schema(operation_id="sampling_decisions_list", parameters=[SamplingDecisionListFilter], responses={
        200: inline_serializer("SamplingDecisionPage", fields={"count": serializers.IntegerField(),
                                                               "results": SamplingDecisionListOutput(many=True)}),
        **refusals(_400="validation_error")})
    def get(self, request):
        filters = self.SamplingDecisionListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        limit, offset = data.pop("limit"), data.pop("offset")
        rows = selectors.sampling_decision_list(**data)
        return Response({"count": rows.count(),
                         "results": self.SamplingDecisionListOutput(rows[offset:offset + limit], many=True).data})


class SamplingRatesApi(APIView):
    """Effective sampling rates of a project: overall, per annotator, per class, per rule."""

    permission_classes = [LEADS]

    class SamplingRatesFilter(serializers.Serializer):
        project_id = serializers.UUIDField()

    @extend_schema(operation_id="sampling_rates", parameters=[SamplingRatesFilter], responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="project_id, decisions, sampled, effective_rate; "
                             "per_annotator, per_rule, per_class lists of the same counts"),
        **refusals(_400="validation_error")})
    def get(self, request):
        filters = self.SamplingRatesFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rates = selectors.sampling_rates(**filters.validated_data)
        rates["project_id"] = str(rates["project_id"])
        return Response(rates)


class ReviewItemOutput(serializers.Serializer):
    review_id = serializers.UUIDField(source="id")
    submission_id = serializers.UUIDField()
    task_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    batch_id = serializers.CharField(allow_null=True)
    annotator = serializers.CharField()
    reason = serializers.CharField()
    stage = serializers.IntegerField()
    stage_name = serializers.CharField()
    skills = serializers.ListField(child=serializers.CharField(), help_text="the stage's skills a reviewer must hold")
    previous_id = serializers.UUIDField(allow_null=True, help_text="the item at the stage before, if forwarded")
    forwarded = serializers.BooleanField(help_text="decided and sent on to a later stage (not final)")
    status = serializers.CharField()
    claimed_by = serializers.CharField(allow_null=True)
    reviewer = serializers.CharField(allow_null=True)
    verdict = serializers.CharField(allow_null=True)
    corrected_answer = serializers.JSONField(allow_null=True)
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ClaimedItemOutput(ReviewItemOutput):
    answer = serializers.JSONField(allow_null=True, help_text="the answer to check")


class ReviewItemListApi(APIView):
    permission_classes = [REVIEWERS]

    class ReviewItemListFilter(serializers.Serializer):
        status = serializers.ChoiceField(choices=[ReviewItem.PENDING, ReviewItem.CLAIMED, ReviewItem.DECIDED],
                                         required=False)
        project_id = serializers.UUIDField(required=False)
        batch_id = serializers.CharField(required=False, max_length=128)

    @extend_schema(operation_id="review_items_list", parameters=[ReviewItemListFilter], responses={
        200: inline_serializer("ReviewItemList", fields={"results": ReviewItemOutput(many=True)}),
        **refusals(_400="validation_error")})
    def get(self, request):
        filters = self.ReviewItemListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = selectors.review_item_list(**filters.validated_data)[:500]
        return Response({"results": ReviewItemOutput(rows, many=True).data})


class ReviewItemClaimApi(APIView):
    """POST: the caller's next review item (200 with the item and the answer to check), or 204 if none."""

    permission_classes = [REVIEWERS]

    class ReviewItemClaimInput(serializers.Serializer):
        project_id = serializers.UUIDField(required=False)

    @extend_schema(operation_id="review_item_claim", request=ReviewItemClaimInput, responses={
        200: ClaimedItemOutput, 204: OpenApiResponse(description="nothing you may review is waiting"),
        **refusals(_400="validation_error")})
    def post(self, request):
        body = self.ReviewItemClaimInput(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        item = services.review_item_claim(reviewer=principal.subject, roles=principal.roles, **body.validated_data)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = ReviewItemOutput(item).data
        data["answer"] = selectors.review_item_answer(item=item)
        return Response(data)


class ReviewItemDecideApi(APIView):
    permission_classes = [REVIEWERS]

    class ReviewItemDecideInput(serializers.Serializer):
        verdict = serializers.ChoiceField(choices=["accepted", "rejected", "corrected", "escalated"],
                                          help_text="escalated sends the item to a later stage, where the stage allows it")
        corrected_answer = serializers.JSONField(required=False)
        comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

        def validate(self, attrs):
            if attrs["verdict"] == "corrected" and "corrected_answer" not in attrs:
                raise serializers.ValidationError({"corrected_answer": ["required when the verdict is corrected"]})
            if attrs["verdict"] != "corrected" and "corrected_answer" in attrs:
                raise serializers.ValidationError({"corrected_answer": ["only allowed when the verdict is corrected"]})
            return attrs

    @extend_schema(operation_id="review_item_decide", request=ReviewItemDecideInput, responses={
        200: ReviewItemOutput, **refusals(
            _400="validation_error: verdict not allowed at the item's stage, corrected_answer missing or not allowed",
            _403="forbidden: your own submission, or your roles do not allow this", _404="unknown item",
            _409="conflict: not claimed by you, or already decided")})
    def post(self, request, review_id):
        body = self.ReviewItemDecideInput(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.review_item_decide(review_id=review_id, reviewer=principal_of(request).subject,
                                           **body.validated_data)
        return Response(ReviewItemOutput(item).data)


class InspectionOutput(serializers.Serializer):
    inspection_id = serializers.UUIDField(source="id")
    project_id = serializers.UUIDField()
    batch_id = serializers.CharField()
    aql = serializers.FloatField()
    inspection_level = serializers.CharField()
    lot_size = serializers.IntegerField()
    code_letter = serializers.CharField()
    sample_size = serializers.IntegerField()
    acceptance_number = serializers.IntegerField()
    rejection_number = serializers.IntegerField()
    status = serializers.CharField()
    reviewed = serializers.IntegerField()
    defects = serializers.IntegerField()
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    supplier = serializers.CharField(allow_null=True, help_text="the team or vendor whose lot this is (ADR 0095)")
    inspection_state = serializers.ChoiceField(choices=["normal", "tightened", "reduced"])
    plan_type = serializers.ChoiceField(choices=["single", "double"])
    second_sample_size = serializers.IntegerField(allow_null=True, help_text="double plan: n2")
    second_acceptance_number = serializers.IntegerField(allow_null=True, help_text="double plan: Ac2 (cumulative)")
    second_rejection_number = serializers.IntegerField(allow_null=True, help_text="double plan: Re2 (cumulative)")
    second_opened = serializers.BooleanField(help_text="double plan: the first sample left the lot undecided")


class IntervalOutput(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()
    level = serializers.FloatField()
    method = serializers.CharField()


class OcPointOutput(serializers.Serializer):
    p = serializers.FloatField(help_text="share of nonconforming items")
    acceptance_probability = serializers.FloatField()


class InspectionDetailOutput(InspectionOutput):
    sample = serializers.ListField(child=serializers.UUIDField(), help_text="the sampled submissions")
    defect_rate = serializers.FloatField(allow_null=True, help_text="defects / reviewed in the sample")
    defect_rate_interval = IntervalOutput(help_text="exact 95% interval of the lot's defect rate")
    oc_curve = OcPointOutput(many=True, help_text="the plan's operating characteristic (exact binomial)")


def _inspection_data(inspection) -> dict:
    from assay_review.core.services.acceptance import inspection_interval, inspection_oc

    data = InspectionOutput(inspection).data
    data["sample"] = selectors.inspection_sample_ids(inspection=inspection)
    data.update(inspection_interval(inspection))
    data["oc_curve"] = inspection_oc(inspection)
    return data


class InspectionDetailApi(APIView):
    permission_classes = [REVIEWERS]

    @extend_schema(operation_id="inspection_get", responses={200: InspectionDetailOutput, **refusals(_404="unknown")})
    def get(self, request, inspection_id):
        return Response(_inspection_data(selectors.inspection_get(inspection_id=inspection_id)))
