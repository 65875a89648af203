"""Thin DRF views of review stages, final labels and exports: validate, call one service or selector, serialize."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of

from assay_review.core import exports, selectors, services
from assay_review.numerics.stages import FINAL_VERDICTS, FRESH_SOURCES, ROLES, SOURCES, VERDICTS

LEADS = HasRole.of("qa_lead", "admin")
SKILL = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
SKILL_RULE = "1–64 letters, digits, '_', '.', ':', '-', starting with a letter or digit"

ErrorOutput = inline_serializer("ReviewError", fields={"error": inline_serializer("ReviewErrorBody", fields={
    "code": serializers.CharField(), "message": serializers.CharField(),
    "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()))})})


def refusals(**described: str) -> dict:
    common = {"_401": "no token, or one that cannot be trusted", "_403": "your roles do not allow this"}
    return {int(k[1:]): OpenApiResponse(ErrorOutput, description=v) for k, v in {**common, **described}.items()}


class StageSerializer(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=64)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES), max_length=len(ROLES), allow_empty=True)
    enters = serializers.ListField(child=serializers.ChoiceField(choices=SOURCES), required=False,
                                   max_length=len(SOURCES), help_text=f"default {', '.join(FRESH_SOURCES)}")
    classes = serializers.ListField(child=serializers.CharField(min_length=1, max_length=64), required=False,
                                    max_length=256, default=list)
    exits = serializers.ListField(child=serializers.ChoiceField(choices=VERDICTS), required=False,
                                  max_length=len(VERDICTS), help_text=f"default {', '.join(FINAL_VERDICTS)}")
    check_share = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.0,
                                         help_text="share of this stage's other verdicts sent to the next stage")
    escalate_to = serializers.CharField(min_length=1, max_length=64, required=False)
    skills = serializers.ListField(
        child=serializers.RegexField(SKILL, error_messages={"invalid": SKILL_RULE}),
        required=False, max_length=32, help_text="optional: who works the stage must hold every one of these skills")


class WorkflowInput(serializers.Serializer):
    stages = StageSerializer(many=True, allow_empty=True)


class WorkflowOutput(serializers.Serializer):
    project_id = serializers.UUIDField()
    stages = StageSerializer(many=True)
    updated_by = serializers.CharField()
    updated_at = serializers.DateTimeField()


def _stored(stage: dict) -> dict:
    """The stage as stored: lists without repeats, optional keys only when given."""
    out = {"name": stage["name"], "roles": list(dict.fromkeys(stage["roles"])),
           "classes": list(dict.fromkeys(stage.get("classes", []))), "check_share": stage.get("check_share", 0.0)}
    for key in ("enters", "exits"):
        if key in stage:
            out[key] = list(dict.fromkeys(stage[key]))
    if "escalate_to" in stage:
        out["escalate_to"] = stage["escalate_to"]
    if stage.get("skills"):
        out["skills"] = sorted(set(stage["skills"]))
    return out


class ReviewWorkflowApi(APIView):
    """The ordered review stages of one project (review → expert review …)."""

    permission_classes = [LEADS]

    @extend_schema(operation_id="review_stages_get", responses={200: WorkflowOutput, **refusals(
        _404="the project has no stages (its items go to one stage any reviewer may work)")})
    def get(self, request, project_id):
        return Response(WorkflowOutput(selectors.review_workflow_get(project_id=project_id)).data)

    @extend_schema(operation_id="review_stages_set", request=WorkflowInput, responses={
        200: WorkflowOutput, 201: WorkflowOutput, **refusals(
            _400="validation_error: an empty list or stage, a cycle, a repeated name… (fields by path, "
                 "e.g. stages.1.escalate_to)")})
    def put(self, request, project_id):
        """Create (201) or replace (200) the stages; the last stage's verdict is final."""
        body = WorkflowInput(data=request.data)
        body.is_valid(raise_exception=True)
        workflow, created = services.review_workflow_set(
            project_id=project_id, stages=[_stored(s) for s in body.validated_data["stages"]],
            actor=principal_of(request).subject)
        return Response(WorkflowOutput(workflow).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(operation_id="review_stages_delete", responses={204: None, **refusals(_404="no stages")})
    def delete(self, request, project_id):
        services.review_workflow_delete(project_id=project_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FinalLabelOutput(serializers.Serializer):
    task_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    batch_id = serializers.CharField(allow_null=True)
    answer = serializers.JSONField(allow_null=True)
    source = serializers.ChoiceField(choices=["consensus", "correction", "review"])
    answer_type = serializers.CharField(allow_null=True)
    method = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True)
    revision = serializers.IntegerField()
    annotators = serializers.ListField(child=serializers.CharField())
    reviewer = serializers.CharField(allow_null=True)
    review_id = serializers.UUIDField(allow_null=True)
    schema_version = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class LabelFilter(serializers.Serializer):
    project_id = serializers.UUIDField()
    batch_id = serializers.CharField(required=False, max_length=128)
    after = serializers.UUIDField(required=False, help_text="the last task_id of the previous page")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)


class FinalLabelListApi(APIView):
    permission_classes = [LEADS]

    @extend_schema(operation_id="final_labels_list", parameters=[LabelFilter], responses={
        200: inline_serializer("FinalLabelPage", fields={"results": FinalLabelOutput(many=True),
                                                         "next_after": serializers.UUIDField(allow_null=True)}),
        **refusals(_400="validation_error (fields by name)")})
    def get(self, request):
        """The labels that ship, with their provenance, in task order (keyset pages: `after`)."""
        filters = LabelFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        limit = data.pop("limit")
        rows = list(selectors.final_label_list(**data)[:limit])
        return Response({"results": FinalLabelOutput(rows, many=True).data,
                         "next_after": str(rows[-1].task_id) if len(rows) == limit else None})


class ExportFilter(serializers.Serializer):
    project_id = serializers.UUIDField()
    batch_id = serializers.CharField(required=False, max_length=128)
    format = serializers.ChoiceField(choices=sorted(exports.FORMATS), default="jsonl")
    include_unaccepted = serializers.BooleanField(
        required=False, default=False, help_text="also batches without an accepted inspection")


class _NoFormatOverride:
    """DRF's settings with the `?format=` renderer override turned off: `format` names the export format here."""

    def __getattr__(self, name):
        return None if name == "URL_FORMAT_OVERRIDE" else getattr(api_settings, name)


class ExportNegotiation(DefaultContentNegotiation):
    settings = _NoFormatOverride()


class ExportApi(APIView):
    """A project's or a batch's final labels, streamed."""

    permission_classes = [LEADS]
    content_negotiation_class = ExportNegotiation

    @extend_schema(operation_id="labels_export", parameters=[ExportFilter], responses={
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="one JSON object per line"),
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="task_id,batch_id,label,… (choices)"),
        (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="YOLO: classes.txt, <task_id>.txt"),
        (200, "application/json"): OpenApiResponse(OpenApiTypes.ANY,
                                                   description="COCO (an object), or Label Studio tasks (a list)"),
        **refusals(_400="validation_error: the format does not fit the project's answer type",
                   _404="unknown batch (no final label in it)",
                   _409="an unaccepted batch without include_unaccepted; YOLO or Label Studio boxes for tasks "
                        "without an image size (task_id names them)")})
    def get(self, request):
        filters = ExportFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return exports.export_stream(exports.export_plan(**filters.validated_data), request=request)


class ExportLinkApi(APIView):
    """A download anyone holding the link may use until it expires (the link batch.accepted carries)."""

    permission_classes = []
    authentication_classes = []
    content_negotiation_class = ExportNegotiation

    @extend_schema(operation_id="labels_export_signed", parameters=[
        OpenApiParameter("token", str, required=True, description="the signed token from the link")], responses={
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="one JSON object per line"),
        400: OpenApiResponse(ErrorOutput, description="validation_error: the token is missing, forged or expired")})
    def get(self, request):
        return exports.export_stream(exports.export_link_plan(token=request.query_params.get("token", "")),
                                     request=request)


class ReviewerSkillsApi(APIView):
    """The skills of one reviewer or expert, which stages naming skills require (ADR 0098)."""

    permission_classes = [LEADS]

    class SkillsInput(serializers.Serializer):
        skills = serializers.ListField(
            child=serializers.RegexField(SKILL, error_messages={"invalid": SKILL_RULE}), max_length=64,
            allow_empty=True)

    @extend_schema(operation_id="reviewer_skills_get", responses={200: inline_serializer("ReviewerSkills", fields={
        "subject": serializers.CharField(), "skills": serializers.ListField(child=serializers.CharField())}),
        **refusals()})
    def get(self, request, subject):
        return Response({"subject": subject, "skills": services.reviewer_skills_of(subject)})

    @extend_schema(operation_id="reviewer_skills_set", request=SkillsInput, responses={
        200: inline_serializer("ReviewerSkillsSet", fields={
            "subject": serializers.CharField(), "skills": serializers.ListField(child=serializers.CharField())}),
        **refusals(_400="validation_error (skills.0 …)")})
    def put(self, request, subject):
        if not 1 <= len(subject) <= 128:
            return Response({"error": {"code": "validation_error", "message": "subject: 1 to 128 characters",
                                       "fields": {"subject": ["1 to 128 characters"]}}}, status=400)
        body = self.SkillsInput(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.reviewer_skills_set(subject=subject, actor=principal_of(request).subject,
                                           **body.validated_data)
        return Response({"subject": row.subject, "skills": row.skills})
