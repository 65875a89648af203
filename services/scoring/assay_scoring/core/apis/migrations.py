"""Schema migrations of a project: apply a label mapping between two schema versions, list those applied."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import principal_of

from assay_scoring.core.apis.common import IsLead, errors
from assay_scoring.core.services.migrations import schema_migration_apply, schema_migrations_list

MAX_VERSION = 2_147_483_647


@extend_schema_field({
    "type": "object", "description": "source label → target label (rename, merge) or {one_of, default} (split)",
    "additionalProperties": {"oneOf": [
        {"type": "string"},
        {"type": "object", "required": ["one_of", "default"], "properties": {
            "one_of": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "default": {"type": "string"}}},
    ]},
})
class MappingField(serializers.JSONField):
    pass


@extend_schema_field(OpenApiTypes.OBJECT)
class ResolvedField(serializers.JSONField):
    pass


class SchemaMigrationOutput(serializers.Serializer):
    migration_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    mapping = MappingField()
    resolved = ResolvedField(help_text="source label → the target label its existing work moved to")
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    runs = serializers.IntegerField()
    last_run_at = serializers.DateTimeField()
    last_run_by = serializers.CharField()
    gold_migrated = serializers.IntegerField(help_text="gold answers moved by the last run")
    consensus_migrated = serializers.IntegerField(help_text="consensus results moved by the last run")


class SchemaMigrationPage(serializers.Serializer):
    results = SchemaMigrationOutput(many=True)


class SchemaMigrationsApi(APIView):
    """GET: the project's schema migrations. POST: apply a label mapping from one schema version to another to
    gold answers, consensus and (through schema.migrated) final labels (qa_lead, admin). Created: 201; the same
    migration run again: 200; another mapping between the same versions: 409."""

    permission_classes = [IsLead]

    class InputSerializer(serializers.Serializer):
        from_version = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)
        to_version = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)
        mapping = MappingField()

        def validate(self, attrs):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: ["is not a field of a schema migration"] for k in unknown})
            return attrs

    @extend_schema(operation_id="schema_migrations_list", responses={200: SchemaMigrationPage, **errors()})
    def get(self, request, project_id):
        rows = schema_migrations_list(project_id=project_id)
        return Response({"results": SchemaMigrationOutput(rows, many=True).data})

    @extend_schema(operation_id="schema_migrations_apply", request=InputSerializer,
                   responses={201: SchemaMigrationOutput, 200: SchemaMigrationOutput, **errors(
                       _400="validation_error (each field named)", _404="not_found: a project scoring does not know",
                       _409="another mapping between these versions was applied, or the same one is being applied")})
    def post(self, request, project_id):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record, created = schema_migration_apply(project_id=project_id, **body.validated_data,
                                                 actor=principal_of(request).subject)
        return Response(SchemaMigrationOutput(record).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
