"""The ASGI application every adapter serves: one ProtocolTypeRouter over every scope type."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Set Django up before importing anything that touches models.
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

from adapters.telegram.webhook import mount_webhook  # noqa: E402
from consumers.routing import (  # noqa: E402
    ax25_callsign_routes,
    mqtt_topic_routes,
    telegram_application,
    websocket_urlpatterns,
)
from consumers.watch_worker import WatchWorker  # noqa: E402
from gateway.auth import AuthMiddlewareStack  # noqa: E402
from gateway.mqtt.routing import TopicRouter  # noqa: E402
from gateway.routing import (  # noqa: E402
    CallsignRouter,
    ChannelNameRouter,
    ProtocolTypeRouter,
    URLRouter,
)
from gateway.security.websocket import AllowedHostsOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        # In TELEGRAM_MODE=webhook the webhook path is served in front of Django.
        "http": mount_webhook(django_asgi_app, settings),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
        "mqtt": TopicRouter(mqtt_topic_routes),
        "ax25": CallsignRouter(ax25_callsign_routes()),
        "telegram": telegram_application,
        # Background consumers (runworker, or the Celery worker's channel step).
        "channel": ChannelNameRouter(
            {settings.BOT_WATCH_CHANNEL or "bot-watch": WatchWorker.as_asgi()}
        ),
    }
)
