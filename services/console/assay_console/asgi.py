import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay_console.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from assay_console.workbench import workbench_socket  # noqa: E402


async def application(scope, receive, send):
    """Django for HTTP; the workbench's WebSocket relay for /ws/work."""
    if scope["type"] == "websocket":
        if scope.get("path") == "/ws/work":
            return await workbench_socket(scope, receive, send)
        await receive()
        return await send({"type": "websocket.close", "code": 4404})
    return await django_application(scope, receive, send)
