"""ASGI entry point: HTTP through Django, websockets through Channels at ``/ws/``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")
django_asgi_app = get_asgi_application()  # sets Django up before consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from tradehive.body_limit import BodyLimitASGIMiddleware  # noqa: E402
from tradehive.gc_tune import web_process_gc_tune  # noqa: E402
from tradehive.middleware import WebsocketNulRefusal  # noqa: E402
from tradehive.routing import websocket_urlpatterns  # noqa: E402

# Oversized bodies are refused before Django (or the static handler) reads them.
http_app = BodyLimitASGIMiddleware(
    ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app
)


class BrowserOriginValidator(OriginValidator):
    """``ALLOWED_HOSTS`` origins only, like channels' AllowedHostsOriginValidator, for pages in
    a browser (which always sends ``Origin``); clients with no ``Origin`` at all (bots, using a
    JWT) are let in: they carry no ambient cookie that a foreign page could ride on."""

    def __init__(self, application):
        hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG and not hosts:
            hosts = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, hosts)

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or super().valid_origin(parsed_origin)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": WebsocketNulRefusal(
            BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
web_process_gc_tune()
