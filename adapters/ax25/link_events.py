"""What an AX.25 link reports (events), why it ends, and its parameters (sans-I/O).

The state machine itself is ``link.py``; these are the values it exchanges with its caller.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from adapters.ax25.frame import Hop
from gateway.exceptions import ConfigurationError

#: Sequence numbers of AX.25 v2.0 (modulo 8).
MODULUS = 8


class DisconnectReason(enum.Enum):
    """Why a link ended; the value is what ``ax25.disconnect`` carries as ``reason``."""

    PEER = "peer"  #: the peer sent DISC or DM
    LOCAL = "local"  #: we closed it (DISC answered, or N2 DISC retries)
    LINK_FAILURE = "link failure"  #: N2 retries of T1 got no answer
    REFUSED = "refused"  #: our SABM was answered with DM, or we rejected the peer's SABM
    PROTOCOL_ERROR = "protocol error"  #: FRMR sent or received


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Base class of what a link reports to its consumer."""


@dataclass(frozen=True, slots=True)
class ConnectRequest(LinkEvent):
    """The peer asked to connect (SABM). Answer with :meth:`Link.accept` or :meth:`Link.reject`."""

    path: tuple[Hop, ...]


@dataclass(frozen=True, slots=True)
class Connected(LinkEvent):
    """The link is up (we accepted, or the peer answered our SABM with UA)."""


@dataclass(frozen=True, slots=True)
class DataReceived(LinkEvent):
    """In-sequence I frame contents, in order, each delivered once."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PeerBusy(LinkEvent):
    """The peer's receiver became busy (RNR) or ready again (RR/REJ)."""

    busy: bool


@dataclass(frozen=True, slots=True)
class Disconnected(LinkEvent):
    """The link ended. ``unsent`` bytes we had queued were not acknowledged by the peer."""

    reason: DisconnectReason
    unsent: int = 0


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Parameters of a link (settings AX25_PACLEN, AX25_WINDOW, AX25_T1, AX25_T2, AX25_T3,
    AX25_N2). Times in seconds."""

    paclen: int = 128  #: N1: most bytes of information per I frame we send
    window: int = 4  #: k: most I frames outstanding (1..7 with modulo 8)
    t1: float = 3.0  #: initial acknowledgement timer (FRACK); adapted to the round trip after
    t2: float = 2.0  #: longest delay of an RR while more I frames of a burst may follow
    t3: float = 300.0  #: idle link check
    n2: int = 10  #: retries of T1 before the link fails
    t1_min: float = 2.0  #: floor of the adapted T1 (Direwolf's too)
    t1_max: float = 30.0  #: ceiling of the adapted T1 (and of its back-off)
    accept_timeout: float = 30.0  #: how long a peer's SABM waits for the consumer's answer
    #: The channel's rate (AX25_BYTES_PER_SECOND, which also paces what we send): frames handed
    #: to the TNC go on the air one after another at this rate, and T1 runs from the end of
    #: that, as it does in a TNC's own link layer. None: frames go out at once (tests).
    bytes_per_second: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.window <= MODULUS - 1:
            raise ConfigurationError(f"AX25_WINDOW must be 1..7 (modulo 8), got {self.window}")
        if not 1 <= self.paclen <= 256:
            raise ConfigurationError(f"AX25_PACLEN must be 1..256 bytes, got {self.paclen}")
        if self.n2 < 1:
            raise ConfigurationError(f"AX25_N2 must be at least 1, got {self.n2}")
        if self.bytes_per_second is not None and self.bytes_per_second <= 0:
            raise ConfigurationError(
                f"AX25_BYTES_PER_SECOND must be positive, got {self.bytes_per_second}"
            )
        for name in ("t1", "t2", "t3", "accept_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(
                    f"AX25_{name.upper()} must be a positive number of seconds, "
                    f"got {getattr(self, name)}"
                )
