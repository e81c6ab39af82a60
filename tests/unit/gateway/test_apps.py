"""Channels' app config name (channels.apps.ChannelsConfig) works as gateway.apps.ChannelsConfig."""

from __future__ import annotations

from django.apps import AppConfig, apps

from gateway.apps import ChannelsConfig, GatewayConfig


def test_plain_gateway_entry_uses_gateway_config() -> None:
    assert type(AppConfig.create("gateway")) is GatewayConfig
    assert type(apps.get_app_config("gateway")) is GatewayConfig


def test_channels_config_name_installs_the_same_app() -> None:
    config = AppConfig.create("gateway.apps.ChannelsConfig")
    assert isinstance(config, ChannelsConfig)
    assert isinstance(config, GatewayConfig)
    assert (config.name, config.label) == ("gateway", "gateway")
