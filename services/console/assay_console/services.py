"""Calls to the five services with the signed-in person's token: the console's only source of data.

`api(request, "metrics")` gives a client for one service; each call returns the decoded JSON or raises
`ApiError` (the service answered 4xx/5xx in the shared error shape) or `ServiceDown` (no answer), which
the views turn into a field error, a 403 page or a banner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from django.conf import settings

from assay_console.identity import person_token

TIMEOUT = httpx.Timeout(10.0, connect=2.0)
_clients: dict[str, httpx.Client] = {}


class ServiceDown(Exception):
    def __init__(self, service: str, detail: str) -> None:
        self.service = service
        super().__init__(f"the {service} service does not answer ({detail})")


@dataclass
class ApiError(Exception):
    service: str
    status: int
    code: str
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.service}: {self.status} {self.code}: {self.message}"


def _client(service: str) -> httpx.Client:
    client = _clients.get(service)
    if client is None:
        client = httpx.Client(base_url=f"{settings.CONSOLE.service_urls[service]}/api/v1", timeout=TIMEOUT)
        _clients[service] = client
    return client


def _error(service: str, response: httpx.Response) -> ApiError:
    try:
        body = response.json().get("error", {})
    except (ValueError, AttributeError):
        body = {}
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    return ApiError(service=service, status=response.status_code, code=str(body.get("code", "error")),
                    message=str(body.get("message", response.reason_phrase)),
                    fields={str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in fields.items()})


class Api:
    def __init__(self, service: str, token: str) -> None:
        self.service = service
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kwargs) -> dict | None:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            response = _client(self.service).request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceDown(self.service, type(exc).__name__) from None
        if response.status_code >= 500:
            raise ServiceDown(self.service, f"status {response.status_code}")
        if response.status_code >= 400:
            raise _error(self.service, response)
        return response.json() if response.content else None

    def get(self, path: str, **params) -> dict:
        return self.call("GET", path, params={k: v for k, v in params.items() if v not in (None, "")})

    def post(self, path: str, body=None, **kwargs) -> dict | None:
        return self.call("POST", path, json=body, **kwargs) if body is not None else self.call("POST", path, **kwargs)

    def put(self, path: str, body) -> dict | None:
        return self.call("PUT", path, json=body)

    def patch(self, path: str, body) -> dict | None:
        return self.call("PATCH", path, json=body)


def api(request, service: str) -> Api:
    cfg = settings.CONSOLE
    token = person_token(person=request.person, private_pem=cfg.private_pem, kid=cfg.kid, ttl=cfg.token_ttl)
    return Api(service, token)
