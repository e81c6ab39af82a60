"""The application the adapter subprocesses serve: the seed's ChattyBotConsumer, as written
(only its import lines changed; kept in tests/unit/seed), plus the webhook in front of Django
for webhook mode."""

# ruff: noqa: E402  (Django is set up before the imports that need it)

from __future__ import annotations

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from django.conf import settings

from adapters.telegram.webhook import mount_webhook
from gateway.routing import ProtocolTypeRouter
from tests.unit.seed.test_chatty_bot_consumer import ChattyBotConsumer

application = ProtocolTypeRouter(
    {"telegram": ChattyBotConsumer, "http": mount_webhook(django_asgi_app, settings)}
)
