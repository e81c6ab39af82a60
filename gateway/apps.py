"""Django app configs of the gateway core."""

from __future__ import annotations

from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """The gateway core: management commands runadapter and runworker live here.

    Django uses it for ``"gateway"`` in INSTALLED_APPS.
    """

    name = "gateway"
    verbose_name = "Gateway"


class ChannelsConfig(GatewayConfig):
    """The same app under Channels' config name, so that ``"channels.apps.ChannelsConfig"`` in
    INSTALLED_APPS becomes ``"gateway.apps.ChannelsConfig"`` by renaming the package only.

    ``default = False``: Django still picks :class:`GatewayConfig` for plain ``"gateway"``.
    """

    default = False
