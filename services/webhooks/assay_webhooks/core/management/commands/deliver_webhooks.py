"""`manage.py deliver_webhooks`: the delivery process (ADR 0065); any number may run at once."""
from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from django.core.management.base import BaseCommand

from assay_webhooks.core.loop import DeliveryLoop, loop_settings

log = logging.getLogger("assay.webhooks.loop")


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Command(BaseCommand):
    help = "Deliver due webhooks until SIGTERM/SIGINT (settings WEBHOOKS_*; the options override them)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--concurrency", type=int, help="requests in flight (WEBHOOKS_CONCURRENCY)")
        parser.add_argument("--endpoint-concurrency", type=int,
                            help="requests in flight to one endpoint (WEBHOOKS_ENDPOINT_CONCURRENCY)")
        parser.add_argument("--batch", type=int, help="deliveries claimed per statement (WEBHOOKS_BATCH_SIZE)")
        parser.add_argument("--poll-ms", type=int, help="pause between claims while nothing is due (WEBHOOKS_POLL_MS)")
        parser.add_argument("--heartbeat", type=Path, help="a file touched at least every 5 s while the loop runs")

    def handle(self, *args, **options) -> None:
        poll = options["poll_ms"]
        settings = loop_settings(total=options["concurrency"], per_endpoint=options["endpoint_concurrency"],
                                 batch=options["batch"], poll_seconds=poll / 1000 if poll else None,
                                 heartbeat=options["heartbeat"])
        with asyncio.Runner(loop_factory=_event_loop) as runner:
            summary = runner.run(self._run(settings))
        log.info("webhook delivery loop stopped: claimed %d, %s", summary.claimed, summary.outcomes)

    async def _run(self, settings):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("webhook delivery loop started: %d in flight, %d per endpoint", settings.total,
                 settings.per_endpoint)
        return await DeliveryLoop(settings=settings).run(stop=stop)
