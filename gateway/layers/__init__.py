"""Channel layers: send messages between consumers, processes and machines (Channels' API).

``from gateway.layers import get_channel_layer`` works as ``channels.layers`` does. Backends:
:class:`InMemoryChannelLayer` (one process) and ``gateway.layers.redis.RedisChannelLayer``.
"""

from __future__ import annotations

from gateway.layers.base import BaseChannelLayer
from gateway.layers.inmemory import InMemoryChannelLayer
from gateway.layers.manager import (
    DEFAULT_CHANNEL_LAYER,
    ChannelLayerManager,
    channel_layers,
    get_channel_layer,
)

__all__ = [
    "DEFAULT_CHANNEL_LAYER",
    "BaseChannelLayer",
    "ChannelLayerManager",
    "InMemoryChannelLayer",
    "channel_layers",
    "get_channel_layer",
]
