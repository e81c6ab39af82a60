"""The ASGI application every adapter serves: one ProtocolTypeRouter over every scope type."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Set Django up before importing anything that touches models.
django_asgi_app = get_asgi_application()

from gateway.routing import ProtocolTypeRouter  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
    }
)
