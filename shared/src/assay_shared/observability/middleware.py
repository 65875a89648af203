"""Request middleware: correlation id, token verification and tenant transaction, latency metric."""
from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction

from assay_shared.auth.tokens import TokenError, TokenVerifier
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.observability import metrics
from assay_shared.observability.context import correlation_scope

_verifier: TokenVerifier | None = None


def verifier() -> TokenVerifier:
    global _verifier
    if _verifier is None:
        _verifier = TokenVerifier(settings.ASSAY_JWT_PUBLIC_KEYS)
    return _verifier


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
            if request.principal is not None:
                with tenant_atomic(tenant=request.principal.tenant):
                    response = self.get_response(request)
                    if response.status_code >= 400:
                        transaction.set_rollback(True)
            else:
                response = self.get_response(request)
            response["X-Correlation-ID"] = correlation_id
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "unmatched"
        metrics.HTTP_LATENCY.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
