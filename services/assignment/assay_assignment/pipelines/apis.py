"""Pipelines over HTTP: save one (checked whole), list, read, progress (ADR 0094)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole

from assay_assignment.core.apis.admin import LEADS, errors, page
from assay_assignment.pipelines import selectors, services
from assay_assignment.pipelines.models import Edge

READERS = HasRole.of("admin", "qa_lead", "service")


@extend_schema_field(OpenApiTypes.OBJECT)
class ObjectField(serializers.JSONField):
    """A JSON object (anything else is refused naming the field)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("must be an object")
        return super().to_internal_value(data)


class StageSerializer(serializers.Serializer):
    key = serializers.RegexField(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", help_text="the stage's name in this pipeline")
    project_id = serializers.UUIDField(help_text="a project of the tenant; at most one stage per project")
    join = serializers.CharField(max_length=200, required=False, allow_null=True, default=None, help_text=(
        "a fan-in stage's join: the value, on each parent's source task, that joins the parents of one new task "
        "($task.external_id, $data.metadata.<key>)"))
    metadata_keys = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$"), required=False, default=list,
        max_length=200, help_text="metadata keys the stage's tasks carry (besides those seen on its tasks)")
    batch_id = serializers.UUIDField(required=False, allow_null=True, default=None, help_text=(
        "an open batch of the stage's project that takes the tasks handed over (none: no batch)"))

    class Meta:
        ref_name = "PipelineStage"


class EdgeSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=64, help_text="a stage key")
    target = serializers.CharField(max_length=64, help_text="a stage key")
    trigger = serializers.ChoiceField(choices=list(Edge.TRIGGERS), help_text=(
        "label.finalized: the source task's final label; task.completed: all its answers are in; "
        "review.completed: a reviewer's verdict on one of its answers"))
    condition = ObjectField(required=False, default=dict, help_text=(
        '{"label": {"in": [...]}} or {"not_in": [...]}; for review.completed also {"verdict": {"in": [...]}}'))
    template = ObjectField(required=False, default=dict, help_text=(
        'the new task: "url" (default "$data.url") and metadata keys, each a reference ($data.url, '
        '$data.metadata.<key>, $task.id, $task.external_id, $label, $answer.<path>) or a literal; '
        '"crop": "$answer.objects[0].bbox"'))

    class Meta:
        ref_name = "PipelineEdge"


class EdgeOutput(EdgeSerializer):
    id = serializers.UUIDField()

    class Meta:
        ref_name = "PipelineEdgeOut"


class PipelineOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    stages = StageSerializer(many=True)
    edges = EdgeOutput(many=True)

    class Meta:
        ref_name = "Pipeline"


class PipelineListCreateApi(APIView):
    permission_classes = [LEADS]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        stages = StageSerializer(many=True)
        edges = EdgeSerializer(many=True)

        class Meta:
            ref_name = "PipelineCreate"

    class SummaryOutput(serializers.Serializer):
        id = serializers.UUIDField()
        name = serializers.CharField()
        created_at = serializers.DateTimeField()

        class Meta:
            ref_name = "PipelineSummary"

    @extend_schema(operation_id="pipeline_list", responses={200: page("PipelinePage", SummaryOutput), **errors()})
    def get(self, request):
        """The tenant's pipelines, newest first (the first 100)."""
        return Response({"results": self.SummaryOutput(selectors.pipeline_list(), many=True).data})

    @extend_schema(operation_id="pipeline_create", request=InputSerializer, responses={
        201: PipelineOutput, **errors(_400="validation_error (the field named: unknown project, cycle, template, "
                                          "condition, join)")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline = services.pipeline_create(**data.validated_data)
        return Response(selectors.pipeline_detail(pipeline=pipeline), status=status.HTTP_201_CREATED)


class PipelineDetailApi(APIView):
    def get_permissions(self):
        return [(READERS if self.request.method == "GET" else LEADS)()]

    @extend_schema(operation_id="pipeline_get", responses={200: PipelineOutput, **errors(_404="not_found")})
    def get(self, request, pipeline_id):
        pipeline = selectors.pipeline_get(pipeline_id=pipeline_id)
        return Response(selectors.pipeline_detail(pipeline=pipeline))

    @extend_schema(operation_id="pipeline_delete", request=None, responses={204: None, **errors(_404="not_found")})
    def delete(self, request, pipeline_id):
        """Remove the pipeline (to change one, create its new version and remove the old); its tasks stay."""
        services.pipeline_delete(pipeline_id=pipeline_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


_OUTCOMES = {o: serializers.IntegerField() for o in selectors.OUTCOMES}


class PipelineProgressApi(APIView):
    permission_classes = [READERS]

    @extend_schema(operation_id="pipeline_progress", responses={200: inline_serializer("PipelineProgress", {
        "pipeline_id": serializers.UUIDField(), **_OUTCOMES,
        "stages": inline_serializer("PipelineStageProgress", {
            "key": serializers.CharField(), "project_id": serializers.UUIDField(),
            "tasks": serializers.IntegerField(help_text="the project's tasks (of the pipeline or not)"),
            "completed": serializers.IntegerField(help_text="the project's tasks with all their answers"),
            "received": serializers.IntegerField(help_text="tasks the pipeline created in the stage"),
            "joins_waiting": serializers.IntegerField(help_text="fan-in tasks still waiting for a parent")},
            many=True),
        "edges": inline_serializer("PipelineEdgeProgress", {
            "id": serializers.UUIDField(), "source": serializers.CharField(), "target": serializers.CharField(),
            "trigger": serializers.CharField(), **_OUTCOMES}, many=True)}), **errors(_404="not_found")})
    def get(self, request, pipeline_id):
        """What each edge did with the source tasks (created, skipped: condition false, waiting: a fan-in parent,
        failed: template or intake refused) and each stage's counters."""
        return Response(selectors.pipeline_progress(pipeline_id=pipeline_id))
