"""Suppliers under ISO 2859-1 switching rules: state, history, reduced-inspection approval, resumption (ADR 0095)."""
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of
from assay_shared.errors import NotFoundError

from assay_review.core.apis_workflow import refusals
from assay_review.core.models import Supplier, SupplierSwitch
from assay_review.core.services.suppliers import (
    supplier_approval_set,
    supplier_name_check,
    supplier_resume,
)

LEADS = HasRole.of("qa_lead", "admin")
STATES = ["normal", "tightened", "reduced", "discontinued"]


class SwitchOutput(serializers.Serializer):
    from_state = serializers.CharField(help_text="normal, tightened, reduced or discontinued")
    to_state = serializers.CharField(help_text="normal, tightened, reduced or discontinued")
    reason = serializers.CharField()
    inspection_id = serializers.UUIDField(allow_null=True, help_text="the lot whose verdict switched")
    batch_id = serializers.CharField(allow_null=True)
    actor = serializers.CharField(allow_null=True, help_text="who requested that lot's inspection, or acted")
    created_at = serializers.DateTimeField()


class SupplierOutput(serializers.Serializer):
    supplier = serializers.CharField(source="name")
    state = serializers.ChoiceField(choices=STATES)
    lots = serializers.IntegerField(help_text="lots with a verdict")
    recent = serializers.ListField(child=serializers.BooleanField(),
                                   help_text="acceptance of the last (≤ 5) lots on normal inspection")
    consecutive_accepted = serializers.IntegerField()
    switching_score = serializers.IntegerField()
    tightened_rejections = serializers.IntegerField()
    reduced_approved = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class SupplierDetailOutput(SupplierOutput):
    history = SwitchOutput(many=True, help_text="every switch, oldest first")


def _supplier_get(name: str) -> Supplier:
    supplier_name_check(name)
    row = Supplier.objects.filter(name=name).first()
    if row is None:
        raise NotFoundError(f"no lot of supplier {name} was inspected yet")
    return row


def _detail(row: Supplier) -> dict:
    data = SupplierOutput(row).data
    data["history"] = SwitchOutput(SupplierSwitch.objects.filter(supplier=row).order_by("created_at", "id"), many=True).data
    return data


class SupplierListApi(APIView):
    permission_classes = [LEADS]

    @extend_schema(operation_id="suppliers_list", responses={
        200: inline_serializer("SupplierList", fields={"results": SupplierOutput(many=True)}), **refusals()})
    def get(self, request):
        return Response({"results": SupplierOutput(Supplier.objects.order_by("name"), many=True).data})


class SupplierDetailApi(APIView):
    permission_classes = [LEADS]

    @extend_schema(operation_id="supplier_get", responses={
        200: SupplierDetailOutput, **refusals(_400="validation_error (supplier)", _404="no lot of it inspected")})
    def get(self, request, supplier):
        return Response(_detail(_supplier_get(supplier)))


class SupplierApprovalApi(APIView):
    """The QA lead approves reduced inspection (production steady) or withdraws it."""

    permission_classes = [LEADS]

    class ApprovalInput(serializers.Serializer):
        reduced_approved = serializers.BooleanField()

    @extend_schema(operation_id="supplier_approval_set", request=ApprovalInput, responses={
        200: SupplierDetailOutput, **refusals(_400="validation_error", _404="no lot of it inspected")})
    def put(self, request, supplier):
        supplier_name_check(supplier)
        body = self.ApprovalInput(data=request.data)
        body.is_valid(raise_exception=True)
        row = supplier_approval_set(name=supplier, approved=body.validated_data["reduced_approved"],
                                    actor=principal_of(request).subject)
        return Response(_detail(row))


class SupplierResumeApi(APIView):
    """After discontinuation: the cause is corrected, inspection resumes on tightened."""

    permission_classes = [LEADS]

    @extend_schema(operation_id="supplier_resume", request=None, responses={
        200: SupplierDetailOutput, **refusals(_400="validation_error (supplier)", _404="no lot of it inspected",
                                              _409="supplier_not_discontinued")})
    def post(self, request, supplier):
        return Response(_detail(supplier_resume(name=supplier, actor=principal_of(request).subject)))
