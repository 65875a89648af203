"""Gold scores and consensus results."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import principal_of

from assay_scoring.core.apis.common import CanReadResults, IsLead, PageSerializer, errors, page
from assay_scoring.core.selectors import annotator_feedback, consensus_get, consensus_list, gold_score_list


class GoldScoreListApi(APIView):
    """Every gold score with its typed errors and confusion (qa_lead, admin)."""

    permission_classes = [IsLead]

    class FilterSerializer(PageSerializer):
        project_id = serializers.UUIDField(required=False)
        task_id = serializers.UUIDField(required=False)
        annotator = serializers.CharField(required=False, max_length=128)

    class OutputSerializer(serializers.Serializer):
        submission_id = serializers.UUIDField()
        task_id = serializers.UUIDField()
        project_id = serializers.UUIDField()
        annotator = serializers.CharField()
        answer_type = serializers.CharField()
        gold_version = serializers.IntegerField()
        score = serializers.FloatField()
        passed = serializers.BooleanField()
        error_counts = serializers.JSONField()
        errors = serializers.JSONField()
        confusion = serializers.JSONField()
        metrics = serializers.JSONField()
        scored_at = serializers.DateTimeField()

    class GoldScorePage(serializers.Serializer):
        results = serializers.ListField(child=serializers.DictField())
        count = serializers.IntegerField()

    @extend_schema(operation_id="gold_scores_list", parameters=[FilterSerializer],
                   responses={200: GoldScorePage, **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows = gold_score_list(project_id=data.get("project_id"), annotator=data.get("annotator"),
                               task_id=data.get("task_id"))
        return Response({"results": self.OutputSerializer(page(rows, data), many=True).data,
                         "count": rows.count()})


class MyGoldScoresApi(APIView):
    """The caller's own gold feedback: per-task scores and correct answers only in training mode,
    otherwise totals over completed days."""

    class FilterSerializer(serializers.Serializer):
        project_id = serializers.UUIDField(required=False)

    class SummarySerializer(serializers.Serializer):
        scored = serializers.IntegerField()
        passed = serializers.IntegerField()
        mean_score = serializers.FloatField(allow_null=True)
        pass_rate = serializers.FloatField(allow_null=True)
        pass_rate_interval = serializers.JSONField(allow_null=True, help_text="95 % Wilson interval "
                                                   "{low, high, level, method}; null without scores")
        mean_score_interval = serializers.JSONField(allow_null=True, help_text="95 % Beta(1, 1) posterior "
                                                    "interval {low, high, level, method}; null without scores")
        error_counts = serializers.JSONField()

    class ScoreSerializer(serializers.Serializer):
        submission_id = serializers.UUIDField()
        task_id = serializers.UUIDField()
        score = serializers.FloatField()
        passed = serializers.BooleanField()
        error_counts = serializers.JSONField()
        errors = serializers.JSONField()
        gold_answer = serializers.JSONField()
        scored_at = serializers.DateTimeField()

    class OutputSerializer(serializers.Serializer):
        project_id = serializers.UUIDField()
        training_mode = serializers.BooleanField()
        summary = serializers.DictField()
        scores = serializers.ListField(allow_null=True)
        through = serializers.DateTimeField(required=False)

    class MyGoldScores(serializers.Serializer):
        results = serializers.ListField(child=serializers.DictField())

    @extend_schema(operation_id="my_gold_scores", parameters=[FilterSerializer],
                   responses={200: MyGoldScores, **errors(roles=False, _400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        principal = principal_of(request)
        rows = annotator_feedback(annotator=principal.subject, project_id=filters.validated_data.get("project_id"))
        out = []
        for row in rows:
            item = {"project_id": str(row["project_id"]), "training_mode": row["training_mode"],
                    "summary": self.SummarySerializer(row["summary"]).data,
                    "scores": None if row["scores"] is None else self.ScoreSerializer(row["scores"], many=True).data}
            if "through" in row:
                item["through"] = serializers.DateTimeField().to_representation(row["through"])
            out.append(item)
        return Response({"results": out})


class ConsensusOutput(serializers.Serializer):
    task_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    batch_id = serializers.CharField(allow_null=True)
    answer_type = serializers.CharField()
    method = serializers.CharField()
    status = serializers.CharField()
    answer = serializers.JSONField()
    confidence = serializers.FloatField()
    agreement = serializers.FloatField()
    details = serializers.JSONField()
    annotators = serializers.JSONField()
    submission_ids = serializers.JSONField()
    revision = serializers.IntegerField()
    schema_version = serializers.IntegerField(allow_null=True, help_text="the schema version of the task's answers, "
                                              "or the one a migration moved it to")
    computed_at = serializers.DateTimeField()


class ConsensusPage(serializers.Serializer):
    results = ConsensusOutput(many=True)
    count = serializers.IntegerField()


class ConsensusListApi(APIView):
    """Consensus results, newest first (qa_lead, admin, expert, reviewer, service)."""

    permission_classes = [CanReadResults]

    class FilterSerializer(PageSerializer):
        project_id = serializers.UUIDField(required=False)
        batch_id = serializers.CharField(required=False, max_length=64)
        status = serializers.ChoiceField(choices=("reached", "disputed"), required=False)

    @extend_schema(operation_id="consensus_list", parameters=[FilterSerializer],
                   responses={200: ConsensusPage, **errors(_400="validation_error")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows = consensus_list(project_id=data.get("project_id"), status=data.get("status"),
                              batch_id=data.get("batch_id"))
        return Response({"results": ConsensusOutput(page(rows, data), many=True).data, "count": rows.count()})


class ConsensusDetailApi(APIView):
    permission_classes = [CanReadResults]

    @extend_schema(operation_id="consensus_retrieve", responses={200: ConsensusOutput, **errors(_404="not_found")})
    def get(self, request, task_id):
        return Response(ConsensusOutput(consensus_get(task_id=task_id)).data)
