"""ASGI entry point: the annotators' hot endpoints (hotpath/fastpath.py), streamed imports as their body arrives
(core/streaming.py), the rest of HTTP to Django, and
WebSocket /ws/work to the annotators' work consumer."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay_assignment.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from assay_assignment.core.consumers import WorkConsumer  # noqa: E402
from assay_assignment.core.streaming import StreamedImports  # noqa: E402
from assay_assignment.hotpath.fastpath import FastPath  # noqa: E402

application = ProtocolTypeRouter({
    "http": FastPath(StreamedImports(django_application)),
    "websocket": URLRouter([path("ws/work", WorkConsumer.as_asgi())]),
})
