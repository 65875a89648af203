"""Media by signed URL (ADR 0090): the people who work a task never see where its media is stored.

A task's `data.url`, and each string of `data.metadata` that names stored media, may be `s3://bucket/key`,
`gs://bucket/key`, or an `https://` URL under one of the tenant's private prefixes. On hand-out each becomes a link
scoped to the task the person holds:

- a store that signs (S3-compatible, and Cloud Storage through its S3 interoperability endpoint) gives a presigned
  GET (boto3) that expires with the lease;
- any other (private https origins, stores configured `"presign": false`, or no store configured) gives an
  HMAC-signed, expiring link to `GET /api/v1/media/<token>`, which checks the signature, the expiry, that the
  person still holds the task's lease and, when a token comes with the request, that it is theirs; then streams.

Per-tenant storage settings come from a Secret, never from the database: the JSON file `<MEDIA_DIR>/<tenant>.json`
(the chart mounts the Secret named by `media.existingSecret` there) or the environment variable
`ASSAY_MEDIA_<TENANT>` (the tenant upper-cased, other characters than letters and digits as `_`):

    {"s3": {"endpoint_url"?, "region"?, "access_key_id", "secret_access_key", "presign"?: true},
     "gs": {... the same, endpoint_url defaulting to https://storage.googleapis.com},
     "https": [{"prefix": "https://media.internal.example/", "headers"?: {"Authorization": "..."}}]}
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("assay.assignment.media")
SCHEMES = ("https", "http", "s3", "gs")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_STORE_RE = re.compile(r"^(s3|gs)://([A-Za-z0-9][A-Za-z0-9._-]{0,221})/(.+)$", re.S)
CONFIG_TTL_SECONDS = 30.0
REVIEW_LINK_SECONDS = 900
MIN_LINK_SECONDS = 1


def reference_problem(url: str) -> str | None:
    """Why `url` cannot be task media, or None: the scheme must be one Assay can serve, and a store's reference
    must name a bucket and a key."""
    match = _SCHEME_RE.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme not in SCHEMES:
        return f"the scheme {scheme or '(none)'}: is not supported; use https://, http://, s3:// or gs://"
    if scheme in ("s3", "gs") and not _STORE_RE.match(url):
        return f"must be {scheme}://<bucket>/<key>"
    return None


# -- per-tenant settings, from mounted Secret files or the environment ----------------------------------------------

class MediaConfigError(Exception):
    pass


@dataclass(frozen=True)
class Store:
    scheme: str
    endpoint_url: str | None
    region: str
    access_key_id: str
    secret_access_key: str
    presign: bool


@dataclass(frozen=True)
class TenantMedia:
    stores: dict[str, Store]
    private: tuple[tuple[str, dict[str, str]], ...]  # (prefix, headers) of private https origins
    problem: str | None = None  # the settings could not be read: stored media is linked, never served

    def private_origin(self, url: str) -> tuple[str, dict[str, str]] | None:
        for prefix, headers in self.private:
            if url.startswith(prefix):
                return prefix, headers
        return None


NOTHING = TenantMedia(stores={}, private=())
_cache: dict[str, tuple[float, TenantMedia]] = {}
_lock = threading.Lock()


def env_name(tenant: str) -> str:
    return "ASSAY_MEDIA_" + re.sub(r"[^A-Z0-9]", "_", tenant.upper())


def media_dir() -> Path:
    return Path(os.environ.get("MEDIA_DIR", "/etc/assay/media"))


def tenant_media_parse(raw: Any, *, source: str) -> TenantMedia:
    """A tenant's settings checked; MediaConfigError names the source and the field."""
    if not isinstance(raw, dict):
        raise MediaConfigError(f"{source}: must be a JSON object")
    unknown = set(raw) - {"s3", "gs", "https"}
    if unknown:
        raise MediaConfigError(f"{source}: {sorted(unknown)[0]}: is not a media setting (s3, gs, https)")
    stores = {}
    for scheme in ("s3", "gs"):
        if scheme not in raw:
            continue
        item = raw[scheme]
        if not isinstance(item, dict):
            raise MediaConfigError(f"{source}: {scheme}: must be an object")
        for key in ("access_key_id", "secret_access_key"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise MediaConfigError(f"{source}: {scheme}.{key}: is required")
        default = "https://storage.googleapis.com" if scheme == "gs" else None
        stores[scheme] = Store(scheme=scheme, endpoint_url=item.get("endpoint_url", default),
                               region=item.get("region", "us-east-1" if scheme == "s3" else "auto"),
                               access_key_id=item["access_key_id"], secret_access_key=item["secret_access_key"],
                               presign=bool(item.get("presign", True)))
    private = []
    for index, item in enumerate(raw.get("https", [])):
        prefix = item.get("prefix") if isinstance(item, dict) else None
        if not isinstance(prefix, str) or not prefix.startswith(("https://", "http://")) or prefix.count("/") < 3:
            raise MediaConfigError(f"{source}: https[{index}].prefix: must be an origin and path ending in /")
        headers = item.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise MediaConfigError(f"{source}: https[{index}].headers: must map header names to strings")
        private.append((prefix, dict(headers)))
    return TenantMedia(stores=stores, private=tuple(private))


def tenant_media(tenant: str) -> TenantMedia:
    """The tenant's media settings, read at most every CONFIG_TTL_SECONDS (a rotated Secret is picked up)."""
    now = time.monotonic()
    cached = _cache.get(tenant)
    if cached is not None and now - cached[0] < CONFIG_TTL_SECONDS:
        return cached[1]
    with _lock:
        text, source = os.environ.get(env_name(tenant)), env_name(tenant)
        if text is None:
            path = media_dir() / f"{tenant}.json"
            text, source = (path.read_text(), str(path)) if path.is_file() else (None, str(path))
        try:
            settings = NOTHING if text is None else tenant_media_parse(json.loads(text), source=source)
        except (ValueError, MediaConfigError) as exc:  # a bad Secret never stops hand-outs: links, served as 503
            log.error("media settings of tenant %s refused: %s", tenant, exc)
            settings = TenantMedia(stores={}, private=(), problem=f"{source}: {exc}")
        _cache[tenant] = (now, settings)
        return settings


# -- the links --------------------------------------------------------------------------------------------------

def _signing_key() -> bytes:
    key = os.environ.get("MEDIA_SIGNING_KEY")
    if key:
        return key.encode()
    from django.conf import settings

    return hmac.new(settings.SECRET_KEY.encode(), b"assay media links", hashlib.sha256).digest()


_KEY: list[bytes] = []


def signing_key() -> bytes:
    if not _KEY:
        _KEY.append(_signing_key())
    return _KEY[0]


def holder_tag(subject: str) -> str:
    """The person a link belongs to, without naming them in it."""
    return hashlib.sha256(subject.encode()).hexdigest()[:24]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def link_sign(*, tenant: str, task_id: str, holder: str, field: str, expires: int, scope: str) -> str:
    """/api/v1/media/<token>: the tenant, task, holder (a tag of the subject), field and expiry, HMAC-signed."""
    body = _b64(json.dumps([tenant, task_id, holder, field, expires, scope], separators=(",", ":")).encode())
    signature = _b64(hmac.new(signing_key(), body.encode(), hashlib.sha256).digest())
    return f"{os.environ.get('MEDIA_BASE_URL', '').rstrip('/')}/api/v1/media/{body}.{signature}"


@dataclass(frozen=True)
class Link:
    tenant: str
    task_id: str
    holder: str
    field: str
    expires: int
    scope: str  # lease | review


def link_read(token: str) -> Link | None:
    """The link's claims if its signature holds, else None (altered, truncated, or signed with another key)."""
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(signing_key(), body.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):  # any text, not only ASCII
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return Link(*claims)
    except (ValueError, TypeError):
        return None


_clients: dict[tuple, Any] = {}


def _client(store: Store):
    key = (store.scheme, store.endpoint_url, store.region, store.access_key_id, store.secret_access_key)
    client = _clients.get(key)
    if client is None:
        import boto3
        from botocore.config import Config

        client = boto3.session.Session().client(
            "s3", endpoint_url=store.endpoint_url, region_name=store.region, aws_access_key_id=store.access_key_id,
            aws_secret_access_key=store.secret_access_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        _clients[key] = client
    return client


def store_object(store: Store, url: str) -> tuple[str, str]:
    match = _STORE_RE.match(url)
    return match.group(2), match.group(3)


def _needs_signing(value: Any, settings: TenantMedia) -> bool:
    return isinstance(value, str) and (value.startswith(("s3://", "gs://"))
                                       or (bool(settings.private) and settings.private_origin(value) is not None))


def data_signed(data: dict, *, tenant: str, task_id: str, subject: str, expires_at: float, scope: str = "lease"
                ) -> dict:
    """The task's data as the person sees it: each media reference replaced by its signed link, valid until
    `expires_at` (epoch seconds). Data without stored media is returned as it is."""
    settings = tenant_media(tenant)
    url = data.get("url")
    metadata = data.get("metadata")
    fields = ["url"] if _needs_signing(url, settings) else []
    if isinstance(metadata, dict):
        fields += [f"metadata.{key}" for key, value in metadata.items() if _needs_signing(value, settings)]
    if not fields:
        return data
    out = {**data, "metadata": dict(metadata) if isinstance(metadata, dict) else metadata}
    seconds = max(int(expires_at - time.time()), MIN_LINK_SECONDS)
    for field in fields:
        value = out["url"] if field == "url" else out["metadata"][field[len("metadata."):]]
        store = settings.stores.get(value[:2]) if value.startswith(("s3://", "gs://")) else None
        if store is not None and store.presign:
            bucket, key = store_object(store, value)
            signed = _client(store).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                           ExpiresIn=seconds)
        else:
            signed = link_sign(tenant=tenant, task_id=task_id, holder=holder_tag(subject), field=field,
                               expires=int(time.time()) + seconds, scope=scope)
        if field == "url":
            out["url"] = signed
        else:
            out["metadata"][field[len("metadata."):]] = signed
    return out


def field_value(data: dict, field: str) -> str | None:
    if field == "url":
        value = data.get("url")
    elif field.startswith("metadata.") and isinstance(data.get("metadata"), dict):
        value = data["metadata"].get(field[len("metadata."):])
    else:
        value = None
    return value if isinstance(value, str) else None
