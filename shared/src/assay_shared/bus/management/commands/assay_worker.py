"""`manage.py assay_worker`: the outbox relay and the event consumer of this service."""
from __future__ import annotations

import logging
import os
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from prometheus_client import start_http_server

from assay_shared.bus.consumer import EventConsumer, EventProcessor
from assay_shared.bus.lag import LagTracker, lag_report_loop
from assay_shared.bus.registry import registry_from_settings
from assay_shared.bus.relay import OutboxRelay
from assay_shared.bus.transport import topology_from_settings

log = logging.getLogger("assay.worker")


class Command(BaseCommand):
    help = "Run this service's outbox relay and event consumer until SIGTERM/SIGINT."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-relay", action="store_true", help="do not publish the outbox")
        parser.add_argument("--no-consume", action="store_true", help="do not consume events")
        parser.add_argument("--consumers", type=int, default=int(os.environ.get("ASSAY_CONSUMERS", "1")),
                            help="consumer threads (default ASSAY_CONSUMERS or 1); the inbox keeps them idempotent")

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        if settings.ASSAY_METRICS_PORT:
            start_http_server(settings.ASSAY_METRICS_PORT)
        topology = topology_from_settings()
        threads = []
        if not options["no_relay"]:
            relay = OutboxRelay(topology=topology)
            threads.append(threading.Thread(
                target=relay.run, name="relay", daemon=True,
                kwargs={"stop": stop, "poll_seconds": settings.ASSAY_OUTBOX_POLL_SECONDS,
                        "listen": settings.ASSAY_OUTBOX_NOTIFY},
            ))
        if not options["no_consume"] and settings.ASSAY_EVENT_HANDLERS:
            processor = EventProcessor(registry=registry_from_settings(), service=settings.ASSAY_SERVICE)
            routing_keys = processor.registry.routing_keys()
            topology.declare(service=settings.ASSAY_SERVICE, routing_keys=routing_keys)
            tracker = LagTracker()
            for index in range(max(1, options["consumers"])):
                consumer = EventConsumer(processor=processor, topology=topology, lag=tracker,
                                         batch_max=settings.ASSAY_CONSUMER_BATCH,
                                         batch_window=settings.ASSAY_CONSUMER_BATCH_SECONDS)
                threads.append(threading.Thread(target=consumer.run_until, args=(stop,), name=f"consumer-{index}",
                                                daemon=True))
            threads.append(threading.Thread(
                target=lag_report_loop, name="lag", daemon=True,
                kwargs={"tracker": tracker, "topology": topology, "service": settings.ASSAY_SERVICE,
                        "routing_keys": routing_keys, "redis_url": settings.ASSAY_REDIS_URL, "stop": stop},
            ))
        for thread in threads:
            thread.start()
        log.info("worker started: %s", ", ".join(t.name for t in threads) or "nothing to do")
        while not stop.wait(0.5):
            if not all(t.is_alive() for t in threads):
                log.error("a worker thread died; stopping")
                stop.set()
        for thread in threads:
            thread.join(timeout=10)
