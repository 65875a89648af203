"""Several reviewers claiming at once never get the same item (real transactions, one connection per reviewer)."""
import threading
import uuid

import pytest
from django.db import connection

from assay_shared.db.tenancy import tenant_atomic
from tests.events import submitted

from assay_review.core.models import SamplingPolicy
from assay_review.core.services import review_item_claim, review_item_decide

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_claims_are_disjoint(deliver):
    # given 24 queued items
    project = str(uuid.uuid4())
    with tenant_atomic(tenant="acme"):
        SamplingPolicy.objects.create(tenant_id="acme", project_id=project, base_rate=1.0, updated_by="owner")
    for _ in range(24):
        deliver(submitted(project_id=project))
    claimed: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def reviewer(name: str) -> None:
        mine = claimed.setdefault(name, [])
        try:
            barrier.wait()
            while True:
                with tenant_atomic(tenant="acme"):
                    item = review_item_claim(reviewer=name)
                    if item is None:
                        return
                    mine.append(str(item.id))
                    review_item_decide(review_id=item.id, reviewer=name, verdict="accepted")
        finally:
            connection.close()

    # when four reviewers drain the queue at the same time
    threads = [threading.Thread(target=reviewer, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # then every item was claimed by exactly one of them
    every = [i for items in claimed.values() for i in items]
    assert len(every) == 24 and len(set(every)) == 24
