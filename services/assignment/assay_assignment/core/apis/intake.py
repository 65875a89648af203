"""Tasks streaming in (open batches, streamed imports, intake) and media behind signed links (ADR 0090)."""
from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.tokens import Principal
from assay_shared.parsing import bounded_lines

from assay_assignment.core.apis.admin import LEADS, BatchOutput, RawFileParser, errors, page
from assay_assignment.core.apis.work import HotError
from assay_assignment.core.services import imports, intake, media_serve


class BatchOpenApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BatchOpen"

        name = serializers.CharField(max_length=200)

    @extend_schema(operation_id="batch_open", request=InputSerializer, responses={
        201: BatchOutput, **errors(_400="validation_error", _404="not_found")})
    def post(self, request, project_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = intake.batch_open(project_id=project_id, **data.validated_data)
        return Response(BatchOutput(batch).data, status=status.HTTP_201_CREATED)


class BatchCloseApi(APIView):
    permission_classes = [LEADS]

    @extend_schema(operation_id="batch_close", request=None, responses={
        200: BatchOutput, **errors(_404="not_found")})
    def post(self, request, project_id, batch_id):
        """Close a batch: it takes no more tasks, and batch.closed says it is complete (again: no change)."""
        return Response(BatchOutput(intake.batch_close(project_id=project_id, batch_id=batch_id)).data)


class ImportOutput(serializers.Serializer):
    id = serializers.UUIDField()
    batch_id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["running", "finished", "broken"])
    lines = serializers.IntegerField(help_text="the last line received whole")
    imported = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    committed = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                      help_text="[[first, last], ...]: the lines whose task is in the project")
    refused = serializers.ListField(child=inline_serializer("ImportRefusal", {
        "line": serializers.IntegerField(), "field": serializers.CharField(), "reason": serializers.CharField()}))
    refused_count = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "StreamedImport"


class ImportStreamApi(APIView):
    """POST a JSON Lines body, chunked: every `commit_lines` lines or `commit_ms` milliseconds what has arrived
    commits. In the running service core/streaming.py serves it as the body arrives; this view documents it and
    serves Django's test client, with the same calls."""

    permission_classes = [LEADS]
    parser_classes = [RawFileParser]
    max_body_bytes = imports.IMPORT_MAX_BYTES

    class FilterSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False, default="stream")
        batch = serializers.UUIDField(required=False, default=None, help_text="an open batch to add to")
        commit_lines = serializers.IntegerField(min_value=1, max_value=50_000, required=False, default=500)
        commit_ms = serializers.IntegerField(min_value=10, max_value=60_000, required=False, default=1000)

    class ListFilterSerializer(serializers.Serializer):
        batch = serializers.UUIDField(required=False, default=None)

    @extend_schema(operation_id="import_list", parameters=[ListFilterSerializer], responses={
        200: page("StreamedImportPage", ImportOutput), **errors(_400="validation_error", _404="not_found")})
    def get(self, request, project_id):
        """The project's streamed imports, newest first (after a broken connection: what did arrive)."""
        params = self.ListFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = intake.import_list(project_id=project_id, batch_id=params.validated_data["batch"])
        return Response({"results": ImportOutput(found[:100], many=True).data})

    @extend_schema(
        operation_id="import_stream", parameters=[FilterSerializer], request={"application/x-ndjson": OpenApiTypes.STR},
        responses={201: ImportOutput, **errors(_400="validation_error", _404="not_found", _409="batch_closed",
                                               _413="payload_too_large (256 MiB)", _415="unsupported_media_type")})
    def post(self, request, project_id):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        streaming_content_type_check(request.content_type)
        p = params.validated_data
        record = intake.import_open(project_id=project_id, name=p["name"], batch_id=p["batch"])
        lines = bounded_lines(iter(request._request.readline, b""), limit=self.max_body_bytes)
        seen: dict[str, int] = {}
        block: list[tuple[int, bytes]] = []
        for number, raw in enumerate(lines, start=1):
            block.append((number, raw))
            if len(block) >= p["commit_lines"]:
                intake.import_lines_commit(import_id=record.id, lines=block, seen=seen)
                block = []
        intake.import_lines_commit(import_id=record.id, lines=block, seen=seen)
        record = intake.import_finish(import_id=record.id, broken=False)
        return Response(ImportOutput(record).data, status=status.HTTP_201_CREATED)


def streaming_content_type_check(content_type: str) -> None:
    from assay_shared.errors import ApplicationError

    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in ("application/x-ndjson", "application/jsonl", "application/json-lines"):
        raise ApplicationError("stream the tasks as application/x-ndjson (JSON Lines)", code="unsupported_media_type",
                               status_code=415, fields={"Content-Type": [f"{media_type or 'none'} is not supported"]})


class ImportDetailApi(APIView):
    permission_classes = [LEADS]

    @extend_schema(operation_id="import_retrieve", responses={200: ImportOutput, **errors(_404="not_found")})
    def get(self, request, project_id, import_id):
        """A streamed import's record: what it committed and what it refused, by line."""
        return Response(ImportOutput(intake.import_get(project_id=project_id, import_id=import_id)).data)


class IntakeApi(APIView):
    permission_classes = [LEADS]

    class TaskInput(serializers.Serializer):
        class Meta:
            ref_name = "IntakeTask"

        external_id = serializers.CharField(max_length=200)
        url = serializers.CharField(max_length=2048)
        metadata = serializers.DictField(required=False)
        priority = serializers.IntegerField(required=False)
        gold = serializers.BooleanField(required=False)
        required_skills = serializers.ListField(child=serializers.CharField(max_length=64), required=False)

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Intake"

        batch_id = serializers.UUIDField(required=False, allow_null=True, default=None,
                                         help_text="an open batch of the project")
        tasks = serializers.JSONField(help_text="1 to 100 tasks, each with its external_id (see IntakeTask)")

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "IntakeResult"

        task_id = serializers.UUIDField()
        external_id = serializers.CharField()
        batch_id = serializers.UUIDField(allow_null=True)
        created = serializers.BooleanField(help_text="false: the project already had this task (a retry)")

    @extend_schema(operation_id="task_intake", request=InputSerializer, responses={
        201: inline_serializer("IntakeCreated", {"tasks": OutputSerializer(many=True)}),
        200: OpenApiResponse(inline_serializer("IntakeKnown", {"tasks": OutputSerializer(many=True)}),
                             description="every task was already taken under its external id: nothing changed"),
        **errors(_400="validation_error (tasks[i].field named)", _404="not_found",
                 _409="external_id_conflict (the field that differs named), batch_closed")})
    def post(self, request, project_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        taken = intake.tasks_intake(project_id=project_id, **data.validated_data)
        body = {"tasks": self.OutputSerializer(taken, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED if any(t.created for t in taken) else status.HTTP_200_OK)


class MediaApi(APIView):
    """An object behind a signed link. No token is needed (an <img> sends none); one that comes must be the
    holder's."""

    permission_classes = []

    @extend_schema(operation_id="media_retrieve", responses={
        (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="the object"),
        **{code: OpenApiResponse(HotError, description=text) for code, text in {
            401: "authentication_failed (a token that cannot be trusted)",
            403: "media_link_invalid (altered), media_link_not_yours (another person's or tenant's)",
            410: "media_link_expired, lease_ended, media_gone",
            502: "media_unavailable (the store or origin failed)",
            503: "media_store_not_configured"}.items()}})
    def get(self, request, token):
        principal = request.user if isinstance(request.user, Principal) else None
        found = media_serve.media_open(token=token, principal=principal)
        response = StreamingHttpResponse(found.chunks, content_type=found.content_type)
        if found.length is not None:
            response["Content-Length"] = str(found.length)
        response["Cache-Control"] = "private, no-store"
        return response

