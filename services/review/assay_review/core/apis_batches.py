"""Asking for a batch verdict, and what is known of the batch's inspections (ADR 0033, 0095, 0097)."""
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import principal_of

from assay_review.core import selectors, services
from assay_review.core.apis import LEADS, InspectionDetailOutput, _inspection_data
from assay_review.core.apis_workflow import refusals
from assay_review.core.models import InspectionRequest
from assay_review.numerics.aql import AQLS


class InspectionRequestOutput(serializers.Serializer):
    request_id = serializers.UUIDField(source="id")
    project_id = serializers.UUIDField()
    batch_id = serializers.CharField()
    aql = serializers.FloatField()
    inspection_level = serializers.CharField()
    supplier = serializers.CharField(allow_null=True)
    plan_type = serializers.CharField(allow_null=True, help_text="null: the project's setting when it opens")
    requested_by = serializers.CharField()
    status = serializers.ChoiceField(choices=["waiting", "opened", "cancelled"],
                                     help_text="waiting for the batch to close; opened as `inspection_id`; or cancelled")
    inspection_id = serializers.UUIDField(allow_null=True)
    reason = serializers.CharField(help_text="why a cancelled request could not open (e.g. the lot is too small)")
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)


class BatchInspectionCreateApi(APIView):
    """POST: ask for a batch verdict at an AQL; GET: the batch's inspections and the requests waiting for it."""

    permission_classes = [LEADS]

    class BatchInspectionCreateInput(serializers.Serializer):
        project_id = serializers.UUIDField()
        aql = serializers.FloatField()
        inspection_level = serializers.ChoiceField(choices=["I", "II", "III"], required=False, default="II")
        supplier = serializers.RegexField(
            r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", required=False, default=None, allow_null=True,
            help_text="the team or vendor whose lot this is: its ISO 2859-1 state chooses the plan (ADR 0095)",
            error_messages={"invalid": "1–64 letters, digits, '_', '.', '-', starting with a letter or digit"})
        plan_type = serializers.ChoiceField(choices=["single", "double"], required=False,
                                            help_text="default: the project's sampling policy's acceptance_plan_type")
        wait_for_close = serializers.BooleanField(
            required=False, default=False,
            help_text="if the batch is still open: wait (202) and open the inspection when it closes, instead of 409")

        def validate_aql(self, value):
            if not any(abs(value - a) < 1e-9 for a in AQLS):
                raise serializers.ValidationError(f"must be one of {', '.join(f'{a:g}' for a in AQLS)}")
            return value

    @extend_schema(operation_id="batch_inspection_request", request=BatchInspectionCreateInput, responses={
        201: InspectionDetailOutput, 202: InspectionRequestOutput,
        **refusals(_400="validation_error, lot_too_small",
                   _409="batch_open (the batch is still open: its lot is not complete), inspection already open or "
                        "waiting, supplier_discontinued")})
    def post(self, request, batch_id):
        if len(batch_id) > 128:
            return Response({"error": {"code": "validation_error", "message": "batch_id: at most 128 characters",
                                       "fields": {"batch_id": ["at most 128 characters"]}}}, status=400)
        body = self.BatchInspectionCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        asked = services.inspection_ask(batch_id=batch_id, actor=principal_of(request).subject, **body.validated_data)
        if isinstance(asked, InspectionRequest):
            return Response(InspectionRequestOutput(asked).data, status=status.HTTP_202_ACCEPTED)
        return Response(_inspection_data(asked), status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="batch_inspections_list", responses={
        200: inline_serializer("InspectionList", fields={
            "results": InspectionDetailOutput(many=True),
            "requests": InspectionRequestOutput(many=True, help_text="asked while the batch was open, newest first"),
            "batch_states": inline_serializer("BatchStates", fields={
                "project_id": serializers.UUIDField(), "state": serializers.CharField(help_text="open or closed"),
                "task_count": serializers.IntegerField(allow_null=True)}, many=True,
                help_text="what assignment announced of the batch, per project (none: taken as closed)")}),
        **refusals()})
    def get(self, request, batch_id):
        rows = selectors.inspection_list(batch_id=batch_id)
        return Response({"results": [_inspection_data(i) for i in rows],
                         "requests": InspectionRequestOutput(selectors.inspection_requests(batch_id=batch_id),
                                                             many=True).data,
                         "batch_states": [{"project_id": str(b.project_id), "state": b.state, "task_count": b.task_count}
                                          for b in selectors.batch_states(batch_id=batch_id)]})
