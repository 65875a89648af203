"""Gold answers: set, read, retire, bulk import (qa_lead, expert, admin only)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import principal_of
from assay_shared.errors import ApplicationError, flatten_fields
from assay_shared.parsing import json_parse

from assay_scoring.core.apis.common import CanManageGold, PageSerializer, errors, page
from assay_scoring.core.models import ANSWER_TYPES
from assay_scoring.core.selectors import gold_answer_history, gold_answer_list
from assay_scoring.core.services.gold import gold_answer_retire, gold_answer_set, gold_answers_import

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_LINES = 10_000


class GoldAnswerOutput(serializers.Serializer):
    task_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    version = serializers.IntegerField()
    answer = serializers.JSONField()
    retired = serializers.BooleanField()
    schema_version = serializers.IntegerField(allow_null=True, help_text="the schema version whose labels it uses")
    set_by = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class GoldAnswerInput(serializers.Serializer):
    task_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    answer = serializers.JSONField()
    reason = serializers.CharField(max_length=500)
    answer_type = serializers.ChoiceField(choices=ANSWER_TYPES, required=False)
    schema_version = serializers.IntegerField(required=False, min_value=1, max_value=2_147_483_647,
                                              help_text="the schema version the answer uses (default: the current)")


class GoldAnswerPage(serializers.Serializer):
    results = GoldAnswerOutput(many=True)
    count = serializers.IntegerField()


class GoldAnswerHistory(serializers.Serializer):
    current = GoldAnswerOutput(allow_null=True)
    versions = GoldAnswerOutput(many=True)


class GoldImportOutput(serializers.Serializer):
    imported = serializers.IntegerField()
    results = GoldAnswerOutput(many=True)


class GoldAnswerListApi(APIView):
    """GET: current gold answers (filter by project_id, task_id). POST: set a task's gold (new version)."""

    permission_classes = [CanManageGold]

    class FilterSerializer(PageSerializer):
        project_id = serializers.UUIDField(required=False)
        task_id = serializers.UUIDField(required=False)

    @extend_schema(operation_id="gold_answers_list", parameters=[FilterSerializer],
                   responses={200: GoldAnswerPage, **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows = gold_answer_list(project_id=data.get("project_id"), task_id=data.get("task_id"))
        return Response({"results": GoldAnswerOutput(page(rows, data), many=True).data, "count": len(rows)})

    @extend_schema(operation_id="gold_answers_set", request=GoldAnswerInput, responses={201: GoldAnswerOutput, **errors(
        _400="validation_error, invalid_request (each field named)", _409="the task has gold in another project")})
    def post(self, request):
        body = GoldAnswerInput(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        gold = gold_answer_set(**body.validated_data, actor=principal.subject)
        return Response(GoldAnswerOutput(gold).data, status=status.HTTP_201_CREATED)


class GoldAnswerDetailApi(APIView):
    """GET: a task's gold with every version. DELETE: retire it (body {"reason"})."""

    permission_classes = [CanManageGold]

    class RetireInput(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(operation_id="gold_answers_retrieve", responses={200: GoldAnswerHistory, **errors(_404="not_found")})
    def get(self, request, task_id):
        versions = gold_answer_history(task_id=task_id)
        return Response({"current": None if versions[0].retired else GoldAnswerOutput(versions[0]).data,
                         "versions": GoldAnswerOutput(versions, many=True).data})

    @extend_schema(operation_id="gold_answers_retire", request=RetireInput, responses={200: GoldAnswerOutput, **errors(
        _400="validation_error (reason)", _404="not_found: no current gold answer")})
    def delete(self, request, task_id):
        body = self.RetireInput(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        retired = gold_answer_retire(task_id=task_id, reason=body.validated_data["reason"],
                                     actor=principal.subject)
        return Response(GoldAnswerOutput(retired).data)


class GoldAnswerImportApi(APIView):
    """POST a JSON Lines body, one {task_id, project_id, answer, reason[, answer_type]} per line.
    All lines are checked before any is applied; one bad line refuses the whole import."""

    permission_classes = [CanManageGold]
    max_body_bytes = MAX_IMPORT_BYTES

    @extend_schema(
        operation_id="gold_answers_import", request={"application/x-ndjson": OpenApiTypes.STR},
        responses={201: GoldImportOutput, **errors(_400="validation_error (each line's fields named: lines[N].field)",
                                                    _409="a task has gold in another project",
                                                    _413="payload_too_large")},
        examples=[OpenApiExample("two lines", request_only=True, media_type="application/x-ndjson", value=(
            '{"task_id": "6f1c...", "project_id": "0b7e...", "answer": {"label": "cat"}, "reason": "expert"}\n'
            '{"task_id": "9a2d...", "project_id": "0b7e...", "answer": {"label": "dog"}, "reason": "expert"}'))],
    )
    def post(self, request):
        raw = request.body
        if len(raw) > MAX_IMPORT_BYTES:
            raise ApplicationError("the import is too large", fields={"body": [f"at most {MAX_IMPORT_BYTES} bytes"]})
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApplicationError("the import is not UTF-8", fields={"body": ["must be UTF-8 JSON Lines"]}) from None
        lines = [(n, line) for n, line in enumerate(text.splitlines()) if line.strip()]
        if not lines:
            raise ApplicationError("the import is empty", fields={"body": ["needs at least one line"]})
        if len(lines) > MAX_IMPORT_LINES:
            raise ApplicationError("too many lines", fields={"body": [f"at most {MAX_IMPORT_LINES} lines"]})
        rows, errors = [], {}
        for index, (_, line) in enumerate(lines):
            try:
                item = json_parse(line, field=f"lines[{index}]")
            except ApplicationError as exc:  # not JSON, nested too deep, or text Postgres cannot store
                errors.update(exc.fields)
                continue
            body = GoldAnswerInput(data=item) if isinstance(item, dict) else None
            if body is None:
                errors[f"lines[{index}]"] = ["must be a JSON object"]
            elif not body.is_valid():
                errors.update(flatten_fields(body.errors, f"lines[{index}]"))
            else:
                rows.append(body.validated_data)
        if errors:
            raise ApplicationError(f"{len(errors)} field(s) of the import are invalid; nothing was imported",
                                   code="validation_error", fields=errors)
        principal = principal_of(request)
        golds = gold_answers_import(rows=rows, actor=principal.subject)
        return Response({"imported": len(golds), "results": GoldAnswerOutput(golds, many=True).data},
                        status=status.HTTP_201_CREATED)
