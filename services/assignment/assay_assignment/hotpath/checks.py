"""Who may call the hot path and what they may send: one check of each, for every way in.

The ASGI fast path (fastpath.py), the WebSocket (core/consumers.py) and the DRF views (core/apis/work.py) all take
the principal from a token with `principal_of_token` (the HTTP ways through `principal_of_authorization`), and the
calls (calls.py) check the role with `annotator_of` and a submission's body with `submit_input`. Refusals are
ApplicationErrors, rendered in the one error shape by whichever way in the request came.
"""
from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from assay_shared.auth.tokens import Principal, TokenError
from assay_shared.errors import ApplicationError, ForbiddenError
from assay_shared.observability.middleware import verifier
from assay_shared.parsing import json_parse

ANNOTATOR_ROLES = ("annotator", "expert")
WWW_AUTHENTICATE = 'Bearer realm="assay"'
MAX_DURATION_MS = 86_400_000
SUBMIT_FIELDS = frozenset({"answer", "duration_ms", "submission_id"})


class Unauthenticated(ApplicationError):
    """No token, or one that cannot be trusted: 401 (with WWW-Authenticate over HTTP, close code 4401 on the
    WebSocket)."""

    status_code = 401
    code = "not_authenticated"


def principal_of_token(token: str) -> Principal:
    try:
        return verifier().verify(token.strip())
    except TokenError as exc:
        raise Unauthenticated(str(exc), code=exc.code) from None


def principal_of_authorization(header: str | None) -> Principal:
    """The principal of an `Authorization: Bearer <token>` header."""
    if not header:
        raise Unauthenticated("Authentication credentials were not provided.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'", code="token_malformed")
    return principal_of_token(token)


def annotator_of(principal: Principal) -> str:
    """The annotator a principal works as; 403 for a principal without an annotator's role."""
    if not principal.has_any(*ANNOTATOR_ROLES):
        raise ForbiddenError("your roles do not allow this")
    return principal.subject


def invalid(field: str, reason: str) -> ApplicationError:
    return ApplicationError(f"the request is invalid: {field}: {reason}", code="validation_error",
                            fields={field: [reason]})


def json_body(raw: bytes) -> Any:
    """A request body's JSON document (None for an empty body)."""
    return json_parse(raw or b"null")


def uuid_input(field: str, value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise invalid(field, "must be a UUID") from None


class SubmitInput(NamedTuple):
    answer: Any
    duration_ms: int
    submission_id: uuid.UUID | None


def submit_input(body: Any) -> SubmitInput:
    """A submission's body, {"answer", "duration_ms", "submission_id"?}, checked by hand (it runs for every answer;
    the answer itself is checked against its schema version by submissions.submission_plan)."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    unknown = sorted(set(body) - SUBMIT_FIELDS)
    if unknown:
        raise invalid(unknown[0], "is not a submission field")
    if "answer" not in body:
        raise invalid("answer", "is required")
    duration = body.get("duration_ms")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 0 <= duration <= MAX_DURATION_MS:
        raise invalid("duration_ms", f"is required: milliseconds spent, an integer from 0 to {MAX_DURATION_MS}")
    submission_id = body.get("submission_id")
    return SubmitInput(answer=body["answer"], duration_ms=duration,
                       submission_id=None if submission_id is None else uuid_input("submission_id", submission_id))
