"""Endpoint administration: register, list, change, delete, rotate the secret, ping."""
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import principal_of

from assay_webhooks.core.apis.common import ADMIN_ONLY, StrictSerializer, errors
from assay_webhooks.core.apis.deliveries import DeliveryOutputSerializer
from assay_webhooks.core.selectors import endpoint_get, endpoint_list
from assay_webhooks.core.services import (
    delivery_ping,
    endpoint_create,
    endpoint_delete,
    endpoint_secret_rotate,
    endpoint_update,
)


class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    failing_since = serializers.DateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField()
    previous_secret_expires_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(help_text="Shown only in this response; store it to verify signatures.")


def _event_types_field(**kwargs):
    return serializers.ListField(child=serializers.CharField(max_length=100), min_length=1, max_length=100, **kwargs)


class EndpointListApi(APIView):
    permission_classes = ADMIN_ONLY

    @extend_schema_serializer(component_name="EndpointCreate")
    class InputSerializer(StrictSerializer):
        url = serializers.CharField(max_length=2000)
        event_types = _event_types_field()
        description = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")
        active = serializers.BooleanField(required=False, default=True)

    @extend_schema(operation_id="v1_endpoints_list",
                   responses={200: inline_serializer("EndpointList", {"results": EndpointOutputSerializer(many=True)}),
                              **errors()})
    def get(self, request):
        return Response({"results": EndpointOutputSerializer(endpoint_list(), many=True).data})

    @extend_schema(request=InputSerializer, responses={201: EndpointWithSecretSerializer, **errors(
        _400="validation_error (each field named)", _409="limit_reached")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = endpoint_create(**data.validated_data, created_by=principal_of(request).subject)
        body = {**EndpointOutputSerializer(endpoint).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class EndpointDetailApi(APIView):
    permission_classes = ADMIN_ONLY

    @extend_schema_serializer(component_name="EndpointUpdate")
    class InputSerializer(StrictSerializer):
        url = serializers.CharField(max_length=2000, required=False)
        event_types = _event_types_field(required=False)
        description = serializers.CharField(max_length=500, allow_blank=True, required=False)
        active = serializers.BooleanField(required=False)

    @extend_schema(responses={200: EndpointOutputSerializer, **errors(_404="not_found")})
    def get(self, request, endpoint_id):
        return Response(EndpointOutputSerializer(endpoint_get(endpoint_id=endpoint_id)).data)

    @extend_schema(request=InputSerializer, responses={200: EndpointOutputSerializer, **errors(
        _400="validation_error (each field named)", _404="not_found")})
    def patch(self, request, endpoint_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_update(endpoint_id=endpoint_id, **data.validated_data)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(responses={204: None, **errors(_404="not_found")})
    def delete(self, request, endpoint_id):
        endpoint_delete(endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecretApi(APIView):
    """Issue a new signing secret; the old one keeps signing (a second signature) until the overlap ends."""

    permission_classes = ADMIN_ONLY

    @extend_schema_serializer(component_name="SecretRotate")
    class InputSerializer(StrictSerializer):
        overlap_seconds = serializers.IntegerField(min_value=0, max_value=7 * 86_400, required=False)

    @extend_schema_serializer(component_name="SecretRotated")
    class OutputSerializer(serializers.Serializer):
        secret = serializers.CharField()
        previous_secret_expires_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **errors(
        _400="validation_error", _404="not_found")})
    def post(self, request, endpoint_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = endpoint_secret_rotate(endpoint_id=endpoint_id, **data.validated_data)
        return Response(self.OutputSerializer(
            {"secret": secret, "previous_secret_expires_at": endpoint.previous_secret_expires_at}).data)


class EndpointPingApi(APIView):
    """Queue a `webhook.ping` event for this endpoint."""

    permission_classes = ADMIN_ONLY

    @extend_schema(request=None, responses={202: DeliveryOutputSerializer, **errors(
        _404="not_found", _409="endpoint_disabled")})
    def post(self, request, endpoint_id):
        delivery = delivery_ping(endpoint_id=endpoint_id)
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
