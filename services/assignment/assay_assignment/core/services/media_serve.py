"""The media endpoint behind an HMAC-signed link (ADR 0090): checks, then the object streamed from its store."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterator

import httpx
from django.db import connection

from assay_shared.auth.tokens import Principal
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.errors import ApplicationError, ForbiddenError

from assay_assignment.core.services import media

CHUNK = 64 * 1024
UPSTREAM_TIMEOUT = httpx.Timeout(10.0, read=30.0)


@dataclass
class MediaStream:
    content_type: str
    length: int | None
    chunks: Iterator[bytes]


class LinkGone(ApplicationError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code, status_code=410)


def _refused(message: str, code: str = "media_link_invalid") -> ForbiddenError:
    return ForbiddenError(message, code=code)


def media_link_check(*, token: str, principal: Principal | None) -> tuple[media.Link, str]:
    """The link's claims and the media reference it stands for, once the signature, the expiry, the caller and the
    holder's lease on the task hold. 403: altered, or another person's or tenant's; 410: expired, or lease ended."""
    link = media.link_read(token)
    if link is None:
        raise _refused("this media link is not valid: it was altered or is not one of Assay's")
    if link.expires < time.time():
        raise LinkGone("this media link expired; ask for the task again for a fresh one", "media_link_expired")
    if principal is not None and (principal.tenant != link.tenant or media.holder_tag(principal.subject) != link.holder):
        raise _refused("this media link belongs to another person's task", "media_link_not_yours")
    with tenant_atomic(tenant=link.tenant), connection.cursor() as cursor:
        if link.scope == "lease":
            cursor.execute("SELECT t.data, a.annotator FROM assignment_task t JOIN assignment_assignment a"
                           " ON a.task_id = t.id AND a.state = 'leased' AND a.expires_at > now() WHERE t.id = %s",
                           [link.task_id])
            rows = [(data, annotator) for data, annotator in cursor.fetchall()
                    if media.holder_tag(annotator) == link.holder]
        else:
            cursor.execute("SELECT data, NULL FROM assignment_task WHERE id = %s", [link.task_id])
            rows = cursor.fetchall()
    if not rows:
        raise LinkGone("the lease on this task ended, and its media links with it", "lease_ended")
    data = rows[0][0] if isinstance(rows[0][0], dict) else json.loads(rows[0][0])
    reference = media.field_value(data, link.field)
    if reference is None:
        raise LinkGone("the task no longer has this media", "media_gone")
    return link, reference


def media_open(*, token: str, principal: Principal | None) -> MediaStream:
    """The linked object, streamed from its store with the tenant's credentials."""
    link, reference = media_link_check(token=token, principal=principal)
    settings = media.tenant_media(link.tenant)
    if reference.startswith(("s3://", "gs://")):
        store = settings.stores.get(reference[:2])
        if store is None:
            reason = f" (its media settings were refused: {settings.problem})" if settings.problem else ""
            raise ApplicationError(f"no {reference[:2]} store is configured for this tenant's media{reason}",
                                   code="media_store_not_configured", status_code=503)
        bucket, key = media.store_object(store, reference)
        try:
            found = media._client(store).get_object(Bucket=bucket, Key=key)
        except Exception as exc:  # noqa: BLE001 - botocore's errors; answered 502 naming the store's reason
            raise ApplicationError(f"the store did not give the object: {exc}", code="media_unavailable",
                                   status_code=502) from None
        return MediaStream(content_type=found.get("ContentType") or "application/octet-stream",
                           length=found.get("ContentLength"), chunks=found["Body"].iter_chunks(CHUNK))
    origin = settings.private_origin(reference)
    headers = origin[1] if origin else {}
    client = httpx.Client(timeout=UPSTREAM_TIMEOUT, follow_redirects=False)
    try:
        response = client.send(client.build_request("GET", reference, headers=headers), stream=True)
    except httpx.HTTPError as exc:
        client.close()
        raise ApplicationError(f"the media origin did not answer: {exc.__class__.__name__}", code="media_unavailable",
                               status_code=502) from None
    if response.status_code != 200:
        response.close()
        client.close()
        raise ApplicationError(f"the media origin answered {response.status_code}", code="media_unavailable",
                               status_code=502)

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.iter_raw(CHUNK)
        finally:
            response.close()
            client.close()

    length = response.headers.get("content-length")
    return MediaStream(content_type=response.headers.get("content-type", "application/octet-stream"),
                       length=int(length) if length and length.isdigit() else None, chunks=chunks())
