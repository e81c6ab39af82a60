"""The two consumers both servers run in bench/bench_web.py, written once.

Only the import line differs between the sides, which is the point of a Channels-compatible
core: BENCH_SIDE=reference imports Django Channels (installed only in the reference venv,
bench/.venv-daphne-channels); anything else imports ours.
"""

from __future__ import annotations

import os

if os.environ.get("BENCH_SIDE") == "reference":
    from channels.generic.websocket import AsyncWebsocketConsumer
else:
    from gateway.generic.websocket import AsyncWebsocketConsumer

BROADCAST_GROUP = "bench-broadcast"


class EchoConsumer(AsyncWebsocketConsumer):
    """Send every text frame straight back."""

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


class BroadcastConsumer(AsyncWebsocketConsumer):
    """Every member's message goes to every member, through the channel layer's group."""

    groups = [BROADCAST_GROUP]

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(
            BROADCAST_GROUP, {"type": "bench.message", "text": text_data}
        )

    async def bench_message(self, event):
        await self.send(text_data=event["text"])
