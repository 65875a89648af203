from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import principal_of

from assay_metrics.core.selectors import annotator_stats_list


class AnnotatorStatsListApi(APIView):
    """Per-annotator counters. Annotators see only their own rows."""

    class FilterSerializer(serializers.Serializer):
        annotator = serializers.CharField(required=False, max_length=128)
        project_id = serializers.UUIDField(required=False)

    class OutputSerializer(serializers.Serializer):
        project_id = serializers.UUIDField()
        annotator = serializers.CharField()
        submissions = serializers.IntegerField()
        total_duration_ms = serializers.IntegerField()
        last_submitted_at = serializers.DateTimeField()

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        principal = principal_of(request)
        annotator = filters.validated_data.get("annotator")
        if not principal.has_any("admin", "qa_lead", "reviewer", "service"):
            annotator = principal.subject
        rows = annotator_stats_list(annotator=annotator, project_id=filters.validated_data.get("project_id"))
        return Response({"results": self.OutputSerializer(rows, many=True).data})
