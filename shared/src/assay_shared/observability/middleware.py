"""Request middleware: correlation id, token verification and tenant transaction, latency metric."""
from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from django.urls import Resolver404, resolve

from assay_shared.auth.tokens import TokenError, TokenVerifier
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.errors import PayloadTooLargeError, RateLimitedError, application_error_response, json_error
from assay_shared.observability import metrics
from assay_shared.observability.context import correlation_scope
from assay_shared.parsing import max_body_bytes
from assay_shared.ratelimit import rate_limit_check

_verifier: TokenVerifier | None = None


def verifier() -> TokenVerifier:
    global _verifier
    if _verifier is None:
        _verifier = TokenVerifier(settings.ASSAY_JWT_PUBLIC_KEYS)
    return _verifier


def body_limit(request) -> int:
    """The route's body limit: its view's `max_body_bytes`, else ASSAY_MAX_BODY_BYTES (ADR 0081)."""
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return max_body_bytes()
    limit = getattr(getattr(view, "view_class", None), "max_body_bytes", None) or getattr(view, "max_body_bytes", None)
    return int(limit) if limit else max_body_bytes()


def body_size(request) -> int | None:
    """The body's length from Content-Length, or from the buffered body when the client sent none."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared:
        return int(declared)  # ValueError for a malformed header, answered 400 by body_refusal
    stream = getattr(request, "_stream", None)
    seekable = getattr(stream, "seekable", None)
    if stream is None or seekable is None or not seekable():
        return None
    at = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(at)
    return size


def body_refusal(request):
    """A 413 (or 400) response when the body is over the route's limit, else None; sets request.assay_body_limit."""
    limit = request.assay_body_limit = body_limit(request)
    try:
        size = body_size(request)
    except ValueError:  # a malformed Content-Length
        return json_error(status_code=400, code="malformed_request", message="Content-Length is not a number",
                          fields={"Content-Length": ["must be a number of bytes"]})
    if size is not None and size > limit:
        return application_error_response(PayloadTooLargeError(limit=limit))
    return None


def rate_limited(principal):
    """A 429 response when the tenant's bucket of this service is empty (ADR 0085), else None."""
    try:
        rate_limit_check(tenant=principal.tenant)
    except RateLimitedError as exc:
        response = application_error_response(exc)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return None


def _unrouted_in_error_shape(request, response):
    """Django's own 404 page (a path no route matches: an unknown path, or an id its converter refuses, such as
    `/projects/not-a-uuid`) becomes a 404 in the one error shape, never HTML."""
    if response.status_code != 404 or getattr(request, "resolver_match", None) is not None \
            or response.get("Content-Type", "").startswith("application/json"):
        return response
    return json_error(status_code=404, code="not_found", message=f"no resource at {request.path}",
                      fields={"path": ["names no resource"]})


class AssayMiddleware:
    """Every request: a correlation id; a verified principal; the view inside the tenant's transaction.

    A request with a bad token is not refused here: `request.auth_error` is set and the
    DRF authentication class answers 401 in the one error shape.
    """

    UNSCOPED = ("/healthz", "/readyz", "/metrics", "/api/schema", "/api/docs")

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        with correlation_scope(request.headers.get("X-Correlation-ID")) as correlation_id:
            request.principal = None
            request.auth_error = None
            refused = body_refusal(request)
            if refused is not None:
                refused["X-Correlation-ID"] = correlation_id
                metrics.HTTP_LATENCY.labels(request.method, "unmatched", str(refused.status_code)).observe(
                    time.perf_counter() - started)
                return refused
            header = request.headers.get("Authorization", "")
            if header and not request.path.startswith(self.UNSCOPED):
                scheme, _, token = header.partition(" ")
                if scheme.lower() != "bearer" or not token:
                    request.auth_error = TokenError("token_malformed", "Authorization must be 'Bearer <token>'")
                else:
                    try:
                        request.principal = verifier().verify(token.strip())
                    except TokenError as exc:
                        request.auth_error = exc
            limited = rate_limited(request.principal) if request.principal is not None else None
            if limited is not None:
                response = limited
            elif request.principal is not None:
                with tenant_atomic(tenant=request.principal.tenant):
                    response = self.get_response(request)
                    if response.status_code >= 400:
                        transaction.set_rollback(True)
            else:
                response = self.get_response(request)
            response = _unrouted_in_error_shape(request, response)
            response["X-Correlation-ID"] = correlation_id
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "unmatched"
        metrics.HTTP_LATENCY.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
