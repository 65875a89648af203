"""The signed-in person on every request; pages need one (sign-in, health and static files excepted), and
the errors the services answer become pages: 403, a 'service down' banner."""
from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render

from assay_console.identity import person_from_session
from assay_console.services import ApiError, ServiceDown

OPEN_PREFIXES = ("/signin", "/oidc/", "/static/", "/healthz")


class PersonMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request.person = person_from_session(request.session)
        if request.person is None and not request.path.startswith(OPEN_PREFIXES):
            return redirect(f"{settings.LOGIN_URL}?next={request.path}")
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ServiceDown):
            return render(request, "console/service_down.html", {"service": exception.service}, status=503)
        if isinstance(exception, ApiError) and exception.status in (401, 403):
            return render(request, "console/403.html", {"error": exception}, status=403)
        if isinstance(exception, ApiError) and exception.status == 429:
            return render(request, "console/service_down.html", {"service": exception.service, "busy": True,
                                                                 "message": exception.message}, status=429)
        if isinstance(exception, ApiError) and exception.status == 404:
            return render(request, "console/404.html", {"error": exception}, status=404)
        if isinstance(exception, ApiError):
            return render(request, "console/error.html", {"error": exception}, status=exception.status)
        return None


def person_context(request) -> dict:
    return {"person": getattr(request, "person", None)}
