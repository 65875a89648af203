"""APIs for admins and QA leads: projects, schemas, batches, tasks, progress, open leases."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole
from assay_shared.errors import ApplicationError
from assay_shared.parsing import bounded_lines

from assay_assignment.core import selectors
from assay_assignment.core.apis.work import HotError
from assay_assignment.core.services import imports, media, projects
from assay_assignment.core.services import status as annotator_status


def errors(**described: str) -> dict:
    """OpenAPI responses in the shared error shape: errors(_400="...", _404="...") plus 401, 403 and 429."""
    out = {401: "not_authenticated, authentication_failed", 403: "forbidden (roles)", 429: "rate_limited"}
    out.update({int(key.lstrip("_")): text for key, text in described.items()})
    return {code: OpenApiResponse(HotError, description=text) for code, text in out.items()}


def page(name: str, item) -> serializers.Serializer:
    return inline_serializer(name, {"results": item(many=True)})


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
        class Meta:
            ref_name = "ProjectCreate"

        name = serializers.CharField(max_length=200)
        schema = serializers.JSONField(help_text="the label schema: answer_type, labels, attributes (docs/assignment.md)")

    @extend_schema(operation_id="project_list", responses={200: page("ProjectPage", ProjectOutput), **errors()})
    def get(self, request):
        return Response({"results": ProjectOutput(selectors.project_list(), many=True).data})

    @extend_schema(operation_id="project_create", request=InputSerializer, responses={
        201: ProjectOutput, **errors(_400="validation_error, malformed_body", _413="payload_too_large")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = projects.project_create(**data.validated_data)
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(ProjectSettingsInput):
        class Meta:
            ref_name = "ProjectSettings"

    @extend_schema(operation_id="project_retrieve", responses={200: ProjectOutput, **errors(_404="not_found")})
    def get(self, request, project_id):
        return Response(ProjectOutput(selectors.project_get(project_id=project_id)).data)

    @extend_schema(operation_id="project_update", request=InputSerializer, responses={
        200: ProjectOutput, **errors(_400="validation_error (unknown settings named)", _404="not_found")})
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
        class Meta:
            ref_name = "SchemaCreate"

        schema = serializers.JSONField()

    def get_permissions(self):
        return [WORKERS()] if self.request.method == "GET" else [LEADS()]

    @extend_schema(operation_id="project_schema_list", responses={
        200: page("SchemaPage", SchemaOutput), **errors(_404="not_found")})
    def get(self, request, project_id):
        return Response({"results": SchemaOutput(selectors.schema_list(project_id=project_id), many=True).data})

    @extend_schema(operation_id="project_schema_create", request=InputSerializer, responses={
        201: SchemaOutput, **errors(_400="validation_error", _404="not_found")})
    def post(self, request, project_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = projects.project_schema_update(project_id=project_id, schema=data.validated_data["schema"])
        return Response(SchemaOutput(created).data, status=status.HTTP_201_CREATED)


class SchemaDetailApi(APIView):
    permission_classes = [WORKERS]

    @extend_schema(operation_id="project_schema_retrieve", responses={200: SchemaOutput, **errors(_404="not_found")})
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
    state = serializers.ChoiceField(choices=["open", "closed"], help_text="open: takes tasks streamed in until closed")
    closed_at = serializers.DateTimeField(allow_null=True)


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

    @extend_schema(operation_id="batch_list", responses={200: page("BatchPage", BatchOutput), **errors(_404="not_found")})
    def get(self, request, project_id):
        return Response({"results": BatchOutput(selectors.batch_list(project_id=project_id), many=True).data})

    @extend_schema(
        operation_id="batch_import", parameters=[FilterSerializer],
        request={"application/x-ndjson": OpenApiTypes.STR, "text/csv": OpenApiTypes.STR},
        responses={201: inline_serializer("BatchImportOutput", {
            "batch": BatchOutput(), "imported": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
            "rejected_rows": serializers.IntegerField(), "errors": serializers.ListField(child=serializers.DictField())}),
            **errors(_400="invalid_rows (each bad line named), validation_error", _404="not_found",
                     _413="payload_too_large (256 MiB)", _415="unsupported_media_type")})
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

        class Meta:
            ref_name = "TaskCreate"

        def validate_url(self, value):
            if "://" not in value and ":" not in value:
                raise serializers.ValidationError("must be a URL or URI with a scheme (https://, s3://, ...)")
            problem = media.reference_problem(value)
            if problem:
                raise serializers.ValidationError(problem)
            return value

    @extend_schema(operation_id="task_create", request=InputSerializer, responses={
        201: inline_serializer("TaskCreated", {
            "id": serializers.UUIDField(), "project_id": serializers.UUIDField(),
            "batch_id": serializers.UUIDField(allow_null=True), "external_id": serializers.CharField(allow_null=True),
            "priority": serializers.IntegerField()}),
        **errors(_400="validation_error", _404="not_found", _409="duplicate_external_id")})
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

        class Meta:
            ref_name = "TaskDetail"

    @extend_schema(operation_id="task_retrieve", responses={200: OutputSerializer, **errors(_404="not_found")})
    def get(self, request, task_id):
        return Response(self.OutputSerializer(selectors.task_get(task_id=task_id)).data)


class ProgressApi(APIView):
    permission_classes = [HasRole.of("admin", "qa_lead", "service")]

    _COUNTS = {c: serializers.IntegerField() for c in ("tasks", "queued", "leased", "answered", "completed",
                                                        "consensus", "accepted")}

    @extend_schema(operation_id="project_progress", responses={200: inline_serializer("Progress", {
        "project_id": serializers.UUIDField(), **_COUNTS,
        "batches": inline_serializer("BatchProgress", {"batch_id": serializers.UUIDField(allow_null=True), **_COUNTS},
                                     many=True)}), **errors(_404="not_found")})
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

        class Meta:
            ref_name = "OpenLease"

    @extend_schema(operation_id="lease_list", parameters=[FilterSerializer], responses={
        200: page("OpenLeasePage", OutputSerializer), **errors(_400="validation_error", _404="not_found")})
    def get(self, request, project_id):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = selectors.leases_open_list(project_id=project_id, annotator=params.validated_data.get("annotator"))
        return Response({"results": self.OutputSerializer(rows, many=True).data})


class AnnotatorSkillsApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnnotatorSkills"

        skills = serializers.ListField(child=serializers.CharField(max_length=64), max_length=100)

    @extend_schema(operation_id="annotator_skills_set", request=InputSerializer, responses={
        200: inline_serializer("AnnotatorSkillsOutput", {"annotator": serializers.CharField(),
                                                          "skills": serializers.ListField(child=serializers.CharField())}),
        **errors(_400="validation_error")})
    def put(self, request, annotator):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        skills = annotator_status.annotator_skills_set(annotator=annotator, skills=data.validated_data["skills"])
        return Response({"annotator": annotator, "skills": skills})
