"""The Redis channel layer: ``BACKEND: "gateway.layers.redis.RedisChannelLayer"``."""

from __future__ import annotations

from gateway.layers.redis.core import RedisChannelLayer

__all__ = ["RedisChannelLayer"]
