"""CHANNEL_LAYERS -> layers: aliases, caching, reset on setting_changed, broken backends."""

from __future__ import annotations

import pytest
from django.test import override_settings

from gateway.exceptions import ConfigurationError, InvalidChannelLayerError
from gateway.layers import InMemoryChannelLayer, channel_layers, get_channel_layer

INMEMORY = "gateway.layers.InMemoryChannelLayer"


def test_layer_is_cached_per_alias_and_rebuilt_when_settings_change() -> None:
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": INMEMORY}}):
        first = get_channel_layer()
        assert isinstance(first, InMemoryChannelLayer)
        assert get_channel_layer() is first
    with override_settings(
        CHANNEL_LAYERS={"default": {"BACKEND": INMEMORY, "CONFIG": {"capacity": 3}}}
    ):
        second = get_channel_layer()
        assert second is not first
        assert second.capacity == 3


@override_settings(CHANNEL_LAYERS={})
def test_missing_alias_or_empty_setting_gives_none() -> None:
    assert get_channel_layer() is None
    assert get_channel_layer("other") is None


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": INMEMORY}})
def test_unknown_alias_gives_none() -> None:
    assert get_channel_layer("nope") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({}, "has no BACKEND"),
        ({"BACKEND": "gateway.layers.NoSuchLayer"}, "cannot import BACKEND"),
        ({"BACKEND": INMEMORY, "CONFIG": {"bogus": 1}}, "does not fit"),
        ({"BACKEND": INMEMORY, "CONFIG": ["capacity"]}, "must be a dict"),
        ({"BACKEND": INMEMORY, "ROUTING": "x.y"}, "ROUTING"),
    ],
)
def test_broken_backend_says_what_to_fix(entry: dict, message: str) -> None:
    with (
        override_settings(CHANNEL_LAYERS={"default": entry}),
        pytest.raises(InvalidChannelLayerError, match=message) as info,
    ):
        get_channel_layer()
    assert isinstance(info.value, ConfigurationError)


def test_test_config_builds_a_test_layer() -> None:
    layers = {"default": {"BACKEND": INMEMORY, "TEST_CONFIG": {"expiry": 2}}}
    with override_settings(CHANNEL_LAYERS=layers):
        layer = channel_layers.make_test_backend("default")
        assert layer.expiry == 2
    with (
        override_settings(CHANNEL_LAYERS={"default": {"BACKEND": INMEMORY}}),
        pytest.raises(InvalidChannelLayerError, match="no TEST_CONFIG"),
    ):
        channel_layers.make_test_backend("default")


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": INMEMORY}})
def test_set_installs_a_layer_and_returns_the_old_one() -> None:
    old = get_channel_layer()
    mine = InMemoryChannelLayer()
    assert channel_layers.set("default", mine) is old
    assert get_channel_layer() is mine
