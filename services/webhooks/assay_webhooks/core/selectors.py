"""Reads of the webhooks service (row-level security scopes them to the caller's tenant)."""
from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from assay_shared.db.query import filter_given
from assay_shared.errors import NotFoundError

from assay_webhooks.core.models import Attempt, Delivery, Endpoint


def endpoint_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(archived_at__isnull=True).order_by("created_at", "id")


def endpoint_get(*, endpoint_id: uuid.UUID) -> Endpoint:
    endpoint = Endpoint.objects.filter(id=endpoint_id, archived_at__isnull=True).first()
    if endpoint is None:
        raise NotFoundError(f"endpoint {endpoint_id} does not exist")
    return endpoint


def _with_attempts(rows: QuerySet[Delivery]) -> QuerySet[Delivery]:
    return rows.prefetch_related(Prefetch("attempts", queryset=Attempt.objects.order_by("number")))


def delivery_list(*, status: str | None = None, event_type: str | None = None,
                  endpoint_id: uuid.UUID | None = None, since: datetime | None = None) -> QuerySet[Delivery]:
    """Deliveries, newest first, with their attempts."""
    rows = Delivery.objects.order_by("-created_at", "-id")
    rows = filter_given(rows, status=status, event_type=event_type, endpoint_id=endpoint_id)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    return _with_attempts(rows)


def delivery_get(*, delivery_id: uuid.UUID) -> Delivery:
    delivery = _with_attempts(Delivery.objects.filter(id=delivery_id)).first()
    if delivery is None:
        raise NotFoundError(f"delivery {delivery_id} does not exist")
    return delivery
