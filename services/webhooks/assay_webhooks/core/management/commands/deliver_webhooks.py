"""`manage.py deliver_webhooks`: the delivery worker as a loop, for deployments without Celery beat."""
from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from assay_webhooks.core.dispatch import deliveries_drain

log = logging.getLogger("assay.webhooks.worker")


class Command(BaseCommand):
    help = "Attempt due webhook deliveries until SIGTERM/SIGINT (safe to run several at once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--idle-seconds", type=float, default=0.5, help="pause when nothing is due")

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.info("webhook delivery loop started")
        while not stop.is_set():
            try:
                close_old_connections()
                summary = deliveries_drain(budget_seconds=5.0)
                if summary.claimed == 0:
                    stop.wait(options["idle_seconds"])
            except Exception:  # noqa: BLE001 - keep delivering; the leases of this batch expire
                log.exception("delivery loop iteration failed")
                stop.wait(1.0)
