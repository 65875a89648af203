"""Who is signed in, and the short-lived token the console calls the services with on their behalf.

A person is (tenant, subject, roles, name), kept in the session. Every call to a service carries a token
signed for that person alone, valid for CONSOLE_TOKEN_TTL seconds (default 300), so the services' role checks
and row-level security decide what the page may show (ADR 0076).
Sign-in is OpenID Connect in production (assay_console.oidc); on a local stack, one-time links whose codes
are kept in Redis until used or expired (`assay_shared.stack.console.signin_code_create`,
called by `assay up` and `assay demo`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import redis

from assay_shared.auth.tokens import ROLES, SUBJECT_RE, TENANT_RE, token_mint
from assay_shared.stack.console import signin_code_key

SESSION_KEY = "assay_person"


@dataclass(frozen=True)
class Person:
    tenant: str
    subject: str
    roles: tuple[str, ...]
    name: str = ""

    def has_any(self, *roles: str) -> bool:
        return bool(set(self.roles) & set(roles))

    @property
    def is_lead(self) -> bool:
        return self.has_any("admin", "qa_lead")

    @property
    def is_reviewer(self) -> bool:
        return self.has_any("admin", "qa_lead", "reviewer", "expert")


class InvalidPerson(ValueError):
    pass


def person_make(*, tenant: str, subject: str, roles: list[str] | tuple[str, ...], name: str = "") -> Person:
    """A person from claims, checked as a token's claims are (a bad one cannot be signed in)."""
    if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
        raise InvalidPerson(f"tenant {tenant!r} is not a valid tenant")
    if not isinstance(subject, str) or not SUBJECT_RE.match(subject):
        raise InvalidPerson(f"subject {subject!r} is not a valid subject")
    wanted = {r for r in roles if isinstance(r, str)} & ROLES - {"service"}
    if not wanted:
        raise InvalidPerson("no Assay role among the claims")
    return Person(tenant=tenant, subject=subject, roles=tuple(sorted(wanted)), name=str(name or subject)[:100])


def person_from_session(session) -> Person | None:
    data = session.get(SESSION_KEY)
    if not data:
        return None
    return Person(tenant=data["tenant"], subject=data["subject"], roles=tuple(data["roles"]), name=data["name"])


def person_sign_in(*, request, person: Person) -> None:
    """A fresh session (new key: no fixation) holding the person."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = asdict(person)


def person_token(*, person: Person, private_pem: str, kid: str, ttl: int) -> str:
    return token_mint(private_pem=private_pem, kid=kid, tenant=person.tenant, subject=person.subject,
                      roles=list(person.roles), ttl_seconds=ttl)


def signin_code_consume(*, client: redis.Redis, prefix: str, code: str) -> Person | None:
    """The person a code was made for, once: the code is deleted in the same step (GETDEL)."""
    if not code or len(code) > 100:
        return None
    raw = client.getdel(signin_code_key(prefix, code))
    if raw is None:
        return None
    data = json.loads(raw)
    return person_make(tenant=data["tenant"], subject=data["subject"], roles=data["roles"], name=data.get("name", ""))
