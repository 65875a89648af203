"""Thin DRF views of review sampling: validate, call one service or selector, serialize."""
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of

from assay_review.core import selectors, services
from assay_review.core.models import ReviewItem
from assay_review.numerics.aql import AQLS

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
    updated_by = serializers.CharField()
    updated_at = serializers.DateTimeField()


class SamplingPolicyListApi(APIView):
    permission_classes = [LEADS]

    def get(self, request):
        return Response({"results": PolicyOutput(selectors.sampling_policy_list(), many=True).data})


class SamplingPolicyApi(APIView):
    """GET / PUT (create or replace) / DELETE the sampling policy of one project."""

    permission_classes = [LEADS]

    class InputSerializer(serializers.Serializer):
        base_rate = Rate()
        class_rates = RateMapField(required=False, default=dict)
        annotator_rates = RateMapField(required=False, default=dict)
        new_annotator_submissions = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
        new_annotator_rate = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.0)
        low_gold_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.0)
        low_gold_min_count = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
        low_gold_rate = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.0)

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

    def get(self, request, project_id):
        return Response(PolicyOutput(selectors.sampling_policy_get(project_id=project_id)).data)

    def put(self, request, project_id):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy, created = services.sampling_policy_set(
            project_id=project_id, actor=principal_of(request).subject, **body.validated_data)
        return Response(PolicyOutput(policy).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def delete(self, request, project_id):
        services.sampling_policy_delete(project_id=project_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SamplingDecisionListApi(APIView):
    permission_classes = [LEADS]

    class FilterSerializer(serializers.Serializer):
        project_id = serializers.UUIDField(required=False)
        annotator = serializers.CharField(required=False, max_length=128)
        sampled = serializers.BooleanField(required=False, allow_null=True, default=None)
        batch_id = serializers.CharField(required=False, max_length=128)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)
        offset = serializers.IntegerField(required=False, min_value=0, default=0)

    class OutputSerializer(serializers.Serializer):
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

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        limit, offset = data.pop("limit"), data.pop("offset")
        rows = selectors.sampling_decision_list(**data)
        return Response({"count": rows.count(),
                         "results": self.OutputSerializer(rows[offset:offset + limit], many=True).data})


class SamplingRatesApi(APIView):
    """Effective sampling rates of a project: overall, per annotator, per class, per rule."""

    permission_classes = [LEADS]

    class FilterSerializer(serializers.Serializer):
        project_id = serializers.UUIDField()

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
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


class ReviewItemListApi(APIView):
    permission_classes = [REVIEWERS]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[ReviewItem.PENDING, ReviewItem.CLAIMED, ReviewItem.DECIDED],
                                         required=False)
        project_id = serializers.UUIDField(required=False)
        batch_id = serializers.CharField(required=False, max_length=128)

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = selectors.review_item_list(**filters.validated_data)[:500]
        return Response({"results": ReviewItemOutput(rows, many=True).data})


class ReviewItemClaimApi(APIView):
    """POST: the caller's next review item (200 with the item and the answer to check), or 204 if none."""

    permission_classes = [REVIEWERS]

    class InputSerializer(serializers.Serializer):
        project_id = serializers.UUIDField(required=False)

    def post(self, request):
        body = self.InputSerializer(data=request.data)
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

    class InputSerializer(serializers.Serializer):
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

    def post(self, request, review_id):
        body = self.InputSerializer(data=request.data)
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


def _inspection_data(inspection) -> dict:
    data = InspectionOutput(inspection).data
    data["sample"] = selectors.inspection_sample_ids(inspection=inspection)
    return data


class BatchInspectionCreateApi(APIView):
    """POST: ask for a batch verdict at an AQL; GET: the batch's inspections."""

    permission_classes = [LEADS]

    class InputSerializer(serializers.Serializer):
        project_id = serializers.UUIDField()
        aql = serializers.FloatField()
        inspection_level = serializers.ChoiceField(choices=["I", "II", "III"], required=False, default="II")

        def validate_aql(self, value):
            if not any(abs(value - a) < 1e-9 for a in AQLS):
                raise serializers.ValidationError(f"must be one of {', '.join(f'{a:g}' for a in AQLS)}")
            return value

    def post(self, request, batch_id):
        if len(batch_id) > 128:
            return Response({"error": {"code": "validation_error", "message": "batch_id: at most 128 characters",
                                       "fields": {"batch_id": ["at most 128 characters"]}}}, status=400)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        inspection = services.inspection_request(batch_id=batch_id, actor=principal_of(request).subject,
                                                 **body.validated_data)
        return Response(_inspection_data(inspection), status=status.HTTP_201_CREATED)

    def get(self, request, batch_id):
        rows = selectors.inspection_list(batch_id=batch_id)
        return Response({"results": [_inspection_data(i) for i in rows]})


class InspectionDetailApi(APIView):
    permission_classes = [REVIEWERS]

    def get(self, request, inspection_id):
        return Response(_inspection_data(selectors.inspection_get(inspection_id=inspection_id)))
