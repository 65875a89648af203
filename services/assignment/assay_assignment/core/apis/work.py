"""APIs for annotators: next task, heartbeat, submit, skip, release.

The hot endpoints (next, submit) validate their small inputs by hand instead of through serializers:
they run for every task an annotator works on.
"""
from __future__ import annotations

import uuid

from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of
from assay_shared.errors import ApplicationError

from assay_assignment.hotpath import aio, submissions
from assay_assignment.core.services import queue

ANNOTATORS = HasRole.of("annotator", "expert")


def _invalid(field: str, reason: str) -> ApplicationError:
    return ApplicationError(f"the request is invalid: {field}: {reason}", code="validation_error",
                            fields={field: [reason]})


class HandoutOutput(serializers.Serializer):
    task_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    data = serializers.JSONField()
    schema_version = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()


def next_call(*, annotator: str, project_id) -> tuple[int, dict]:
    """The next-task endpoint's work, shared by the DRF view and the ASGI fast path."""
    handout = queue.work_next(project_id=project_id, annotator=annotator)
    return 200, {"task": handout.as_dict() if handout else None}


def submit_input(body) -> tuple[object, int, uuid.UUID | None]:
    """The submit body checked by hand: (answer, duration_ms, submission_id)."""
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    unknown = sorted(set(body) - {"submission_id", "answer", "duration_ms"})
    if unknown:
        raise _invalid(unknown[0], "is not a submission field")
    if "answer" not in body:
        raise _invalid("answer", "is required")
    duration = body.get("duration_ms")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 0 <= duration <= 86_400_000:
        raise _invalid("duration_ms", "is required: milliseconds spent, an integer from 0 to 86400000")
    submission_id = body.get("submission_id")
    if submission_id is not None:
        try:
            submission_id = uuid.UUID(str(submission_id))
        except ValueError:
            raise _invalid("submission_id", "must be a UUID") from None
    return body["answer"], duration, submission_id


def submit_call(*, annotator: str, task_id, body) -> tuple[int, dict]:
    """The submit endpoint's work: validate the body by hand, record the answer."""
    answer, duration, submission_id = submit_input(body)
    receipt = submissions.submission_create(task_id=task_id, annotator=annotator, answer=answer,
                                            duration_ms=duration, submission_id=submission_id)
    return (200 if receipt.replayed else 201), receipt.as_dict()


async def next_call_async(*, annotator: str, project_id) -> tuple[int, dict]:
    handout = await aio.work_next_async(project_id=project_id, annotator=annotator)
    return 200, {"task": handout.as_dict() if handout else None}


async def submit_call_async(*, annotator: str, task_id, body) -> tuple[int, dict]:
    answer, duration, submission_id = submit_input(body)
    receipt = await aio.submission_create_async(task_id=task_id, annotator=annotator, answer=answer,
                                                duration_ms=duration, submission_id=submission_id)
    return (200 if receipt.replayed else 201), receipt.as_dict()


def heartbeat_call(*, annotator: str, task_id) -> tuple[int, dict]:
    expires = queue.lease_heartbeat(task_id=task_id, annotator=annotator)
    return 200, {"task_id": str(task_id), "lease_expires_at": expires}


class NextTaskApi(APIView):
    """Lease the next task: {"task": {...}} or {"task": null} when nothing is available now."""

    permission_classes = [ANNOTATORS]

    class OutputSerializer(serializers.Serializer):
        task = HandoutOutput(allow_null=True)

    def post(self, request, project_id):
        code, body = next_call(annotator=principal_of(request).subject, project_id=project_id)
        return Response(body, status=code)


class SubmitApi(APIView):
    permission_classes = [ANNOTATORS]

    class InputSerializer(serializers.Serializer):  # documents the body; validated by hand below
        submission_id = serializers.UUIDField(required=False, help_text="client-chosen; retries reuse it")
        answer = serializers.JSONField()
        duration_ms = serializers.IntegerField(min_value=0, max_value=86_400_000)

    class OutputSerializer(serializers.Serializer):
        submission_id = serializers.UUIDField()
        task_id = serializers.UUIDField()
        submitted_at = serializers.DateTimeField()

    def post(self, request, task_id):
        code, body = submit_call(annotator=principal_of(request).subject, task_id=task_id, body=request.data)
        return Response(body, status=code)


class HeartbeatApi(APIView):
    permission_classes = [ANNOTATORS]

    def post(self, request, task_id):
        code, body = heartbeat_call(annotator=principal_of(request).subject, task_id=task_id)
        return Response(body, status=code)


class ReleaseApi(APIView):
    permission_classes = [ANNOTATORS]

    def post(self, request, task_id):
        queue.lease_release(task_id=task_id, annotator=principal_of(request).subject)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SkipApi(APIView):
    permission_classes = [ANNOTATORS]

    def post(self, request, task_id):
        queue.task_skip(task_id=task_id, annotator=principal_of(request).subject)
        return Response(status=status.HTTP_204_NO_CONTENT)
