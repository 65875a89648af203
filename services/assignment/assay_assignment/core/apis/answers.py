"""What a reviewer needs to see an answer: the task's data and every submission's answer (the console's review
page). Reviewers, experts, QA leads and admins; the gold flag is not shown, and stored media is given as links
signed for the reader, valid 15 minutes (ADR 0090)."""
import time

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of

from assay_assignment.core import selectors
from assay_assignment.core.apis.admin import errors
from assay_assignment.core.services import media


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
        principal = principal_of(request)
        found["data"] = media.data_signed(found["data"], tenant=principal.tenant, task_id=str(found["task_id"]),
                                          subject=principal.subject,
                                          expires_at=time.time() + media.REVIEW_LINK_SECONDS, scope="review")
        found["submissions"] = self.SubmissionOutput(found["submissions"], many=True).data
        return Response(self.OutputSerializer(found).data)
