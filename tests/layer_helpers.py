"""Test helper: install a channel layer as an alias for the duration of a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from gateway.layers import channel_layers

LayerT = TypeVar("LayerT")


@contextmanager
def installed_layer(layer: LayerT, alias: str = "default") -> Iterator[LayerT]:
    """Make ``layer`` the layer for ``alias`` inside the block, then put back what was there."""
    previous = channel_layers.set(alias, layer)
    try:
        yield layer
    finally:
        if previous is None:
            channel_layers.backends.pop(alias, None)
        else:
            channel_layers.set(alias, previous)
