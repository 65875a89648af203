"""The standard cast for permission tests: owner, teammate, outsider (another tenant), and more."""
from __future__ import annotations

from dataclasses import dataclass

from assay_shared.auth.tokens import KeyPair, Principal, token_mint


@dataclass(frozen=True)
class Actor:
    principal: Principal
    token: str

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    @property
    def subject(self) -> str:
        return self.principal.subject

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def django_headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def actor_make(*, keys: KeyPair, tenant: str, subject: str, roles: list[str], ttl_seconds: int = 3600) -> Actor:
    token = token_mint(private_pem=keys.private_pem, kid=keys.kid, tenant=tenant, subject=subject, roles=roles,
                       ttl_seconds=ttl_seconds)
    return Actor(principal=Principal(tenant=tenant, subject=subject, roles=frozenset(roles)), token=token)


class Cast:
    """owner (admin + qa_lead of acme), teammate (annotator of acme), outsider (admin of globex),
    plus reviewer, expert, a second annotator and a service token, all of acme."""

    def __init__(self, keys: KeyPair) -> None:
        self.keys = keys
        self.owner = self.make("acme", "owner", ["admin", "qa_lead"])
        self.teammate = self.make("acme", "teammate", ["annotator"])
        self.annotator2 = self.make("acme", "annotator2", ["annotator"])
        self.reviewer = self.make("acme", "reviewer", ["reviewer"])
        self.expert = self.make("acme", "expert", ["expert"])
        self.service = self.make("acme", "svc", ["service"])
        self.outsider = self.make("globex", "outsider", ["admin", "qa_lead"])

    def make(self, tenant: str, subject: str, roles: list[str], ttl_seconds: int = 3600) -> Actor:
        return actor_make(keys=self.keys, tenant=tenant, subject=subject, roles=roles, ttl_seconds=ttl_seconds)
