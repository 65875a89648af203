"""`manage.py assay_dead_letters list|replay`: this service's dead-letter queue."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from assay_shared.bus.dead_letters import dead_letters_list, dead_letters_replay
from assay_shared.bus.transport import topology_from_settings


class Command(BaseCommand):
    help = "List this service's dead letters with their reasons, or replay them to the events exchange."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["list", "replay"])
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, action: str, limit: int, **options) -> None:
        topology, service = topology_from_settings(), settings.ASSAY_SERVICE
        if action == "replay":
            count = dead_letters_replay(topology=topology, service=service, limit=limit)
            self.stdout.write(f"replayed {count} dead letters of {service}")
            return
        letters = dead_letters_list(topology=topology, service=service, limit=limit)
        for letter in letters:
            self.stdout.write(f"{letter.routing_key or '-'}\t{letter.reason}\t{letter.body[:200]}")
        self.stdout.write(f"{len(letters)} dead letters of {service}")
