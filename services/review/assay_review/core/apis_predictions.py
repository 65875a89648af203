"""Thin DRF views of model predictions and the label errors found with them."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of
from assay_shared.errors import ApplicationError
from assay_shared.parsing import json_parse, max_body_bytes, read_bounded

from assay_review.core import selectors
from assay_review.core.apis_workflow import refusals
from assay_review.core.services import predictions as service

LEADS = HasRole.of("qa_lead", "admin", "service")
READERS = HasRole.of("qa_lead", "admin", "reviewer", "expert")
MAX_LINES = 50_000


class ScoredBox(serializers.Serializer):
    label = serializers.CharField(max_length=64)
    bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, help_text="x, y, w, h")
    score = serializers.FloatField()


class PredictionInput(serializers.Serializer):
    task_id = serializers.UUIDField()
    model_name = serializers.CharField(min_length=1, max_length=128)
    model_version = serializers.CharField(min_length=1, max_length=64)
    probabilities = serializers.DictField(child=serializers.FloatField(), required=False,
                                          help_text="{label: probability}, summing to 1 (choices)")
    objects = serializers.ListField(child=serializers.DictField(), required=False, max_length=1000,
                                    help_text="scored boxes {label, bbox [x, y, w, h], score} (boxes)")
    image = inline_serializer("PredictionImage", fields={"width": serializers.FloatField(),
                                                         "height": serializers.FloatField()}, required=False)


def _prediction(data: dict) -> service.PredictionIn:
    return service.PredictionIn(task_id=data["task_id"], model_name=data["model_name"],
                                model_version=data["model_version"], probabilities=data.get("probabilities"),
                                objects=data.get("objects"), image=data.get("image"))


Stored = inline_serializer("PredictionsStored", fields={"stored": serializers.IntegerField()})


class PredictionApi(APIView):
    permission_classes = [LEADS]

    @extend_schema(operation_id="prediction_store", request=PredictionInput, responses={
        201: Stored, **refusals(_400="validation_error: a label outside the schema, probabilities not summing to 1, "
                                     "boxes outside the image (fields by path)", _404="unknown task (task_id)")})
    def post(self, request, project_id):
        """Store one model prediction for a task (a later one for the same task and model version replaces it)."""
        body = PredictionInput(data=request.data)
        body.is_valid(raise_exception=True)
        stored = service.predictions_store(project_id=project_id, predictions=[_prediction(body.validated_data)],
                                           actor=principal_of(request).subject)
        return Response({"stored": stored}, status=201)


class NdjsonParser(BaseParser):
    """JSON Lines: the body's lines (read up to the route's body limit), each parsed when the view validates it."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        raw = read_bounded(stream, limit=getattr(request, "assay_body_limit", None) or max_body_bytes())
        return raw.splitlines()


class PredictionBulkApi(APIView):
    permission_classes = [LEADS]
    parser_classes = [NdjsonParser]
    max_body_bytes = 64 * 2**20  # 50,000 lines of a few hundred bytes, with room (ADR 0081)

    @extend_schema(operation_id="predictions_bulk", request={"application/x-ndjson": OpenApiTypes.STR},
        examples=[OpenApiExample("two lines", request_only=True, media_type="application/x-ndjson", value=(
            '{"task_id": "…", "model_name": "resnet", "model_version": "3", "probabilities": {"cat": 0.9, "dog": 0.1}}\n'
            '{"task_id": "…", "model_name": "resnet", "model_version": "3", "probabilities": {"cat": 0.2, "dog": 0.8}}'))],
        responses={201: Stored, **refusals(_400="validation_error: fields by line (lines[3].probabilities); nothing stored",
                                           _404="a line names an unknown task (lines[i].task_id)",
                                           _415="the body is not application/x-ndjson")})
    def post(self, request, project_id):
        """Store many predictions from JSON Lines, all or nothing (at most 50,000 lines)."""
        lines = [line for line in request.data if line.strip()]
        if not lines or len(lines) > MAX_LINES:
            raise ApplicationError(f"1 to {MAX_LINES} lines are needed", code="validation_error",
                                   fields={"lines": [f"{len(lines)} lines; 1 to {MAX_LINES} are accepted"]})
        errors, parsed = {}, []
        for i, line in enumerate(lines):
            try:
                value = json_parse(line, field=f"lines[{i}]")
            except ApplicationError as exc:
                errors.update(exc.fields)
                continue
            if not isinstance(value, dict):
                errors[f"lines[{i}]"] = ["is not a JSON object"]
                continue
            body = PredictionInput(data=value)
            if not body.is_valid():
                errors.update({f"lines[{i}].{k}": [str(m) for m in v] if isinstance(v, list) else [str(v)]
                               for k, v in body.errors.items()})
            else:
                parsed.append(_prediction(body.validated_data))
        if errors:
            raise ApplicationError("predictions refused: nothing was stored", code="validation_error", fields=errors)
        stored = service.predictions_store(project_id=project_id, predictions=parsed,
                                           actor=principal_of(request).subject, prefix="lines")
        return Response({"stored": stored}, status=201)


class ComputeInput(serializers.Serializer):
    model_name = serializers.CharField(min_length=1, max_length=128)
    model_version = serializers.CharField(min_length=1, max_length=64)
    batch_id = serializers.CharField(required=False, max_length=128)
    threshold = serializers.FloatField(required=False, min_value=0.0, max_value=1.0,
                                       help_text="queue the labels scoring under this")
    worst_share = serializers.FloatField(required=False, min_value=0.0, max_value=1.0,
                                         help_text="queue this share of the labels, the worst first")


class LabelIssueOutput(serializers.Serializer):
    task_id = serializers.UUIDField()
    batch_id = serializers.CharField(allow_null=True)
    model_name = serializers.CharField()
    model_version = serializers.CharField()
    label = serializers.JSONField(allow_null=True)
    predicted = serializers.CharField(allow_null=True)
    score = serializers.FloatField(help_text="cleanlab label quality: low means likely wrong")
    is_issue = serializers.BooleanField(help_text="cleanlab's find_label_issues flags it")
    flagged = serializers.BooleanField(help_text="raised into review by the model-disagrees rule")
    computed_at = serializers.DateTimeField()


class IssueFilter(serializers.Serializer):
    model_name = serializers.CharField(required=False, max_length=128)
    model_version = serializers.CharField(required=False, max_length=64)
    batch_id = serializers.CharField(required=False, max_length=128)
    issues_only = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)


class LabelIssuesApi(APIView):
    """GET the suspected label errors, most likely wrong first; POST to (re)compute them with cleanlab."""

    def get_permissions(self):
        return [(READERS if self.request.method == "GET" else LEADS)()]

    @extend_schema(operation_id="label_issues_list", parameters=[IssueFilter], responses={
        200: inline_serializer("LabelIssueList", fields={"results": LabelIssueOutput(many=True)}),
        **refusals(_400="validation_error")})
    def get(self, request, project_id):
        filters = IssueFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        limit = data.pop("limit")
        rows = selectors.label_issue_list(project_id=project_id, **data)[:limit]
        return Response({"results": LabelIssueOutput(rows, many=True).data})

    @extend_schema(operation_id="label_issues_compute", request=ComputeInput, responses={
        200: inline_serializer("LabelIssuesComputed", fields={
            "scored": serializers.IntegerField(), "issues": serializers.IntegerField(),
            "flagged": serializers.IntegerField(), "queued": serializers.IntegerField(),
            "rule": serializers.CharField(help_text="which model-disagrees rule chose them: request, policy (the "
                                                    "project's sampling policy) or none")}),
        **refusals(_400="validation_error: answer type not supported", _404="no predictions of that model")})
    def post(self, request, project_id):
        body = ComputeInput(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(service.label_issues_compute(project_id=project_id, **body.validated_data))


class FeedbackOutput(serializers.Serializer):
    review_id = serializers.UUIDField(source="id")
    task_id = serializers.UUIDField()
    submission_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    verdict = serializers.ChoiceField(choices=["accepted", "rejected", "corrected"])
    comment = serializers.CharField()
    corrected_answer = serializers.JSONField(allow_null=True)
    decided_at = serializers.DateTimeField()


class FeedbackFilter(serializers.Serializer):
    before = serializers.DateTimeField(required=False, help_text="decided_at of the last item of the previous page")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class FeedbackApi(APIView):
    """The caller's own review feedback, for clients that poll (assignment pushes each verdict on the WebSocket)."""

    permission_classes = [HasRole.of("annotator", "expert")]

    @extend_schema(operation_id="feedback_list", parameters=[FeedbackFilter], responses={
        200: inline_serializer("FeedbackPage", fields={"results": FeedbackOutput(many=True)}),
        **refusals(_400="validation_error", _403="not an annotator")})
    def get(self, request):
        filters = FeedbackFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = selectors.feedback_list(annotator=principal_of(request).subject,
                                       before=filters.validated_data.get("before"))[:filters.validated_data["limit"]]
        return Response({"results": FeedbackOutput(rows, many=True).data})
