"""The one error shape `{"error": {"code", "message", "fields"}}` as an OpenAPI component (`ErrorOutput`)."""
from rest_framework import serializers


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorOutput(serializers.Serializer):
    """The one error shape of every Assay API."""

    error = ErrorDetail()
