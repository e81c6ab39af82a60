"""Connected mode (AX.25 links): the seam between the station and the link state machines.

The station hands every connected-mode frame addressed to one of our callsigns (SABM, SABME,
DISC, I, RR, RNR, REJ, SREJ, UA, DM, FRMR) to :class:`Links`, and drives its one timer::

    links = Links(host)                      # host: the LinkHost the adapter gives it
    links.frame_received(frame, port, now)   # then re-arm the timer at links.get_timer()
    links.handle_timer(now)                  # when that time has come
    await links.aclose()                     # at shutdown: say goodbye to every link

Part 2 of the AX.25 work (connected mode: one ``ax25`` scope with mode "connected" per link,
``ax25.connect``/``ax25.receive``/``ax25.send``/``ax25.disconnect``) replaces this module. Until
then we do what a station without connected mode must do (AX.25 2.0, 2.4.4.3/2.4.4.5): answer
a connection request (SABM, SABME) or a DISC with DM, and a command with the poll bit set with DM
(F set), so the caller's TNC gives up at once instead of retrying for half a minute.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from adapters.ax25.frame import Callsign, Frame, FrameType, Hop

if TYPE_CHECKING:  # the links are pure: only the host's signature mentions asyncio
    import asyncio

    from gateway.clock import Clock

__all__ = ["CONNECTED_MODE_TYPES", "LinkHost", "Links", "reply_path"]

logger = logging.getLogger(__name__)

#: Frame types that belong to connected mode (the station hands these to the links).
CONNECTED_MODE_TYPES = frozenset(
    {
        FrameType.SABM,
        FrameType.SABME,
        FrameType.DISC,
        FrameType.I,
        FrameType.RR,
        FrameType.RNR,
        FrameType.REJ,
        FrameType.SREJ,
        FrameType.UA,
        FrameType.DM,
        FrameType.FRMR,
    }
)


class LinkHost(Protocol):
    """What the adapter gives the links: our callsigns, a way to send, the runtime."""

    callsigns: frozenset[Callsign]
    #: The ApplicationRuntime (part 2 opens "connected" scopes on it with deliver_by_key).
    runtime: Any
    #: The clock every timer runs on (the driver re-arms ``get_timer()`` on it).
    clock: Clock

    def transmit(self, frame: Frame, port: int) -> asyncio.Future[None]:
        """Queue a frame for the air (paced); the future resolves once it was written."""

    def scope(
        self, local: Callsign, remote: Callsign, mode: str, path: tuple[Hop, ...]
    ) -> dict[str, Any]:
        """The ASGI scope of a (local, remote, mode) conversation."""


def reply_path(path: tuple[Hop, ...]) -> tuple[Hop, ...]:
    """The digipeater path back to a station: the hops that repeated its frame, reversed, with
    H bits clear (hops not yet repeated were not needed: we heard the frame before them)."""
    return tuple(Hop(hop.callsign) for hop in reversed(path) if hop.repeated)


class Links:
    """Without connected mode: refuse every link politely (see the module docstring)."""

    def __init__(self, host: LinkHost) -> None:
        self.host = host

    def frame_received(self, frame: Frame, port: int, now: float) -> None:
        """A connected-mode frame addressed to us arrived on TNC ``port``."""
        refuse = frame.type in (FrameType.SABM, FrameType.SABME, FrameType.DISC) or (
            frame.command and frame.poll_final
        )
        if not refuse:
            logger.debug("< %r ignored: no link with %s", frame, frame.source)
            return
        logger.info(
            "= %s asked %s for a link (%s): connected mode is off, answering DM",
            frame.source,
            frame.destination,
            frame.type.name,
        )
        self.host.transmit(
            Frame(
                frame.source,
                frame.destination,
                FrameType.DM,
                path=reply_path(frame.path),
                command=False,
                poll_final=frame.poll_final,
            ),
            port,
        )

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must run next; None: no timer."""
        return None

    def handle_timer(self, now: float) -> None:
        """Run the timers due at ``now`` (T1, T3 in part 2)."""

    async def aclose(self) -> None:
        """Shut every link down (DISC in part 2); nothing to do without links."""
