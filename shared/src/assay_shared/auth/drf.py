"""DRF authentication and role permissions on top of the verified token."""
from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from assay_shared.auth.tokens import Principal


class TokenAuthentication(BaseAuthentication):
    """Reads the principal the middleware verified; reports the middleware's token error as 401."""

    def authenticate(self, request):
        django_request = request._request
        error = getattr(django_request, "auth_error", None)
        if error is not None:
            exc = exceptions.AuthenticationFailed(str(error))
            exc.assay_code = error.code
            raise exc
        principal = getattr(django_request, "principal", None)
        if principal is None:
            return None
        return principal, principal.token_id

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="assay"'


def principal_of(request) -> Principal:
    principal = getattr(request, "user", None)
    if not isinstance(principal, Principal):
        raise exceptions.NotAuthenticated()
    return principal


class HasRole(BasePermission):
    """Allow principals holding any of `roles`. Use as `HasRole.of("qa_lead", "admin")`."""

    roles: tuple[str, ...] = ()
    message = "your roles do not allow this"

    @classmethod
    def of(cls, *roles: str) -> type["HasRole"]:
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request, view) -> bool:
        principal = getattr(request, "user", None)
        if not isinstance(principal, Principal):
            return False
        return principal.has_any(*self.roles)
