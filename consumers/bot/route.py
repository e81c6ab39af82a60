"""Which way the bot sends what it has for one person: the adapter's reach channel, or the
channel layer's group or channel of the open conversation.

A conversation the adapter can reach without a scope (``scope["reach"]``, gateway/reach.py)
stores its address on the identity (``Identity.reach``, ``reach_until``). What the bot has for
that identity -- a room message, an alert (``bot.notice``), a report (``bot.report``) -- goes
to the reach channel *instead of* the open scope, so it arrives once whether the scope is open,
closed, or the adapter restarted in between. Without a good address (web, MQTT, connected
packet, an APRS station not heard for an hour) alerts go to the identity's group and reports
to the asking consumer's channel, which reach open conversations only.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from consumers.bot.groups import NOTICE, identity_group
from consumers.bot.store import Alert
from consumers.bot.text import aprs_clean
from gateway.exceptions import ChannelFull
from gateway.reach import is_good, reach_message

logger = logging.getLogger(__name__)

#: The AX.25 adapter's reach message type (docs/specs/ax25.md): APRS text, no pictures.
APRS_REACH = "aprs.message"


class Sender(Protocol):
    """The channel-layer calls routing makes."""

    async def send(self, channel: str, message: dict[str, Any]) -> None: ...
    async def group_send(self, group: str, message: dict[str, Any]) -> None: ...


def reach_text(reach: dict[str, Any], text: str) -> str:
    """``text`` as the adapter at ``reach`` should get it. APRS: one line (a report's lines
    joined with "; ") cleaned with :func:`~consumers.bot.text.aprs_clean`; the station cuts it
    into messages of 67 characters. Others: unchanged."""
    if reach.get("type") != APRS_REACH:
        return text
    return aprs_clean("; ".join(line.strip() for line in text.splitlines() if line.strip()))


async def send_to_reach(
    layer: Sender, reach: dict[str, Any], text: str, *, photo: bytes | None = None
) -> None:
    """Send ``text`` (and ``photo``, a PNG, where the protocol shows pictures) to the
    conversation at ``reach`` through its adapter's reach channel.

    A full reach channel (no adapter has taken its messages for a while) drops the message
    with a WARNING: the caller (a room post, the watch process) must go on."""
    if reach.get("type") == APRS_REACH:
        photo = None  # minutes of airtime at 1200 baud; the adapter would drop it anyway
    message = reach_message(reach, reach_text(reach, text), photo=photo)
    channel = str(reach["channel"])
    try:
        await layer.send(channel, message)
    except ChannelFull:
        logger.warning(
            "reach channel %s is full, message to %r dropped: is the adapter that serves it "
            "running (runadapter telegram / ax25)?",
            channel,
            reach.get("to"),
        )


async def send_notice(layer: Sender, alert: Alert, now: float) -> None:
    """Deliver an alert: through the reach of the identity's last conversation while that is
    good at ``now``, else to the identity's group (its open conversations)."""
    if alert.reach is not None and is_good(alert.reach, alert.reach_until, now):
        await send_to_reach(layer, alert.reach, alert.text)
        return
    await layer.group_send(
        identity_group(alert.protocol, alert.address), {"type": NOTICE, "text": alert.text}
    )


async def send_report(
    layer: Sender, message: dict[str, Any], reply_channel: str, reach: dict[str, Any] | None
) -> str:
    """Deliver a ``bot.report`` message: through ``reach`` (the asking conversation's address,
    the chart as a photo) when it has one, else to the asking consumer's ``reply_channel``.
    Returns where it went, for the log."""
    # The address was the asking scope's a moment ago: no deadline to check (an APRS station
    # not heard for an hour by then is the adapter's to drop).
    if reach is not None and is_good(reach, None, 0.0):
        png = message.get("png")
        await send_to_reach(layer, reach, str(message["text"]), photo=png or None)
        return str(reach["channel"])
    await layer.send(reply_channel, message)
    return reply_channel
