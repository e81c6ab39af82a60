"""CHANNEL_LAYERS settings -> channel layer instances, cached per alias (Channels' manager).

Settings, as in Channels::

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "gateway.layers.InMemoryChannelLayer",   # dotted path of the class
            "CONFIG": {"capacity": 100},                       # keyword arguments
            "TEST_CONFIG": {"expiry": 1},                      # used by make_test_backend()
        },
    }

The cache is dropped when ``CHANNEL_LAYERS`` changes (Django's ``setting_changed`` signal, sent
by ``override_settings``), so tests can swap layers.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from gateway import DEFAULT_CHANNEL_LAYER
from gateway.exceptions import InvalidChannelLayerError
from gateway.layers.base import BaseChannelLayer

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CHANNEL_LAYER", "ChannelLayerManager", "channel_layers", "get_channel_layer"]


class ChannelLayerManager:
    """Builds the layers named in ``settings.CHANNEL_LAYERS`` on first use, one per alias."""

    def __init__(self) -> None:
        self.backends: dict[str, BaseChannelLayer] = {}
        setting_changed.connect(self._reset_backends)

    def _reset_backends(self, setting: str, **kwargs: Any) -> None:
        if setting == "CHANNEL_LAYERS":
            self.backends = {}

    @property
    def configs(self) -> dict[str, Any]:
        """The ``CHANNEL_LAYERS`` setting (an empty dict when it is missing or empty)."""
        return getattr(settings, "CHANNEL_LAYERS", None) or {}

    def make_backend(self, name: str) -> BaseChannelLayer:
        """Build the layer of alias ``name`` from its BACKEND and CONFIG."""
        return self._make_backend(name, self.configs[name].get("CONFIG", {}))

    def make_test_backend(self, name: str) -> BaseChannelLayer:
        """Build the layer of alias ``name`` from its BACKEND and TEST_CONFIG."""
        try:
            config = self.configs[name]["TEST_CONFIG"]
        except KeyError:
            raise InvalidChannelLayerError(
                f"CHANNEL_LAYERS[{name!r}] has no TEST_CONFIG: add one to build a test layer"
            ) from None
        return self._make_backend(name, config)

    def _make_backend(self, name: str, config: dict[str, Any]) -> BaseChannelLayer:
        entry = self.configs[name]
        if "ROUTING" in entry:
            raise InvalidChannelLayerError(
                f"CHANNEL_LAYERS[{name!r}] has a ROUTING key: remove it, routing is set by "
                "ASGI_APPLICATION"
            )
        path = entry.get("BACKEND")
        if not path:
            raise InvalidChannelLayerError(
                f"CHANNEL_LAYERS[{name!r}] has no BACKEND: set it to a dotted class path such as "
                "'gateway.layers.InMemoryChannelLayer'"
            )
        try:
            backend_class = import_string(path)
        except ImportError as exc:
            raise InvalidChannelLayerError(
                f"cannot import BACKEND {path!r} of CHANNEL_LAYERS[{name!r}] ({exc}): check the "
                "dotted path, e.g. 'gateway.layers.redis.RedisChannelLayer'"
            ) from exc
        if not isinstance(config, dict):
            raise InvalidChannelLayerError(
                f"CONFIG of CHANNEL_LAYERS[{name!r}] must be a dict of keyword arguments, "
                f"got {type(config).__name__}"
            )
        try:
            layer: BaseChannelLayer = backend_class(**config)
        except TypeError as exc:
            raise InvalidChannelLayerError(
                f"CONFIG of CHANNEL_LAYERS[{name!r}] does not fit {path} ({exc}): "
                "remove or rename that key"
            ) from exc
        return layer

    def __getitem__(self, key: str) -> BaseChannelLayer:
        if key not in self.backends:
            self.backends[key] = self.make_backend(key)
        return self.backends[key]

    def __contains__(self, key: object) -> bool:
        return key in self.configs

    def set(self, key: str, layer: BaseChannelLayer) -> BaseChannelLayer | None:
        """Install ``layer`` for alias ``key`` (tests); return the layer it replaces, if any."""
        old = self.backends.get(key)
        self.backends[key] = layer
        return old


channel_layers = ChannelLayerManager()


def get_channel_layer(alias: str = DEFAULT_CHANNEL_LAYER) -> BaseChannelLayer | None:
    """Return the channel layer of ``alias``, or None when CHANNEL_LAYERS does not configure it.

    Raises:
        InvalidChannelLayerError: the alias is configured but its BACKEND/CONFIG are unusable.
    """
    if alias not in channel_layers:
        return None
    return channel_layers[alias]
