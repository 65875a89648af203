"""What a reviewer needs to see an answer: the task's data and every submission's answer (the console's review
page). Reviewers, experts, QA leads and admins; the gold flag is not shown."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole

from assay_assignment.core import selectors
from assay_assignment.core.apis.admin import errors


class TaskAnswersApi(APIView):
    permission_classes = [HasRole.of("admin", "qa_lead", "reviewer", "expert")]

    class SubmissionOutput(serializers.Serializer):
        submission_id = serializers.UUIDField()
        annotator = serializers.CharField()
        answer = serializers.JSONField()
        duration_ms = serializers.IntegerField()
        submitted_at = serializers.DateTimeField()

    class OutputSerializer(serializers.Serializer):
        task_id = serializers.UUIDField()
        project_id = serializers.UUIDField()
        external_id = serializers.CharField(allow_null=True)
        data = serializers.JSONField()
        schema_version = serializers.IntegerField()
        answer_type = serializers.CharField()
        labels = serializers.ListField(child=serializers.CharField())
        submissions = serializers.ListField(child=serializers.DictField())

    @extend_schema(operation_id="task_answers", responses={200: OutputSerializer, **errors(_404="not_found")})
    def get(self, request, task_id):
        found = selectors.task_answers_get(task_id=task_id)
        found["submissions"] = self.SubmissionOutput(found["submissions"], many=True).data
        return Response(self.OutputSerializer(found).data)
