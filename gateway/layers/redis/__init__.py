"""The Redis channel layers: ``BACKEND: "gateway.layers.redis.RedisChannelLayer"`` (lists and
Lua scripts) or ``"gateway.layers.redis.pubsub.RedisPubSubChannelLayer"`` (Pub/Sub only)."""

from __future__ import annotations

from gateway.layers.redis.core import RedisChannelLayer
from gateway.layers.redis.pubsub import RedisPubSubChannelLayer

__all__ = ["RedisChannelLayer", "RedisPubSubChannelLayer"]
