"""APIs for admins and QA leads: projects, schemas, batches, tasks, progress, open leases."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole
from assay_shared.errors import ApplicationError
from assay_shared.parsing import bounded_lines

from assay_assignment.core import selectors
from assay_assignment.core.services import imports, projects
from assay_assignment.core.services import status as annotator_status

LEADS = HasRole.of("admin", "qa_lead")
WORKERS = HasRole.of("admin", "qa_lead", "annotator", "reviewer", "expert", "service")


class ProjectOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    schema_version = serializers.IntegerField()
    overlap = serializers.IntegerField()
    max_overlap = serializers.IntegerField()
    gold_rate = serializers.FloatField()
    exam_size = serializers.IntegerField()
    lease_ttl_seconds = serializers.IntegerField()
    max_open_leases = serializers.IntegerField()
    required_skills = serializers.ListField(child=serializers.CharField())
    training_mode = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ProjectSettingsInput(serializers.Serializer):
    overlap = serializers.IntegerField(min_value=1, max_value=100, required=False)
    max_overlap = serializers.IntegerField(min_value=1, max_value=100, required=False)
    gold_rate = serializers.FloatField(min_value=0, max_value=0.5, required=False)
    exam_size = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    lease_ttl_seconds = serializers.IntegerField(min_value=5, max_value=86400, required=False)
    max_open_leases = serializers.IntegerField(min_value=1, max_value=100, required=False)
    required_skills = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50, required=False)
    training_mode = serializers.BooleanField(required=False)


class ProjectListCreateApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(ProjectSettingsInput):
        name = serializers.CharField(max_length=200)
        schema = serializers.JSONField()

    def get(self, request):
        return Response({"results": ProjectOutput(selectors.project_list(), many=True).data})

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = projects.project_create(**data.validated_data)
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(ProjectSettingsInput):
        pass

    def get(self, request, project_id):
        return Response(ProjectOutput(selectors.project_get(project_id=project_id)).data)

    def patch(self, request, project_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unknown = set(request.data) - set(data.fields) if isinstance(request.data, dict) else set()
        if unknown:
            raise ApplicationError("unknown settings", code="validation_error",
                                   fields={k: ["is not a project setting"] for k in sorted(unknown)})
        return Response(ProjectOutput(projects.project_update(project_id=project_id, **data.validated_data)).data)


class SchemaOutput(serializers.Serializer):
    version = serializers.IntegerField()
    answer_type = serializers.CharField()
    definition = serializers.JSONField()
    created_at = serializers.DateTimeField()


class SchemaListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        schema = serializers.JSONField()

    def get_permissions(self):
        return [WORKERS()] if self.request.method == "GET" else [LEADS()]

    def get(self, request, project_id):
        return Response({"results": SchemaOutput(selectors.schema_list(project_id=project_id), many=True).data})

    def post(self, request, project_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = projects.project_schema_update(project_id=project_id, schema=data.validated_data["schema"])
        return Response(SchemaOutput(created).data, status=status.HTTP_201_CREATED)


class SchemaDetailApi(APIView):
    permission_classes = [WORKERS]

    def get(self, request, project_id, version):
        return Response(SchemaOutput(selectors.schema_get(project_id=project_id, version=version)).data)


class RawFileParser(BaseParser):
    """Leaves the body unread so the import can stream it line by line."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


class BatchOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    task_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class BatchListImportApi(APIView):
    """POST a JSON Lines (application/x-ndjson) or CSV (text/csv) file as a new batch."""

    permission_classes = [LEADS]
    parser_classes = [RawFileParser]
    max_body_bytes = imports.IMPORT_MAX_BYTES

    class FilterSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False, default="import")
        on_error = serializers.ChoiceField(choices=["reject", "skip"], required=False, default="reject")

    FORMATS = {"application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/json-lines": "jsonl",
               "text/csv": "csv"}

    def get(self, request, project_id):
        return Response({"results": BatchOutput(selectors.batch_list(project_id=project_id), many=True).data})

    def post(self, request, project_id):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        content_type = request.content_type.split(";")[0].strip().lower()
        file_format = self.FORMATS.get(content_type)
        if file_format is None:
            raise ApplicationError("send the file as application/x-ndjson (JSON Lines) or text/csv",
                                   code="unsupported_media_type", status_code=415,
                                   fields={"Content-Type": [f"{content_type or 'none'} is not supported"]})
        lines = bounded_lines(iter(request._request.readline, b""), limit=self.max_body_bytes)
        result = imports.batch_import(project_id=project_id, name=params.validated_data["name"],
                                      lines=lines, file_format=file_format,
                                      skip_invalid=params.validated_data["on_error"] == "skip")
        return Response({"batch": BatchOutput(result.batch).data, "imported": result.imported,
                         "duplicates": result.duplicates, "rejected_rows": result.rejected_rows,
                         "errors": result.errors}, status=status.HTTP_201_CREATED)


class TaskCreateApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2048)
        metadata = serializers.DictField(required=False, default=dict)
        external_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)
        priority = serializers.IntegerField(min_value=-1_000_000, max_value=1_000_000, required=False, default=0)
        gold = serializers.BooleanField(required=False, default=False)
        required_skills = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
        batch_id = serializers.UUIDField(required=False, allow_null=True, default=None)

        def validate_url(self, value):
            if "://" not in value and ":" not in value:
                raise serializers.ValidationError("must be a URL or URI with a scheme (https://, s3://, ...)")
            return value

    def post(self, request, project_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = imports.task_create(project_id=project_id, **data.validated_data)
        return Response({k: (str(v) if k == "id" else v) for k, v in created.items() if k != "task_id"},
                        status=status.HTTP_201_CREATED)


class TaskDetailApi(APIView):
    permission_classes = [LEADS]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        project_id = serializers.UUIDField()
        batch_id = serializers.UUIDField(allow_null=True)
        external_id = serializers.CharField(allow_null=True)
        data = serializers.JSONField()
        priority = serializers.IntegerField()
        schema_version = serializers.IntegerField()
        gold = serializers.BooleanField()
        required_skills = serializers.ListField(child=serializers.CharField())
        overlap = serializers.IntegerField()
        free_slots = serializers.IntegerField()
        answered = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    def get(self, request, task_id):
        return Response(self.OutputSerializer(selectors.task_get(task_id=task_id)).data)


class ProgressApi(APIView):
    permission_classes = [HasRole.of("admin", "qa_lead", "service")]

    def get(self, request, project_id):
        return Response(selectors.progress_get(project_id=project_id))


class LeasesApi(APIView):
    permission_classes = [LEADS]

    class FilterSerializer(serializers.Serializer):
        annotator = serializers.CharField(max_length=128, required=False)

    class OutputSerializer(serializers.Serializer):
        annotator = serializers.CharField()
        task_id = serializers.UUIDField()
        leased_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField()
        expired = serializers.BooleanField()

    def get(self, request, project_id):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = selectors.leases_open_list(project_id=project_id, annotator=params.validated_data.get("annotator"))
        return Response({"results": self.OutputSerializer(rows, many=True).data})


class AnnotatorSkillsApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(serializers.Serializer):
        skills = serializers.ListField(child=serializers.CharField(max_length=64), max_length=100)

    def put(self, request, annotator):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        skills = annotator_status.annotator_skills_set(annotator=annotator, skills=data.validated_data["skills"])
        return Response({"annotator": annotator, "skills": skills})
