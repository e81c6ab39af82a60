"""The benchmark application: the same routes for both sides (see consumers.py).

No Origin check or session middleware on either side: the benchmark measures the protocol
server, the consumer machinery and the channel layer.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.web_reference.settings")
django.setup()

from django.urls import path  # noqa: E402

from bench.web_reference.consumers import BroadcastConsumer, EchoConsumer  # noqa: E402

if os.environ.get("BENCH_SIDE") == "reference":
    from channels.routing import ProtocolTypeRouter, URLRouter
else:
    from gateway.routing import ProtocolTypeRouter, URLRouter

application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [
                path("echo/", EchoConsumer.as_asgi()),
                path("broadcast/", BroadcastConsumer.as_asgi()),
            ]
        )
    }
)
