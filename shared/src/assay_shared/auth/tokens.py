"""Signed JWTs: minting (holders of a private key) and local verification (every service).

Tokens are EdDSA (Ed25519) signed; the header's `kid` picks the public key, so keys
can be rotated by publishing the new public key before signing with it.
"""
from __future__ import annotations

import functools
import json
import re
import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "assay"
AUDIENCE = "assay"
ROLES = frozenset({"admin", "qa_lead", "reviewer", "expert", "annotator", "service"})
TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SUBJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$")


class TokenError(Exception):
    """The token is missing, malformed, expired, or not signed by a known key."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Principal:
    """Who is calling: taken only from a verified token."""

    tenant: str
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""

    is_authenticated = True

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass(frozen=True)
class KeyPair:
    kid: str
    private_pem: str
    public_pem: str


def keypair_generate(*, kid: str) -> KeyPair:
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return KeyPair(kid=kid, private_pem=private_pem, public_pem=public_pem)


def public_keys_json(*pairs: KeyPair) -> str:
    return json.dumps({p.kid: p.public_pem for p in pairs})


def token_mint(
    *,
    private_pem: str,
    kid: str,
    tenant: str,
    subject: str,
    roles: list[str] | tuple[str, ...],
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """Sign a token for `subject` of `tenant` with `roles`."""
    if not TENANT_RE.match(tenant):
        raise ValueError(f"tenant {tenant!r} must match {TENANT_RE.pattern}")
    if not SUBJECT_RE.match(subject):
        raise ValueError(f"subject {subject!r} must match {SUBJECT_RE.pattern}")
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; known: {sorted(ROLES)}")
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "tenant": tenant,
        "roles": sorted(set(roles)),
        "iat": issued,
        "nbf": issued - 5,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_pem, algorithm="EdDSA", headers={"kid": kid})


class TokenVerifier:
    """Verifies tokens against a fixed set of public keys (kid → PEM)."""

    def __init__(self, public_keys: dict[str, str], *, leeway: int = 5) -> None:
        self._keys = {kid: serialization.load_pem_public_key(pem.encode()) for kid, pem in public_keys.items()}
        self._leeway = leeway
        self._cached = functools.lru_cache(maxsize=4096)(self._verify_uncached)

    def verify(self, token: str) -> Principal:
        principal, exp = self._cached(token)
        if exp + self._leeway < time.time():
            raise TokenError("token_expired", "the token has expired")
        return principal

    def _verify_uncached(self, token: str) -> tuple[Principal, int]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("token_malformed", "the token is not a well-formed JWT") from None
        key = self._keys.get(header.get("kid", ""))
        if key is None:
            raise TokenError("token_unknown_key", f"the token's key id {header.get('kid')!r} is not trusted")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the token has expired") from None
        except jwt.InvalidSignatureError:
            raise TokenError("token_invalid_signature", "the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise TokenError("token_invalid", f"the token is invalid: {exc}") from None
        tenant, roles = claims.get("tenant"), claims.get("roles")
        if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
            raise TokenError("token_invalid", "the token carries no valid tenant claim")
        if not isinstance(roles, list) or not set(roles) <= ROLES:
            raise TokenError("token_invalid", "the token's roles claim is missing or has unknown roles")
        principal = Principal(
            tenant=tenant, subject=str(claims["sub"]), roles=frozenset(roles), token_id=str(claims.get("jti", ""))
        )
        return principal, int(claims["exp"])
