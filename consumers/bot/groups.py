"""Channel-layer group names and event types the bot uses between its parts."""

from __future__ import annotations

import hashlib

#: Event types the bot sends to a conversation's channel.
NOTICE = "bot.notice"
REPORT = "bot.report"
DEVICE_COMMAND = "device.command"


def identity_group(protocol: str, address: str) -> str:
    """The group every open conversation of one identity is in (alerts, reports, links)."""
    digest = hashlib.sha256(f"{protocol}\0{address}".encode()).hexdigest()[:24]
    return f"ident.{digest}"


def device_group(device_id: str) -> str:
    """The group the device's MQTT consumer is in: /set sends it ``device.command``."""
    digest = hashlib.sha256(device_id.encode()).hexdigest()[:24]
    return f"device.{digest}"
