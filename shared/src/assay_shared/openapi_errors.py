"""The one error shape `{"error": {"code", "message", "fields"}}` as an OpenAPI component (`ErrorOutput`)."""
from rest_framework import serializers


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorOutput(serializers.Serializer):
    """The one error shape of every Assay API."""

    error = ErrorDetail()


_ERROR_SCHEMAS = {
    "ErrorDetail": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
        "required": ["code", "fields", "message"]},
    "ErrorOutput": {"type": "object", "description": "The one error shape of every Assay API.",
                    "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}}, "required": ["error"]},
}


def unrouted_not_found(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation with a path parameter documents the 404 a path gets
    when no route matches it (an id of the wrong form, `/projects/not-a-uuid`), in the error shape (the middleware
    answers it so); an operation that already documents its own 404 keeps it."""
    added = False
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or "404" in operation.get("responses", {}):
                continue
            if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
                operation.setdefault("responses", {})["404"] = {
                    "description": "not_found: no resource at this path (an id of the wrong form)",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOutput"}}}}
                added = True
    if added:
        schemas = result.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in _ERROR_SCHEMAS.items():
            schemas.setdefault(name, schema)
    return result
