"""channels_redis CONFIG keys that the two Redis layers accept: built through CHANNEL_LAYERS as a
project's settings would, no Redis needed (the layers connect on first use)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from gateway.exceptions import ConfigurationError, InvalidChannelLayerError
from gateway.layers import get_channel_layer
from gateway.layers.redis import RedisChannelLayer
from gateway.layers.redis.pubsub import RedisPubSubChannelLayer


def build(backend: str, **config: object) -> object:
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": backend, "CONFIG": config}}):
        return get_channel_layer()


def test_list_layer_applies_random_prefix_length() -> None:
    layer = build("gateway.layers.redis.RedisChannelLayer", random_prefix_length=12)
    assert isinstance(layer, RedisChannelLayer)
    payload = layer.codec.dumps({"type": "t"})
    assert len(payload) == len(RedisChannelLayer().codec.dumps({"type": "t"})) + 12
    assert layer.codec.loads(payload) == {"type": "t"}


def test_list_layer_default_adds_no_prefix() -> None:
    # channels_redis defaults to 12 for its sorted sets; our lists need none.
    assert RedisChannelLayer().codec.random_prefix_length == 0


def test_bad_random_prefix_length_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="random_prefix_length must be an int >= 0"):
        build("gateway.layers.redis.RedisChannelLayer", random_prefix_length=-1)


def test_pubsub_layer_accepts_and_ignores_what_channels_redis_pubsub_ignores() -> None:
    layer = build(
        "gateway.layers.redis.pubsub.RedisPubSubChannelLayer",
        random_prefix_length=12,
        group_expiry=10,
        expiry=30,
        capacity=5,
    )
    assert isinstance(layer, RedisPubSubChannelLayer)
    # Published payloads carry no random bytes, as channels_redis' Pub/Sub serializer.
    assert layer.codec.random_prefix_length == 0
    assert layer.serialize({"type": "t"}) == RedisPubSubChannelLayer().serialize({"type": "t"})


def test_pubsub_layer_refuses_a_misspelt_key() -> None:
    with pytest.raises(InvalidChannelLayerError, match="random_prefix_lenght"):
        build("gateway.layers.redis.pubsub.RedisPubSubChannelLayer", random_prefix_lenght=12)
