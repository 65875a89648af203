"""Small query helpers shared by the services' selectors."""
from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet

Q = TypeVar("Q", bound=QuerySet)


def filter_given(rows: Q, **filters: Any) -> Q:
    """`rows` filtered by every keyword whose value is not None (optional API filters)."""
    given = {field: value for field, value in filters.items() if value is not None}
    return rows.filter(**given) if given else rows
