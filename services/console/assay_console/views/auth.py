"""Sign-in (one-time link on a local stack, OpenID Connect in production), sign-out, the home page."""
from __future__ import annotations

import redis
from django.conf import settings
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from assay_console.identity import person_sign_in, signin_code_consume

_redis: redis.Redis | None = None


def _client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.CONSOLE.redis_url, socket_timeout=2, socket_connect_timeout=2)
    return _redis


def signin(request):
    return render(request, "console/signin.html", {
        "oidc": settings.CONSOLE.oidc is not None, "local": settings.CONSOLE.local_signin,
        "failed": request.GET.get("failed")})


def signin_link(request, code: str):
    """A one-time link: the code is used up by this request, whatever happens next."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    person = signin_code_consume(client=_client(), prefix=settings.CONSOLE.prefix, code=code) \
        if settings.CONSOLE.local_signin else None
    if person is None:
        return render(request, "console/signin.html", {"invalid_link": True, "oidc": settings.CONSOLE.oidc is not None,
                                                       "local": settings.CONSOLE.local_signin}, status=403)
    person_sign_in(request=request, person=person)
    return redirect("home")


@require_POST
def signout(request):
    request.session.flush()
    return redirect("signin")


def home(request):
    return render(request, "console/home.html")


def healthz(request):
    return JsonResponse({"status": "ok"})
