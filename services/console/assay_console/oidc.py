"""OpenID Connect sign-in (production) through mozilla-django-oidc, without storing users.

The provider's verified claims give the tenant (OIDC_TENANT_CLAIM, default `tenant`), the roles
(OIDC_ROLES_CLAIM, default `roles`) and the subject (`sub`); the console keeps them in the session and signs
the person's short-lived Assay tokens itself (ADR 0076). No Django user row is ever written.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from assay_console.identity import InvalidPerson, person_make, person_sign_in


class ClaimsUser:
    """What mozilla-django-oidc hands to the callback view: the person made from the claims."""

    is_active = True
    is_authenticated = True

    def __init__(self, person) -> None:
        self.person = person
        self.pk = person.subject


class ClaimsBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):  # no user model lookups
        self.UserModel = None
        if getattr(settings, "OIDC_RP_CLIENT_ID", None):
            super().__init__(*args, **kwargs)

    def get_or_create_user(self, access_token, id_token, payload):
        claims = {**payload, **self.get_userinfo(access_token, id_token, payload)}
        oidc = settings.CONSOLE.oidc
        roles = claims.get(oidc.roles_claim) or []
        try:
            person = person_make(tenant=claims.get(oidc.tenant_claim), subject=claims.get("sub"),
                                 roles=roles if isinstance(roles, list) else str(roles).split(),
                                 name=claims.get("name") or claims.get("email") or "")
        except InvalidPerson:
            return None
        return ClaimsUser(person)

    def get_user(self, user_id):
        return None


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: a person signed in (no Django user), or back to the sign-in page."""

    def get(self, request):
        if request.GET.get("error"):  # refused at the provider: forget the attempt, sign nobody in
            request.session.flush()
            return self.login_failure()
        return super().get(request)

    def login_success(self):
        person_sign_in(request=self.request, person=self.user.person)
        return HttpResponseRedirect(self.success_url)
