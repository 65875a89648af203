"""One error shape for every API: {"error": {"code", "message", "fields"}}."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response


class ApplicationError(Exception):
    """A business rule refused the request. Raised by services, rendered by the API layer."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class ForbiddenError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class PayloadTooLargeError(ApplicationError):
    """The body is larger than its route accepts (413); nothing of it was parsed."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"

    def __init__(self, *, limit: int) -> None:
        super().__init__(f"the request body is larger than this route accepts ({limit} bytes)",
                         fields={"body": [f"at most {limit} bytes"]})
        self.limit = limit


class BusyError(ApplicationError):
    """The system refuses new work for now; the client should ask again after `retry_after` seconds."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "system_busy"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, fields={"retry_after": [str(retry_after)]})
        self.retry_after = retry_after


class RateLimitedError(ApplicationError):
    """The tenant is over its request rate (ADR 0085); the client should ask again after `retry_after` seconds."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"

    def __init__(self, *, tenant: str, retry_after: int) -> None:
        super().__init__(f"tenant {tenant} is over its request rate; ask again in {retry_after} s",
                         fields={"retry_after": [str(retry_after)]})
        self.retry_after = retry_after


def error_body(*, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error detail into {"a.b[0].c": ["reason", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key)
            if isinstance(key, int) or name.isdigit():
                path = f"{prefix}[{name}]"  # ListField/DictField children are keyed by index
            elif name == "non_field_errors":
                path = prefix
            else:
                path = f"{prefix}.{name}" if prefix else name
            for k, v in flatten_fields(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out.setdefault(prefix, []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item in ({}, [], None, ""):
                    continue
                for k, v in flatten_fields(item, f"{prefix}[{index}]").items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix, []).append(str(detail))
    return out


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.ParseError: "malformed_body",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.NotAcceptable: "not_acceptable",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF EXCEPTION_HANDLER rendering every error in the one shape."""
    if isinstance(exc, ApplicationError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, BusyError) else None
        return Response(error_body(code=exc.code, message=exc.message, fields=exc.fields), status=exc.status_code,
                        headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(code="payload_too_large", message=str(exc) or "the request body is too large",
                                   fields={"body": ["too large"]}), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # imported here: rest_framework.views reads the parser settings, whose parser imports this module
    from rest_framework.views import exception_handler as drf_exception_handler  # noqa: PLC0415

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_fields(exc.detail)
        message = "the request is invalid: " + "; ".join(
            f"{k or 'body'}: {', '.join(v)}" for k, v in list(fields.items())[:5]
        )
        response.data = error_body(code="validation_error", message=message, fields=fields)
    else:
        code = getattr(exc, "assay_code", None) or next(
            (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error"
        )
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(code=code, message=str(detail))
    return response


def json_error(*, status_code: int, code: str, message: str,
               fields: dict[str, list[str]] | None = None) -> JsonResponse:
    """For plain Django views and middleware."""
    return JsonResponse(error_body(code=code, message=message, fields=fields), status=status_code)


def application_error_response(exc: ApplicationError) -> JsonResponse:
    """An ApplicationError raised outside DRF (middleware, plain views) in the one shape."""
    return json_error(status_code=exc.status_code, code=exc.code, message=exc.message, fields=exc.fields)
