"""Exports of final labels: which rows, checked before the first byte, then streamed from a server-side cursor.

The rows are read in task order in chunks by a named cursor inside a transaction of their own (the request's has
ended when a streamed body is sent), with the tenant set as everywhere else. Under ASGI the chunks are produced on
one thread of the export's own (a transaction cannot move between threads, and must not sit on the thread other
requests share), handed to the event loop one at a time: memory stays flat whatever the size (ADR 0073).
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Iterator
from uuid import UUID

from django.core import signing
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connection
from django.db.models import OuterRef, Subquery
from django.http import StreamingHttpResponse

from assay_shared.db.tenancy import require_tenant, tenant_atomic
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError

from assay_review import formats, formats_images
from assay_review.core.models import BatchInspection, FinalLabel, Prediction, ProjectSettings, Submission
from assay_review.core.services.projects import project_labels_all

FORMATS = formats.FORMATS
LINK_TTL = timedelta(days=7)
_SALT = "assay.review.export"
_FIELDS = ("task_id", "batch_id", "answer", "answer_type", "source", "method", "confidence", "agreement", "revision",
           "annotators", "reviewer", "review_id", "schema_version", "version")
_CURSOR_CHUNK = 2000
_MISSING_SHOWN = 20


def _accepted_batches(project_id: UUID) -> list[str]:
    """Batches whose latest inspection accepted them."""
    latest: dict[str, str] = {}
    for batch_id, status in (BatchInspection.objects.filter(project_id=project_id).exclude(status=BatchInspection.OPEN)
                             .order_by("batch_id", "decided_at").values_list("batch_id", "status")):
        latest[batch_id] = status
    return sorted(b for b, s in latest.items() if s == BatchInspection.ACCEPTED)


def _answer_type(project_id: UUID) -> str | None:
    known = ProjectSettings.objects.filter(project_id=project_id).values_list("answer_type", flat=True).first()
    return known or FinalLabel.objects.filter(project_id=project_id).exclude(answer_type=None).values_list(
        "answer_type", flat=True).first()


def export_plan(*, project_id: UUID, format: str, include_unaccepted: bool, batch_id: str | None = None) -> dict[str, Any]:
    """Check what is asked before anything is sent: 404 for an unknown batch, 409 for one not accepted (unless
    asked), 400 for a format that cannot carry the project's answer type. Returns what the rows are read by."""
    if batch_id is not None and not (FinalLabel.objects.filter(project_id=project_id, batch_id=batch_id).exists()
                                     or Submission.objects.filter(project_id=project_id, batch_id=batch_id).exists()):
        raise NotFoundError(f"batch {batch_id} of project {project_id} is unknown", fields={"batch_id": ["unknown batch"]})
    answer_type = _answer_type(project_id)
    fits = FORMATS[format]
    if fits is not None and answer_type is not None and answer_type not in fits:
        raise ApplicationError(f"{format} carries {', '.join(fits)}, not {answer_type}", code="validation_error",
                               fields={"format": [f"does not fit the answer type {answer_type}"]})
    batches = None
    if not include_unaccepted:
        accepted = _accepted_batches(project_id)
        if batch_id is not None and batch_id not in accepted:
            raise ConflictError(f"batch {batch_id} is not accepted: ask with include_unaccepted=true",
                                fields={"batch_id": ["not accepted"]})
        batches = [batch_id] if batch_id is not None else accepted
    elif batch_id is not None:
        batches = [batch_id]
    labels = project_labels_all(project_id=project_id)  # every version's: old work keeps its labels (ADR 0069)
    plan = {"tenant": require_tenant(), "project_id": project_id, "batches": batches, "format": format,
            "answer_type": answer_type, "labels": labels,
            "images": format == "yolo" or answer_type in formats.NEEDS_IMAGE_SIZE.get(format, ())}
    if plan["images"]:
        _require_image_sizes(plan)
    return plan


def _image_of_task():
    """The image size review knows for a task: the latest prediction's `image` that has one (ADR 0089)."""
    return Subquery(Prediction.objects.filter(task_id=OuterRef("task_id")).filter(image__has_key="width")
                    .order_by("-updated_at").values("image")[:1])


def _scoped(plan: dict[str, Any]):
    rows = FinalLabel.objects.filter(project_id=plan["project_id"]).exclude(answer=None)
    if plan["batches"] is not None:
        rows = rows.filter(batch_id__in=plan["batches"])
    return rows


def _require_image_sizes(plan: dict[str, Any]) -> None:
    """409 naming the tasks whose image width and height review does not know: never a guessed size."""
    missing = _scoped(plan).annotate(image=_image_of_task()).filter(image__isnull=True)
    count = missing.count()
    if count:
        shown = [str(t) for t in missing.order_by("task_id").values_list("task_id", flat=True)[:_MISSING_SHOWN]]
        more = f" and {count - len(shown)} more" if count > len(shown) else ""
        raise ConflictError(
            f"{plan['format']} places objects relative to the image: {count} task(s) have no image width and height "
            f"(send them with a prediction's `image`)", fields={"task_id": [f"no image size: {', '.join(shown)}{more}"]})


def _rows(plan: dict[str, Any]) -> Iterator[dict]:
    """The plan's final labels in task order, read by a named cursor in chunks (call inside tenant_atomic)."""
    rows, fields = _scoped(plan), _FIELDS
    if plan.get("images"):
        rows, fields = rows.annotate(image=_image_of_task()), _FIELDS + ("image",)
    for values in rows.order_by("task_id").values_list(*fields).iterator(chunk_size=_CURSOR_CHUNK):
        yield dict(zip(fields, values))


def _coco_labels(plan: dict[str, Any]) -> list[str]:
    if plan["labels"]:
        return plan["labels"]
    found: set[str] = set()
    for row in _rows(plan):
        for obj in (row["answer"] or {}).get("objects", []):
            if isinstance(obj, dict) and isinstance(obj.get("label"), str):
                found.add(obj["label"])
    return sorted(found)


def export_chunks(plan: dict[str, Any]) -> Iterator[str | bytes]:
    """The export's text, chunk by chunk, read in a transaction of its own for the plan's tenant."""
    with tenant_atomic(tenant=plan["tenant"]):
        kind = plan["format"]
        if kind == "jsonl":
            yield from formats.jsonl(_rows(plan))
        elif kind == "csv":
            yield from formats.csv_rows(_rows(plan))
        elif kind == "yolo":
            yield from formats_images.yolo(_rows(plan), labels=_coco_labels(plan), answer_type=plan["answer_type"])
        elif kind == "labelstudio" and plan["images"]:
            yield from formats_images.labelstudio_images(_rows(plan), answer_type=plan["answer_type"])
        elif kind == "labelstudio":
            yield from formats.labelstudio(_rows(plan))
        else:
            yield from formats.coco(lambda: _rows(plan), labels=_coco_labels(plan),
                                    answer_type=plan["answer_type"] or "bbox")


def _threaded(plan: dict[str, Any]):
    """Async chunks produced on one thread of the export's own, which closes its connection at the end."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")
    chunks = export_chunks(plan)

    def step() -> str | bytes | None:
        try:
            return next(chunks)
        except StopIteration:
            connection.close()
            return None

    async def produce():
        loop = asyncio.get_running_loop()
        try:
            while (chunk := await loop.run_in_executor(executor, step)) is not None:
                yield chunk if isinstance(chunk, bytes) else chunk.encode()
        finally:
            await loop.run_in_executor(executor, lambda: (chunks.close(), close_old_connections(), connection.close()))
            executor.shutdown(wait=False)

    return produce()


def _filename(plan: dict[str, Any]) -> str:
    scope = plan["batches"][0] if plan["batches"] and len(plan["batches"]) == 1 else str(plan["project_id"])
    extension = {"jsonl": "jsonl", "csv": "csv", "yolo": "zip"}.get(plan["format"], "json")
    return f"assay-{plan['format']}-{scope}.{extension}".replace("/", "_").replace('"', "")


def export_stream(plan: dict[str, Any], *, request) -> StreamingHttpResponse:
    raw = getattr(request, "_request", request)
    content = _threaded(plan) if isinstance(raw, ASGIRequest) else export_chunks(plan)
    response = StreamingHttpResponse(content, content_type=formats.CONTENT_TYPES[plan["format"]])
    response["Content-Disposition"] = f'attachment; filename="{_filename(plan)}"'
    return response


def export_link_token(*, tenant: str, project_id: UUID, batch_id: str, format: str = "jsonl") -> str:
    """A signed token naming one accepted batch's export; valid for LINK_TTL from now."""
    return signing.dumps({"t": tenant, "p": str(project_id), "b": batch_id, "f": format}, salt=_SALT, compress=True)


def export_link_plan(*, token: str) -> dict[str, Any]:
    """The plan a signed link names (400 naming `token` when it is missing, forged or expired)."""
    try:
        claims = signing.loads(token, salt=_SALT, max_age=LINK_TTL)
    except signing.SignatureExpired:
        raise ApplicationError("the link has expired", code="validation_error", fields={"token": ["expired"]}) from None
    except signing.BadSignature:
        raise ApplicationError("the link is not valid", code="validation_error",
                               fields={"token": ["missing, malformed or not signed by this service"]}) from None
    with tenant_atomic(tenant=claims["t"]):
        return export_plan(project_id=UUID(claims["p"]), batch_id=claims["b"], format=claims["f"],
                           include_unaccepted=False)
