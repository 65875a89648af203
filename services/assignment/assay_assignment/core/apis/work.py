"""APIs for annotators: next task, heartbeat, submit, skip, release.

Next, submit and heartbeat are served by the ASGI fast path (hotpath/fastpath.py) in the running service; their
views here document them in the OpenAPI schema (the serializers describe the bodies) and answer Django's test
client. Either way a request goes through the same call (hotpath/calls.py) with the same token, role and input
checks (hotpath/checks.py): the views run it on the sync database, in the tenant transaction of the request.
"""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, TokenAuthentication, principal_of

from assay_assignment.core.services import queue
from assay_assignment.hotpath import calls, checks, syncdb

ANNOTATORS = HasRole.of("annotator", "expert")


class HotPathAuthentication(TokenAuthentication):
    """The hot path's own token check (hotpath/checks.py), as the fast path and the WebSocket run it; the role is
    checked by the call itself."""

    def authenticate(self, request):
        try:
            principal = checks.principal_of_authorization(request.headers.get("Authorization"))
        except checks.Unauthenticated as exc:
            failed = exceptions.AuthenticationFailed(exc.message)
            failed.assay_code = exc.code
            raise failed from None
        return principal, principal.token_id


class HotPathBearerScheme(OpenApiAuthenticationExtension):
    """The hot endpoints take the same bearer token as every other endpoint: they refer to its scheme ("bearerAuth",
    described by the shared TokenAuthentication's extension) instead of describing it a second time."""

    target_class = HotPathAuthentication
    name: list[str] = []

    def get_security_requirement(self, auto_schema):
        return {"bearerAuth": []}

    def get_security_definition(self, auto_schema):
        return []


class HotErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class HotError(serializers.Serializer):
    error = HotErrorDetail()


class Handout(serializers.Serializer):
    task_id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    data = serializers.JSONField()
    schema_version = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()


class NextTaskOutput(serializers.Serializer):
    task = Handout(allow_null=True)


class SubmitInput(serializers.Serializer):  # documents the body; checked by hotpath.checks.submit_input
    submission_id = serializers.UUIDField(required=False, help_text="client-chosen; retries reuse it")
    answer = serializers.JSONField(help_text="checked against the task's schema version")
    duration_ms = serializers.IntegerField(min_value=0, max_value=checks.MAX_DURATION_MS)


class SubmitReceipt(serializers.Serializer):
    submission_id = serializers.UUIDField()
    task_id = serializers.UUIDField()
    submitted_at = serializers.DateTimeField()


class HeartbeatOutput(serializers.Serializer):
    task_id = serializers.UUIDField()
    lease_expires_at = serializers.DateTimeField()
    data = serializers.JSONField(required=False, help_text="a task with stored media: its data with the media links "
                                                           "signed again for the longer lease")


def _refusals(**described: str) -> dict:
    common = {401: "no token, or one that cannot be trusted", 403: "not an annotator or expert"}
    return {code: OpenApiResponse(HotError, description=text) for code, text in {**common, **{
        int(key[1:]): text for key, text in described.items()}}.items()}


class _HotApi(APIView):
    """A hot endpoint: authenticated by the hot path's check, its reply that of the call."""

    authentication_classes = [HotPathAuthentication]
    permission_classes = []

    @staticmethod
    def reply(call) -> Response:
        status_code, body = calls.run_sync(call)
        return Response(body, status=status_code)


class NextTaskApi(_HotApi):
    @extend_schema(request=None, responses={200: NextTaskOutput, **_refusals(
        _403="forbidden (not an annotator or expert), annotator_suspended, missing_skills", _404="unknown project",
        _409="lease_cap_reached, awaiting_qualification",
        _503="system_busy: hand-outs are held back while a watched service lags (Retry-After)")})
    def post(self, request, project_id):
        """Lease the next task: {"task": {...}} or {"task": null} when nothing is available now."""
        return self.reply(calls.next_call(syncdb.DATABASE, principal=request.user, project_id=project_id))


class SubmitApi(_HotApi):
    @extend_schema(request=SubmitInput, responses={
        201: SubmitReceipt, 200: OpenApiResponse(SubmitReceipt, description="a retry: the first receipt"),
        **_refusals(_400="malformed_body, validation_error (fields by path)", _404="unknown task",
                    _409="already_answered, task_skipped, lease_expired, submission_id_reused")})
    def post(self, request, task_id):
        """Answer a task you hold (or held: a late answer takes a free slot if there is one)."""
        return self.reply(calls.submit_call(syncdb.DATABASE, principal=request.user, task_id=task_id,
                                            body=request.body))


class HeartbeatApi(_HotApi):
    @extend_schema(request=None, responses={200: HeartbeatOutput, **_refusals(_409="no_lease")})
    def post(self, request, task_id):
        """Extend your lease on the task by the project's lease TTL."""
        return self.reply(calls.heartbeat_call(syncdb.DATABASE, principal=request.user, task_id=task_id))


class ReleaseApi(APIView):
    permission_classes = [ANNOTATORS]

    @extend_schema(operation_id="task_release", request=None, responses={204: None, **_refusals(
        _409="no_lease: you hold no lease on this task")})
    def post(self, request, task_id):
        queue.lease_release(task_id=task_id, annotator=principal_of(request).subject)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SkipApi(APIView):
    permission_classes = [ANNOTATORS]

    @extend_schema(operation_id="task_skip", request=None, responses={204: None, **_refusals(
        _409="no_lease: you hold no lease on this task")})
    def post(self, request, task_id):
        queue.task_skip(task_id=task_id, annotator=principal_of(request).subject)
        return Response(status=status.HTTP_204_NO_CONTENT)
