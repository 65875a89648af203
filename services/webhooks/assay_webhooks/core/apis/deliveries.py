"""Delivery history with every attempt, and redelivery."""
import json

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_webhooks.core.apis.common import ADMIN_ONLY, StrictSerializer, errors
from assay_webhooks.core.models import Delivery
from assay_webhooks.core.selectors import delivery_get, delivery_list
from assay_webhooks.core.services import deliveries_redeliver_failed, delivery_redeliver


class AttemptOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    latency_ms = serializers.IntegerField()
    outcome = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    response_excerpt = serializers.CharField()
    error = serializers.CharField()


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint_id = serializers.UUIDField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    attempts = AttemptOutputSerializer(many=True, source="attempts.all")


class DeliveryDetailOutputSerializer(DeliveryOutputSerializer):
    body = serializers.SerializerMethodField(help_text="The JSON document delivered")

    def get_body(self, delivery) -> dict:
        return json.loads(delivery.body)


class DeliveryListApi(APIView):
    permission_classes = ADMIN_ONLY

    @extend_schema_serializer(component_name="DeliveryFilter")
    class FilterSerializer(StrictSerializer):
        status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)
        event_type = serializers.CharField(max_length=100, required=False)
        endpoint_id = serializers.UUIDField(required=False)
        since = serializers.DateTimeField(required=False)
        limit = serializers.IntegerField(min_value=1, max_value=500, required=False, default=100)
        offset = serializers.IntegerField(min_value=0, max_value=1_000_000_000, required=False, default=0)

    @extend_schema_serializer(component_name="DeliveryPage")
    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        results = DeliveryOutputSerializer(many=True)

    @extend_schema(operation_id="deliveries_list", parameters=[FilterSerializer],
                   responses={200: OutputSerializer, **errors(_400="validation_error (each filter named)")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        limit, offset = params.pop("limit"), params.pop("offset")
        rows = delivery_list(**params)
        return Response(self.OutputSerializer({"count": rows.count(), "results": rows[offset:offset + limit]}).data)


class DeliveryDetailApi(APIView):
    permission_classes = ADMIN_ONLY

    @extend_schema(operation_id="deliveries_retrieve",
                   responses={200: DeliveryDetailOutputSerializer, **errors(_404="not_found")})
    def get(self, request, delivery_id):
        return Response(DeliveryDetailOutputSerializer(delivery_get(delivery_id=delivery_id)).data)


class DeliveryRedeliverApi(APIView):
    """Send a finished delivery again, with the same webhook-id and a fresh retry budget."""

    permission_classes = ADMIN_ONLY

    @extend_schema(request=None, responses={202: DeliveryOutputSerializer, **errors(
        _404="not_found", _409="already_pending, endpoint_deleted, endpoint_disabled")})
    def post(self, request, delivery_id):
        delivery_redeliver(delivery_id=delivery_id)
        return Response(DeliveryOutputSerializer(delivery_get(delivery_id=delivery_id)).data,
                        status=status.HTTP_202_ACCEPTED)


class DeliveriesRedeliverFailedApi(APIView):
    """Redeliver every failed delivery created since a time (optionally of one endpoint)."""

    permission_classes = ADMIN_ONLY

    @extend_schema_serializer(component_name="RedeliverFailed")
    class InputSerializer(StrictSerializer):
        since = serializers.DateTimeField()
        endpoint_id = serializers.UUIDField(required=False)

    @extend_schema_serializer(component_name="RedeliverFailedResult")
    class OutputSerializer(serializers.Serializer):
        redelivered = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer, **errors(
        _400="validation_error", _404="not_found (endpoint_id)")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = deliveries_redeliver_failed(**data.validated_data)
        return Response(self.OutputSerializer({"redelivered": count}).data, status=status.HTTP_202_ACCEPTED)
