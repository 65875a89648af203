"""Dead letters over HTTP, mounted by every service (ADR 0092).

`GET /api/v1/operations/dead-letters` lists, and `POST /api/v1/operations/dead-letters/replay` replays, the
service's dead letters of the caller's tenant. Admins only. The queue holds every tenant's letters; a letter is
the caller's when its body is an envelope of the caller's tenant. Others' letters, and bodies that are no
envelope, are counted but never shown nor replayed here (`manage.py assay_dead_letters` serves the platform's
operators). No payload is returned: the reason, the routing key and the envelope's id, type, tenant and time.
"""
from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from kombu.exceptions import OperationalError
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of
from assay_shared.bus.dead_letters import DeadLetter, dead_letters_list, dead_letters_replay_where
from assay_shared.bus.transport import topology_from_settings
from assay_shared.errors import ApplicationError, NotFoundError
from assay_shared.openapi_errors import ErrorOutput

SCAN = 5000  # letters looked at per request, oldest first
MAX_IDS = 500


class BrokerUnavailableError(ApplicationError):
    status_code = 503
    code = "broker_unavailable"


def _broker(call, **kwargs):
    try:
        return call(topology=topology_from_settings(), service=settings.ASSAY_SERVICE, **kwargs)
    except (OSError, OperationalError) as exc:
        raise BrokerUnavailableError(f"the broker did not answer ({type(exc).__name__}); ask again later (a letter "
                                     "leaves the queue only once its replay was confirmed)") from exc


def _mine(letter: DeadLetter, tenant: str) -> bool:
    return letter.envelope().get("tenant") == tenant


def _row(letter: DeadLetter) -> dict:
    envelope = letter.envelope()
    return {"event_id": envelope.get("id"), "event_type": envelope.get("type"), "tenant": envelope["tenant"],
            "routing_key": letter.routing_key, "reason": letter.reason, "occurred_at": envelope.get("occurred_at"),
            "dead_lettered_at": letter.dead_lettered_at}


def dead_letter_list(*, tenant: str, limit: int) -> dict:
    """Up to `limit` of the tenant's dead letters among the queue's first `SCAN`, oldest first; they stay queued."""
    letters = _broker(dead_letters_list, limit=SCAN + 1)
    complete = len(letters) <= SCAN
    letters = letters[:SCAN]
    mine = [letter for letter in letters if _mine(letter, tenant)]
    return {"service": settings.ASSAY_SERVICE, "results": [_row(letter) for letter in mine[:limit]],
            "count": len(mine), "others": len(letters) - len(mine), "complete": complete}


def dead_letter_replay(*, tenant: str, event_ids: list[UUID] | None = None, replay_all: bool = False) -> dict:
    """Replay the tenant's dead letters with these event ids (each must be there: else none is replayed), or all
    of them. Each goes back to the events exchange under its routing key; the consumers' inbox makes a repeat
    harmless."""
    wanted = {str(event_id) for event_id in event_ids or []}

    def select(letter: DeadLetter) -> bool:
        return _mine(letter, tenant) and (replay_all or letter.envelope().get("id") in wanted)

    def check(selected: list[DeadLetter]) -> None:
        missing = sorted(wanted - {letter.envelope().get("id") for letter in selected})
        if missing:
            raise NotFoundError(f"{len(missing)} of these events are not among your dead letters; none was replayed",
                                fields={"event_ids": [f"not a dead letter of yours: {m}" for m in missing]})

    replayed = _broker(dead_letters_replay_where, select=select, check=check, scan=SCAN)
    return {"service": settings.ASSAY_SERVICE, "replayed": len(replayed),
            "event_ids": [letter.envelope().get("id") for letter in replayed]}


def _errors(**described: str) -> dict:
    common = {"_401": "not_authenticated, authentication_failed", "_403": "forbidden: admins only"}
    return {int(k[1:]): OpenApiResponse(ErrorOutput, description=v) for k, v in {**common, **described}.items()}


class DeadLetterOutput(serializers.Serializer):
    event_id = serializers.CharField(allow_null=True, help_text="the envelope's id")
    event_type = serializers.CharField(allow_null=True)
    tenant = serializers.CharField()
    routing_key = serializers.CharField()
    reason = serializers.CharField(help_text="why the consumer gave up on it")
    occurred_at = serializers.CharField(allow_null=True, help_text="the envelope's time")
    dead_lettered_at = serializers.CharField(allow_null=True, help_text="when it was dead-lettered (ISO 8601, UTC)")


class DeadLetterListOutput(serializers.Serializer):
    service = serializers.CharField()
    results = DeadLetterOutput(many=True)
    count = serializers.IntegerField(help_text="your dead letters among those looked at")
    others = serializers.IntegerField(help_text="letters of other tenants, or no envelope: not shown")
    complete = serializers.BooleanField(help_text=f"false when the queue holds more than the {SCAN} looked at")


class DeadLetterListApi(APIView):
    permission_classes = [HasRole.of("admin")]

    class DeadLetterListFilter(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)

    @extend_schema(operation_id="operations_dead_letters_list", parameters=[DeadLetterListFilter],
                   responses={200: DeadLetterListOutput, **_errors(_400="validation_error: limit",
                                                                       _503="broker_unavailable")})
    def get(self, request):
        query = self.DeadLetterListFilter(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(dead_letter_list(tenant=principal_of(request).tenant, **query.validated_data))


class DeadLetterReplayInput(serializers.Serializer):
    event_ids = serializers.ListField(child=serializers.UUIDField(), required=False, min_length=1,
                                      max_length=MAX_IDS, help_text="replay these (each must be a dead letter of "
                                      "yours, else none is replayed)")
    all = serializers.BooleanField(required=False, default=False, help_text="replay every dead letter of yours")

    def validate(self, attrs):
        if attrs["all"] == ("event_ids" in attrs):
            raise serializers.ValidationError({"event_ids": ["give either event_ids or all: true"]})
        return attrs


class DeadLetterReplayOutput(serializers.Serializer):
    service = serializers.CharField()
    replayed = serializers.IntegerField()
    event_ids = serializers.ListField(child=serializers.CharField(allow_null=True))


class DeadLetterReplayApi(APIView):
    permission_classes = [HasRole.of("admin")]

    @extend_schema(operation_id="operations_dead_letters_replay", request=DeadLetterReplayInput,
                   responses={200: DeadLetterReplayOutput, **_errors(
                       _400="validation_error: event_ids or all", _404="not_found: an event id is not a dead "
                       "letter of yours (nothing replayed)",
                       _503="broker_unavailable (letters whose replay was not confirmed stay queued)")})
    def post(self, request):
        body = DeadLetterReplayInput(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(dead_letter_replay(tenant=principal_of(request).tenant,
                                           event_ids=body.validated_data.get("event_ids"),
                                           replay_all=body.validated_data["all"]))


operations_urlpatterns = [
    path("api/v1/operations/dead-letters", DeadLetterListApi.as_view(), name="operations-dead-letters"),
    path("api/v1/operations/dead-letters/replay", DeadLetterReplayApi.as_view(),
         name="operations-dead-letters-replay"),
]
