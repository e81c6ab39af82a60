"""AX.25 v2.0 connected mode (modulo 8): one data link between a local and a remote station.

Sans-I/O: frames in, frames and events out, time passed in. No sockets, no clocks.

Theory of operation
-------------------

A :class:`Link` is one end of one connection, identified by the (local, remote) callsign pair. It
does not parse bytes and does not address frames to links: the link manager (``links.py``) gives
it the frames whose source is its remote station and whose destination is its local station.

Everything that changes the link's state goes through :data:`TRANSITIONS`, the one table of this
module (h11's rule 1). A row maps ``(state, input)`` to an action (a method named ``_<action>``)
and the states that action may lead to; the action decides between them from the sequence
variables, and :meth:`Link._dispatch` checks that it chose one it declared. The docs draw the
state diagram from this table (``docs/ax25-connected.md``). An input is either a frame type from
the peer (SABM, I, RR, ...), a request from our side (CONNECT, ACCEPT, REJECT, CLOSE) or a timer
expiry (T1, T3). A frame input missing from the table is ignored (logged at DEBUG), except that
a command frame in DISCONNECTED is answered with DM, as the spec asks. A local request missing
from the table is a bug in the caller: :class:`InvalidState`.

The states are the AX.25 2.2 SDL's for a v2.0 link, plus CONNECT_PENDING: a peer's SABM waits
there until the consumer answers ``accept`` (UA) or ``reject`` (DM). T1 runs meanwhile as the
answer's deadline, so a consumer that never answers refuses the link instead of leaking it.

Sequence variables (all modulo 8): V(S) the next N(S) we send, V(A) the oldest N(S) not yet
acknowledged, V(R) the N(S) we expect next. Outgoing data is a byte buffer cut into I frames of
at most ``paclen`` bytes when the window (``window`` = k frames unacknowledged) has room and the
peer is not busy; frames stay in ``_unacked`` until an N(R) covers them, and a REJ or a poll
answered after T1 backs V(S) up to V(A) ("invoke retransmission"). An N(R) outside
V(A)..V(S) is a protocol error: FRMR, then DISC.

Timers: T1 (acknowledgement; also the SABM/DISC retry timer and the accept deadline), T2 (our
delayed acknowledgement: RR is held back so one RR covers several I frames of a burst; it
follows the spacing of the burst's frames, see ``_ack_later``), T3 (idle link check).
:meth:`Link.get_timer` returns the earliest; the driver calls :meth:`Link.handle_timer` then.
T1 follows the measured round trip as in AX.25 2.2 ("select T1 value"): SRT = 7/8 SRT + 1/8
RTT, T1 = 2 SRT. The RTT sample runs from the newest frame an acknowledgement covers (the peer
answers after the last frame of a burst, so timing the oldest would count the burst's own air
time as round trip) and only if that frame was sent once (Karn). While recovering T1 grows
linearly, T1 = 2 SRT + RC x 0.25 s, as in Direwolf: doubling per retry (the 2.2 SDL's
2^(RC+1) SRT) leaves a lossy channel silent for many seconds after a few losses in a row. T1
never drops below ``config.t1_min`` (2 s, Direwolf's floor too).

A TNC's own link layer starts T1 when a frame has actually gone out and pauses it while the
channel is busy. Behind a KISS TNC we cannot see either, so with ``config.bytes_per_second``
set the link estimates them: frames handed over go on the air one after another at that rate,
T1 (and the round-trip sample) counts from the estimated end of our transmission, and every
frame heard from the peer while T1 runs extends it by that frame's air time. An
acknowledgement proves the frames it covers went out: if the estimate has them leave later
than that, the estimate catches up (every later departure moves as much earlier). Without
the estimate, at 1200 baud a window of 4 frames of 128 bytes (4 s on the air) would outlast a
3 s T1.

The rate alone is not enough when the driver paces a shared channel: the station's pacer may
hold a frame back (other links or APRS used the budget), and the TNC may still be busy with
other frames when ours reaches it. A link built with ``reports_sent=True`` therefore counts
every frame it gives out as held until the driver calls :meth:`Link.frame_sent` with the time
the TNC will have sent it (the driver knows everything it wrote to the TNC). While any frame is
held, T1 cannot expire (:meth:`Link.get_timer` leaves it out); when a report shows the
estimate was early, every departure still ahead (T1, the round-trip samples, the end of our
transmission) moves that much later, as a TNC's own T1 waits while the channel is busy. This
is a timer adjustment, not an input of the table: it changes no state.

SABME (v2.2) is answered with DM: a v2.2 station (Direwolf among them) then retries with SABM
and the link runs v2.0.

After each input (``receive_frame``, ``connect``, ``accept``, ``reject``, ``send_data``,
``close``, ``disconnect``, ``set_busy``, ``handle_timer``, ``frame_sent``) the caller must send
:meth:`Link.frames_to_send`, handle :meth:`Link.events`, and re-arm its timer from
:meth:`Link.get_timer`.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from adapters.ax25.frame import PID_NO_LAYER3, Callsign, Frame, FrameType, Hop
from adapters.ax25.link_events import (
    MODULUS,
    Connected,
    ConnectRequest,
    DataReceived,
    Disconnected,
    DisconnectReason,
    LinkConfig,
    LinkEvent,
    PeerBusy,
)
from gateway.exceptions import InvalidState

logger = logging.getLogger(__name__)

#: Seconds T1 grows by per retry while recovering (Direwolf's linear back-off).
BACK_OFF_STEP = 0.25


class LinkState(enum.Enum):
    """Where a link is (AX.25 2.2 SDL names, plus CONNECT_PENDING)."""

    #: No connection. SABM from the peer: ask the consumer; CONNECT from us: send SABM.
    DISCONNECTED = "disconnected"
    #: The peer sent SABM; waiting for the consumer's accept (UA) or reject (DM). T1 = deadline.
    CONNECT_PENDING = "connect pending"
    #: We sent SABM; waiting for UA or DM. T1 resends SABM up to N2 times.
    AWAITING_CONNECTION = "awaiting connection"
    #: Information transfer. T1 runs while I frames are unacknowledged, T3 while idle.
    CONNECTED = "connected"
    #: T1 or T3 expired: we polled the peer (RR/RNR with P) and wait for its F answer.
    TIMER_RECOVERY = "timer recovery"
    #: We sent DISC; waiting for UA or DM. T1 resends DISC up to N2 times.
    AWAITING_RELEASE = "awaiting release"


class Input(enum.Enum):
    """What drives a transition: a frame type from the peer, a local request or a timer."""

    SABM = "SABM"
    SABME = "SABME"
    DISC = "DISC"
    UA = "UA"
    DM = "DM"
    FRMR = "FRMR"
    I = "I"  # noqa: E741 -- the spec's name
    RR = "RR"
    RNR = "RNR"
    REJ = "REJ"
    UNSUPPORTED = "unsupported frame"  # SREJ, XID, TEST: not v2.0
    CONNECT = "connect"
    ACCEPT = "accept"
    REJECT = "reject"
    CLOSE = "close"
    DISCONNECT = "disconnect"
    T1_EXPIRY = "T1 expiry"
    T3_EXPIRY = "T3 expiry"


LOCAL_INPUTS = frozenset({Input.CONNECT, Input.ACCEPT, Input.REJECT, Input.CLOSE, Input.DISCONNECT})

_FRAME_INPUTS: dict[FrameType, Input] = {
    FrameType.SABM: Input.SABM,
    FrameType.SABME: Input.SABME,
    FrameType.DISC: Input.DISC,
    FrameType.UA: Input.UA,
    FrameType.DM: Input.DM,
    FrameType.FRMR: Input.FRMR,
    FrameType.I: Input.I,
    FrameType.RR: Input.RR,
    FrameType.RNR: Input.RNR,
    FrameType.REJ: Input.REJ,
    FrameType.SREJ: Input.UNSUPPORTED,
    FrameType.XID: Input.UNSUPPORTED,
    FrameType.TEST: Input.UNSUPPORTED,
}


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of :data:`TRANSITIONS`: the action to run and the states it may lead to."""

    action: str
    targets: frozenset[LinkState]


def _row(action: str, *targets: LinkState) -> Transition:
    return Transition(action, frozenset(targets))


S = LinkState

#: The link's behaviour: (state, input) -> action and possible next states. See the module
#: docstring for what happens to pairs that are not listed.
TRANSITIONS: dict[tuple[LinkState, Input], Transition] = {
    # Nobody connected. SABME: DM, so a v2.2 station falls back to SABM.
    (S.DISCONNECTED, Input.SABM): _row("connect_requested", S.CONNECT_PENDING),
    (S.DISCONNECTED, Input.CONNECT): _row("send_sabm", S.AWAITING_CONNECTION),
    # The consumer decides; the peer's SABM retries are ignored meanwhile.
    (S.CONNECT_PENDING, Input.ACCEPT): _row("accept", S.CONNECTED),
    (S.CONNECT_PENDING, Input.REJECT): _row("refuse", S.DISCONNECTED),
    (S.CONNECT_PENDING, Input.T1_EXPIRY): _row("refuse", S.DISCONNECTED),
    (S.CONNECT_PENDING, Input.DISC): _row("peer_gave_up", S.DISCONNECTED),
    (S.CONNECT_PENDING, Input.SABME): _row("dm_dropped", S.DISCONNECTED),
    (S.CONNECT_PENDING, Input.CLOSE): _row("refuse", S.DISCONNECTED),
    (S.CONNECT_PENDING, Input.DISCONNECT): _row("refuse", S.DISCONNECTED),
    # Our SABM is out.
    (S.AWAITING_CONNECTION, Input.UA): _row("established", S.CONNECTED),
    (S.AWAITING_CONNECTION, Input.DM): _row("refused", S.DISCONNECTED),
    (S.AWAITING_CONNECTION, Input.SABM): _row("sabm_collision", S.CONNECTED),
    (S.AWAITING_CONNECTION, Input.SABME): _row("send_dm", S.AWAITING_CONNECTION),
    (S.AWAITING_CONNECTION, Input.DISC): _row("send_dm", S.AWAITING_CONNECTION),
    (S.AWAITING_CONNECTION, Input.T1_EXPIRY): _row(
        "retry_sabm", S.AWAITING_CONNECTION, S.DISCONNECTED
    ),
    (S.AWAITING_CONNECTION, Input.CLOSE): _row("abandon_connect", S.DISCONNECTED),
    (S.AWAITING_CONNECTION, Input.DISCONNECT): _row("abandon_connect", S.DISCONNECTED),
    # Information transfer.
    (S.CONNECTED, Input.I): _row("i_frame", S.CONNECTED, S.AWAITING_RELEASE),
    (S.CONNECTED, Input.RR): _row("supervisory", S.CONNECTED, S.AWAITING_RELEASE),
    (S.CONNECTED, Input.RNR): _row("supervisory", S.CONNECTED, S.AWAITING_RELEASE),
    (S.CONNECTED, Input.REJ): _row("supervisory", S.CONNECTED, S.AWAITING_RELEASE),
    (S.CONNECTED, Input.T1_EXPIRY): _row("poll_after_t1", S.TIMER_RECOVERY),
    (S.CONNECTED, Input.T3_EXPIRY): _row("poll_after_t3", S.TIMER_RECOVERY),
    (S.CONNECTED, Input.SABM): _row("reset", S.CONNECTED),
    (S.CONNECTED, Input.SABME): _row("dm_dropped", S.DISCONNECTED),
    (S.CONNECTED, Input.DISC): _row("peer_disconnected", S.DISCONNECTED),
    (S.CONNECTED, Input.DM): _row("peer_dropped", S.DISCONNECTED),
    (S.CONNECTED, Input.FRMR): _row("frame_rejected", S.AWAITING_RELEASE),
    (S.CONNECTED, Input.UNSUPPORTED): _row("reject_frame", S.AWAITING_RELEASE),
    (S.CONNECTED, Input.CLOSE): _row("close", S.CONNECTED, S.AWAITING_RELEASE),
    (S.CONNECTED, Input.DISCONNECT): _row("disconnect_now", S.AWAITING_RELEASE),
    # We polled after T1/T3 and wait for the answer with F set.
    (S.TIMER_RECOVERY, Input.I): _row("i_frame", S.TIMER_RECOVERY, S.AWAITING_RELEASE),
    (S.TIMER_RECOVERY, Input.RR): _row(
        "recovery_supervisory", S.TIMER_RECOVERY, S.CONNECTED, S.AWAITING_RELEASE
    ),
    (S.TIMER_RECOVERY, Input.RNR): _row(
        "recovery_supervisory", S.TIMER_RECOVERY, S.CONNECTED, S.AWAITING_RELEASE
    ),
    (S.TIMER_RECOVERY, Input.REJ): _row(
        "recovery_supervisory", S.TIMER_RECOVERY, S.CONNECTED, S.AWAITING_RELEASE
    ),
    (S.TIMER_RECOVERY, Input.T1_EXPIRY): _row("repoll", S.TIMER_RECOVERY, S.DISCONNECTED),
    (S.TIMER_RECOVERY, Input.SABM): _row("reset", S.CONNECTED),
    (S.TIMER_RECOVERY, Input.SABME): _row("dm_dropped", S.DISCONNECTED),
    (S.TIMER_RECOVERY, Input.DISC): _row("peer_disconnected", S.DISCONNECTED),
    (S.TIMER_RECOVERY, Input.DM): _row("peer_dropped", S.DISCONNECTED),
    (S.TIMER_RECOVERY, Input.FRMR): _row("frame_rejected", S.AWAITING_RELEASE),
    (S.TIMER_RECOVERY, Input.UNSUPPORTED): _row("reject_frame", S.AWAITING_RELEASE),
    (S.TIMER_RECOVERY, Input.CLOSE): _row("close", S.TIMER_RECOVERY, S.AWAITING_RELEASE),
    (S.TIMER_RECOVERY, Input.DISCONNECT): _row("disconnect_now", S.AWAITING_RELEASE),
    # Our DISC is out.
    (S.AWAITING_RELEASE, Input.UA): _row("released", S.DISCONNECTED),
    (S.AWAITING_RELEASE, Input.DM): _row("released", S.DISCONNECTED),
    (S.AWAITING_RELEASE, Input.DISC): _row("send_ua", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.SABM): _row("send_dm", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.SABME): _row("send_dm", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.I): _row("send_dm_if_polled", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.RR): _row("send_dm_if_polled", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.RNR): _row("send_dm_if_polled", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.REJ): _row("send_dm_if_polled", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.T1_EXPIRY): _row("retry_disc", S.AWAITING_RELEASE, S.DISCONNECTED),
    (S.AWAITING_RELEASE, Input.CLOSE): _row("nothing", S.AWAITING_RELEASE),
    (S.AWAITING_RELEASE, Input.DISCONNECT): _row("nothing", S.AWAITING_RELEASE),
}
del S


class Link:
    """One AX.25 v2.0 data link between ``local`` (us) and ``remote``.

    Args:
        local: our station.
        remote: the peer station.
        config: window, PACLEN, timers, N2.
        path: digipeaters towards the peer, in the order our frames use them. For a link the
            peer opened, :meth:`receive_frame` sets it from the SABM's path, reversed.
        name: label for logs (defaults to ``"LOCAL>REMOTE"``).
        reports_sent: the driver calls :meth:`frame_sent` for every frame it takes from
            :meth:`frames_to_send`, in order (see the module docstring); False: frames count
            as handed to the TNC at once.
    """

    def __init__(
        self,
        local: Callsign,
        remote: Callsign,
        config: LinkConfig | None = None,
        *,
        path: tuple[Hop, ...] = (),
        name: str = "",
        reports_sent: bool = False,
    ) -> None:
        self.local = local
        self.remote = remote
        self.config = config or LinkConfig()
        self.path = path
        self.state = LinkState.DISCONNECTED
        self._log = logging.LoggerAdapter(logger, {"link": name or f"{local}>{remote}"})
        self._name = name or f"{local}>{remote}"
        self._frames: list[Frame] = []
        self._events: list[LinkEvent] = []
        # Sequence state.
        self._va = 0
        self._vr = 0
        self._unacked: deque[bytes] = deque()  # info of N(S) = V(A), V(A)+1, ...
        self._sent_at: deque[float | None] = deque()  # first send time; None once resent
        self._left_at: deque[float] = deque()  # estimated end of the latest transmission
        self._next = 0  # index into _unacked of the next frame to (re)send: V(S) = V(A) + _next
        self._outgoing = bytearray()  # accepted by send_data, not yet cut into I frames
        self._peer_busy = False
        self._own_busy = False
        self._reject_sent = False  # "reject exception": one REJ per gap
        self._acked_vr = 0  # the N(R) we last told the peer
        self._closing = False
        self._poll_pending = True  # F of our answer to the peer's SABM
        self._release_reason = DisconnectReason.LOCAL
        self._rc = 0
        # Timers (absolute times, None = stopped).
        self._t1_at: float | None = None
        self._t2_at: float | None = None
        self._last_rx = 0.0  # when the last in-sequence I frame arrived
        self._rx_gap: float | None = None  # smoothed spacing of I frames within a burst
        self._t3_at: float | None = None
        self._t1_started = 0.0
        # When the TNC will have sent everything we gave it (see LinkConfig.bytes_per_second).
        self._now = 0.0
        self._tx_free_at = 0.0
        # Frames given out whose frame_sent report has not come yet, oldest first: (serial,
        # air time). _tx_serial holds the serial of each unacked I frame's latest transmission.
        self._reports_sent = reports_sent
        self._held: deque[tuple[int, float]] = deque()
        self._serial = 0
        self._tx_serial: deque[int] = deque()
        # Smoothed round trip; T1 = 2 SRT. The path multiplies the first guess (each digipeater
        # repeats both the frame and its acknowledgement).
        self._srt = self.config.t1 / 2 * (2 * len(path) + 1)
        self._t1v = 2 * self._srt
        #: Counters for /status and tests.
        self.stats = {"i_sent": 0, "i_resent": 0, "i_received": 0, "rej_sent": 0, "polls": 0}

    # -- public API --------------------------------------------------------------------------

    @property
    def vs(self) -> int:
        """V(S): the N(S) of the next I frame to send."""
        return (self._va + self._next) % MODULUS

    @property
    def t1(self) -> float:
        """The current T1 value in seconds (adapted to the measured round trip)."""
        return self._t1v

    @property
    def peer_busy(self) -> bool:
        """True while the peer has said RNR."""
        return self._peer_busy

    @property
    def queued(self) -> int:
        """Bytes accepted by :meth:`send_data` that the peer has not acknowledged yet."""
        return len(self._outgoing) + sum(len(info) for info in self._unacked)

    @property
    def connected(self) -> bool:
        """True in CONNECTED and TIMER_RECOVERY: data flows."""
        return self.state in (LinkState.CONNECTED, LinkState.TIMER_RECOVERY)

    def receive_frame(self, frame: Frame, now: float) -> None:
        """Feed a frame from the peer (source = remote, destination = local).

        Never raises for the peer's input: a frame the link cannot use is answered as the spec
        says (DM, FRMR) or ignored. Then call :meth:`frames_to_send`, :meth:`events` and
        :meth:`get_timer`.
        """
        inp = _FRAME_INPUTS.get(frame.type)
        if inp is None:  # UI frames belong to datagram mode, not to a link
            self._log.debug("< %s ignored by the link", frame.type.name)
            return
        if self.state is LinkState.DISCONNECTED and inp is Input.SABM:
            self.path = tuple(Hop(hop.callsign) for hop in reversed(frame.path))
        if self._t1_at is not None:
            # The channel carried the peer's frame meanwhile: a TNC's own link layer pauses T1
            # while it hears the channel busy (Direwolf does), so T1 waits that long too.
            self._t1_at += self._air_time(frame)
        self._dispatch(inp, frame, now)

    def connect(self, now: float) -> None:
        """Open the link from our side: send SABM. :class:`Connected` or
        :class:`Disconnected` follows."""
        self._dispatch(Input.CONNECT, None, now)

    def accept(self, now: float) -> None:
        """Answer a :class:`ConnectRequest` with UA: the link is up."""
        self._dispatch(Input.ACCEPT, None, now)

    def reject(self, now: float) -> None:
        """Answer a :class:`ConnectRequest` with DM."""
        self._dispatch(Input.REJECT, None, now)

    def close(self, now: float) -> None:
        """Disconnect once every byte queued so far is acknowledged (then DISC)."""
        self._dispatch(Input.CLOSE, None, now)

    def disconnect(self, now: float) -> None:
        """Disconnect now (DISC), e.g. at shutdown: what is still queued is not sent, and
        :class:`Disconnected` reports it as ``unsent``."""
        self._dispatch(Input.DISCONNECT, None, now)

    def send_data(self, data: bytes, now: float) -> None:
        """Queue bytes for the peer; they go out in I frames of at most ``paclen`` bytes, in
        order, as the window allows.

        Raises:
            InvalidState: the link is not open or opening, or close() was called.
        """
        if self._closing or self.state in (LinkState.DISCONNECTED, LinkState.AWAITING_RELEASE):
            raise InvalidState(
                f"cannot send on AX.25 link {self._name}: it is {self.state.value}"
                + (" and closing" if self._closing else "")
            )
        self._outgoing += data
        self._now = now
        self._push(now)

    def set_busy(self, busy: bool, now: float) -> None:
        """Say whether our consumer can take more data: RNR while busy, RR when ready again."""
        if busy == self._own_busy:
            return
        self._own_busy = busy
        self._now = now
        self._log.debug("= own receiver %s", "busy" if busy else "ready")
        if self.connected:
            self._send_s(FrameType.RNR if busy else FrameType.RR, command=False, pf=False)

    def frames_to_send(self) -> list[Frame]:
        """Frames to transmit, in order; calling it empties the list."""
        frames, self._frames = self._frames, []
        return frames

    def events(self) -> list[LinkEvent]:
        """Events for the consumer, in order; calling it empties the list."""
        events, self._events = self._events, []
        return events

    def get_timer(self) -> float | None:
        """When to call :meth:`handle_timer` next (absolute, same clock as ``now``), or None."""
        t1 = None if self._held else self._t1_at  # T1 waits for held frames to be sent
        timers = [t for t in (t1, self._t2_at, self._t3_at) if t is not None]
        return min(timers) if timers else None

    def frame_sent(self, done: float) -> None:
        """The oldest frame taken from :meth:`frames_to_send` and not reported yet reached the
        TNC, which will have sent it by ``done`` (the driver's estimate, counting what it wrote
        to the TNC before; the time the driver gave up on it if it was never sent). Only for a
        link built with ``reports_sent=True``; then re-arm the timer from :meth:`get_timer`.
        """
        if not self._held:
            self._log.debug("= frame_sent with no frame held: ignored")
            return
        serial, _ = self._held.popleft()
        # What is still held leaves after this frame, one after another.
        late = done + sum(air for _, air in self._held) - self._tx_free_at
        if late <= 0:
            return
        self._log.debug("= our frames leave %.1f s later than estimated", late)
        self._tx_free_at += late
        for index, tx_serial in enumerate(self._tx_serial):
            if tx_serial >= serial:  # this transmission was not on the air yet
                self._left_at[index] += late
                sent_at = self._sent_at[index]
                if sent_at is not None:
                    self._sent_at[index] = sent_at + late
        if self._t1_at is not None:
            # The channel was busy with frames given out before or with ours: T1 waits.
            self._t1_at += late
            self._t1_started += late

    def handle_timer(self, now: float) -> None:
        """Run the timers due at ``now`` (early calls do nothing)."""
        self._now = now
        if self._t2_at is not None and now >= self._t2_at:
            self._t2_at = None
            if self.connected and self._vr != self._acked_vr:
                self._send_s(self._receiver_state(), command=False, pf=False)
        if self._t1_at is not None and now >= self._t1_at and not self._held:
            self._t1_at = None
            self._dispatch(Input.T1_EXPIRY, None, now)
        elif self._t3_at is not None and now >= self._t3_at:
            self._t3_at = None
            self._dispatch(Input.T3_EXPIRY, None, now)

    # -- the dispatcher ------------------------------------------------------------------------

    def _dispatch(self, inp: Input, frame: Frame | None, now: float) -> None:
        self._now = now
        if frame is not None:
            self._log.debug("< %r", frame)
        transition = TRANSITIONS.get((self.state, inp))
        if transition is None:
            if inp in LOCAL_INPUTS:
                raise InvalidState(
                    f"cannot {inp.value} AX.25 link {self._name} in state {self.state.value}"
                )
            if frame is not None and self.state is LinkState.DISCONNECTED and frame.command:
                # AX.25 2.2, disconnected state: any other command is answered with DM (F=P).
                self._send_u(FrameType.DM, command=False, pf=frame.poll_final)
            else:
                self._log.debug("= %s ignored in state %s", inp.value, self.state.value)
            return
        action: Callable[[Frame | None, float], LinkState] = getattr(self, "_" + transition.action)
        before = self.state
        # An action may move self.state early (to reuse helpers that act on the new state);
        # what it returns is the state it ends in.
        new_state = action(frame, now)
        assert new_state in transition.targets, (before, inp, new_state)
        self.state = new_state
        if new_state is not before:
            self._log.debug("= %s -> %s on %s", before.value, new_state.value, inp.value)

    # -- actions: connection management ----------------------------------------------------

    def _connect_requested(self, frame: Frame | None, now: float) -> LinkState:
        self._events.append(ConnectRequest(self.path))
        self._poll_pending = _pf(frame)
        self._start_t1(now, self.config.accept_timeout)  # the consumer's deadline
        return LinkState.CONNECT_PENDING

    def _accept(self, frame: Frame | None, now: float) -> LinkState:
        self._reset_sequence()
        self._send_u(FrameType.UA, command=False, pf=self._poll_pending)
        self._up(now)
        return LinkState.CONNECTED

    def _refuse(self, frame: Frame | None, now: float) -> LinkState:
        self._send_u(FrameType.DM, command=False, pf=self._poll_pending)
        return self._down(DisconnectReason.REFUSED)

    def _peer_gave_up(self, frame: Frame | None, now: float) -> LinkState:
        self._send_u(FrameType.DM, command=False, pf=_pf(frame))
        return self._down(DisconnectReason.PEER)

    def _send_sabm(self, frame: Frame | None, now: float) -> LinkState:
        self._rc = 0
        self._send_u(FrameType.SABM, command=True, pf=True)
        self._start_t1(now)
        return LinkState.AWAITING_CONNECTION

    def _retry_sabm(self, frame: Frame | None, now: float) -> LinkState:
        # AX.25 2.2, awaiting connection: on T1 expiry resend SABM, up to N2 times.
        return self._retry(FrameType.SABM, now, DisconnectReason.LINK_FAILURE)

    def _established(self, frame: Frame | None, now: float) -> LinkState:
        self._reset_sequence()
        self._measure(max(0.0, now - self._t1_started), fresh=self._rc == 0)
        self._up(now)
        return LinkState.CONNECTED

    def _sabm_collision(self, frame: Frame | None, now: float) -> LinkState:
        # Both sides sent SABM at once: answer UA and consider the link up.
        self._reset_sequence()
        self._send_u(FrameType.UA, command=False, pf=_pf(frame))
        self._up(now)
        return LinkState.CONNECTED

    def _refused(self, frame: Frame | None, now: float) -> LinkState:
        return self._down(DisconnectReason.REFUSED)

    def _abandon_connect(self, frame: Frame | None, now: float) -> LinkState:
        self._send_u(FrameType.DISC, command=True, pf=True)
        return self._down(DisconnectReason.LOCAL)

    def _close(self, frame: Frame | None, now: float) -> LinkState:
        self._closing = True
        return self._maybe_release(now)

    def _disconnect_now(self, frame: Frame | None, now: float) -> LinkState:
        return self._release(now, DisconnectReason.LOCAL)

    def _released(self, frame: Frame | None, now: float) -> LinkState:
        return self._down(self._release_reason)

    def _retry_disc(self, frame: Frame | None, now: float) -> LinkState:
        # AX.25 2.2, awaiting release: on T1 expiry resend DISC, up to N2 times.
        return self._retry(FrameType.DISC, now, self._release_reason)

    def _retry(self, kind: FrameType, now: float, reason: DisconnectReason) -> LinkState:
        if self._rc >= self.config.n2:
            return self._down(reason)
        self._rc += 1
        self._back_off()
        self._send_u(kind, command=True, pf=True)
        self._start_t1(now)
        return self.state

    def _reset(self, frame: Frame | None, now: float) -> LinkState:
        # The peer re-established a link we thought was up (it lost its state): AX.25 2.2 answers
        # UA and resets the sequence variables. Unacknowledged frames are sent again from N(S) 0,
        # so nothing queued is lost (the peer may see the last window twice).
        self._log.warning(
            "= link reset by the peer's SABM; resending %d frames", len(self._unacked)
        )
        pending = b"".join(self._unacked)
        self._reset_sequence()
        self._outgoing[:0] = pending
        self._send_u(FrameType.UA, command=False, pf=_pf(frame))
        self._stop_t1()
        self._t3_at = now + self.config.t3
        self._push(now)
        return LinkState.CONNECTED

    def _peer_disconnected(self, frame: Frame | None, now: float) -> LinkState:
        self._send_u(FrameType.UA, command=False, pf=_pf(frame))
        return self._down(DisconnectReason.PEER)

    def _peer_dropped(self, frame: Frame | None, now: float) -> LinkState:
        return self._down(DisconnectReason.PEER)

    def _dm_dropped(self, frame: Frame | None, now: float) -> LinkState:
        # SABME from a station we were talking to: it restarted and tries v2.2. DM tells it we
        # are disconnected; it then retries with SABM, which opens a new link.
        self._send_u(FrameType.DM, command=False, pf=_pf(frame))
        return self._down(DisconnectReason.PEER)

    def _frame_rejected(self, frame: Frame | None, now: float) -> LinkState:
        self._log.info("< FRMR %s: disconnecting", (frame.info if frame else b"").hex())
        return self._release(now, DisconnectReason.PROTOCOL_ERROR)

    def _reject_frame(self, frame: Frame | None, now: float) -> LinkState:
        # AX.25 2.0, 2.3.4.3.3: FRMR for a command that is not implemented (W bit), then DISC.
        kind = frame.type.name if frame else "?"
        self._log.info("< %s is not AX.25 v2.0: FRMR and disconnect", kind)
        self._send_frmr(w=True)
        return self._release(now, DisconnectReason.PROTOCOL_ERROR)

    # -- actions: small answers ----------------------------------------------------------------

    def _send_dm(self, frame: Frame | None, now: float) -> LinkState:
        self._send_u(FrameType.DM, command=False, pf=_pf(frame))
        return self.state

    def _send_ua(self, frame: Frame | None, now: float) -> LinkState:
        self._send_u(FrameType.UA, command=False, pf=_pf(frame))
        return self.state

    def _send_dm_if_polled(self, frame: Frame | None, now: float) -> LinkState:
        if frame is not None and frame.command and frame.poll_final:
            self._send_u(FrameType.DM, command=False, pf=True)
        return self.state

    def _nothing(self, frame: Frame | None, now: float) -> LinkState:
        return self.state

    # -- actions: information transfer ---------------------------------------------------------

    def _i_frame(self, frame: Frame | None, now: float) -> LinkState:
        assert frame is not None
        if not frame.command:
            self._log.info("< I frame sent as a response: ignored")
            return self.state
        if not self._take_nr(frame, now):
            return self._nr_error(now)
        ns = frame.ns if frame.ns is not None else -1
        if self._own_busy:
            # AX.25 2.2: own receiver busy -> discard; answer a poll with RNR F=1.
            if frame.poll_final:
                self._send_s(FrameType.RNR, command=False, pf=True)
        elif ns == self._vr:
            self._vr = (self._vr + 1) % MODULUS
            self._reject_sent = False
            self.stats["i_received"] += 1
            if frame.info:
                self._events.append(DataReceived(frame.info))
            if frame.poll_final:
                self._send_s(FrameType.RR, command=False, pf=True)
            else:
                self._ack_later(now, full=len(frame.info) >= self.config.paclen)
        elif self._reject_sent:
            # Out of sequence again (the rest of the burst after a gap): discard silently.
            if frame.poll_final:
                self._send_s(FrameType.RR, command=False, pf=True)
        else:
            # Out of sequence or duplicate: REJ asks for everything from V(R) again.
            self._reject_sent = True
            self.stats["rej_sent"] += 1
            self._send_s(FrameType.REJ, command=False, pf=frame.poll_final)
        self._push(now)
        return self._maybe_release(now)

    def _supervisory(self, frame: Frame | None, now: float) -> LinkState:
        assert frame is not None
        self._peer_busy_update(frame)
        if not self._take_nr(frame, now):
            return self._nr_error(now)
        if frame.command and frame.poll_final:
            # Enquiry: answer with our receiver state, F=1.
            self._send_s(self._receiver_state(), command=False, pf=True)
        if frame.type is FrameType.REJ:
            self._retransmit()
        self._push(now)
        self._rearm(now)
        return self._maybe_release(now)

    def _recovery_supervisory(self, frame: Frame | None, now: float) -> LinkState:
        assert frame is not None
        if frame.command or not frame.poll_final:
            return self._supervisory(frame, now)  # not the answer to our poll yet
        self._peer_busy_update(frame)
        if not self._take_nr(frame, now):
            return self._nr_error(now)
        # AX.25 2.2, timer recovery: the answer to our poll (F=1). Resend what it did not
        # acknowledge and go back to information transfer.
        self._stop_t1()
        self._rc = 0
        # AX.25 2.2 "select T1 value" with RC = 0: back to 2 SRT after the back-off.
        self._t1v = self._clamp(2 * self._srt)
        self.state = LinkState.CONNECTED
        self._retransmit()
        self._push(now)
        self._rearm(now)
        return self._maybe_release(now)

    def _poll_after_t1(self, frame: Frame | None, now: float) -> LinkState:
        # AX.25 2.2, connected, T1 expiry: RC = 1, T1 backed off, then ask the peer where it
        # is (RR/RNR command, P=1) and wait in timer recovery.
        self._rc = 1
        self._back_off()
        self._t3_at = None
        self._enquiry(now)
        return LinkState.TIMER_RECOVERY

    def _poll_after_t3(self, frame: Frame | None, now: float) -> LinkState:
        # AX.25 2.2, connected, T3 expiry (idle link check): RC = 0, then the same enquiry.
        self._rc = 0
        self._enquiry(now)
        return LinkState.TIMER_RECOVERY

    def _repoll(self, frame: Frame | None, now: float) -> LinkState:
        if self._rc >= self.config.n2:
            self._log.warning("= no answer after %d polls: link failure", self._rc)
            self._send_u(FrameType.DM, command=False, pf=False)
            return self._down(DisconnectReason.LINK_FAILURE)
        self._rc += 1
        self._back_off()
        self._enquiry(now)
        return LinkState.TIMER_RECOVERY

    # -- helpers ---------------------------------------------------------------------------------

    def _enquiry(self, now: float) -> None:
        self.stats["polls"] += 1
        self._send_s(self._receiver_state(), command=True, pf=True)
        self._start_t1(now)

    def _receiver_state(self) -> FrameType:
        return FrameType.RNR if self._own_busy else FrameType.RR

    def _peer_busy_update(self, frame: Frame) -> None:
        busy = frame.type is FrameType.RNR
        if busy != self._peer_busy:
            self._peer_busy = busy
            self._log.debug("= peer %s", "busy" if busy else "ready")
            self._events.append(PeerBusy(busy))

    def _take_nr(self, frame: Frame, now: float) -> bool:
        """Apply an N(R): free the acknowledged frames. False if N(R) is not in V(A)..V(S)."""
        nr = frame.nr if frame.nr is not None else -1
        acked = (nr - self._va) % MODULUS
        if not 0 <= nr < MODULUS or acked > self._next:
            self._log.info("< N(R)=%s outside V(A)=%d..V(S)=%d", frame.nr, self._va, self.vs)
            return False
        if acked == 0:
            return True
        sent_at = self._sent_at[acked - 1]
        if sent_at is not None and self.state is LinkState.CONNECTED:
            # One round-trip sample per acknowledgement, from the newest frame it covers: the
            # peer answers the end of a burst, not each frame as it arrives.
            self._measure(max(0.0, now - sent_at), fresh=True)
        self._caught_up(self._left_at[acked - 1], now)
        for _ in range(acked):
            self._unacked.popleft()
            self._sent_at.popleft()
            self._left_at.popleft()
            self._tx_serial.popleft()
        self._va = nr
        self._next -= acked
        if self.state is LinkState.CONNECTED:
            self._stop_t1()  # progress: T1 restarts for what is still outstanding
            self._rearm(now)
        return True

    def _caught_up(self, left_at: float, now: float) -> None:
        """An acknowledged frame was on the air by ``now``: if the departure estimate has it
        leave later, the TNC is ahead of it, so every estimated departure moves that much
        earlier (T1 and the round-trip samples of what is still queued count from them)."""
        ahead = left_at - now
        if ahead <= 0:
            return
        self._tx_free_at = max(now, self._tx_free_at - ahead)
        for index, sent_at in enumerate(self._sent_at):
            if sent_at is not None:
                self._sent_at[index] = sent_at - ahead
            self._left_at[index] -= ahead

    def _rearm(self, now: float) -> None:
        """In information transfer: T1 while frames are outstanding or a busy peer holds our
        data back (it is polled every T1, AX.25 2.0 2.4.5), else T3. In timer recovery T1
        times the poll and is left alone."""
        if self.state is not LinkState.CONNECTED:
            return
        if self._next or (self._peer_busy and (self._outgoing or self._unacked)):
            if self._t1_at is None:
                self._start_t1(now)
            self._t3_at = None
        else:
            self._stop_t1()
            if self._t3_at is None:
                self._t3_at = now + self.config.t3

    def _nr_error(self, now: float) -> LinkState:
        # AX.25 2.0, 2.3.4.3.3: an invalid N(R) is answered with FRMR (Z bit); we then close.
        self._send_frmr(z=True)
        return self._release(now, DisconnectReason.PROTOCOL_ERROR)

    def _retransmit(self) -> None:
        """Back V(S) up to V(A): every unacknowledged frame goes out again."""
        if self._next:
            self._log.debug("= resending from N(S)=%d", self._va)
        self._next = 0
        for index in range(len(self._sent_at)):
            self._sent_at[index] = None  # Karn: no round-trip samples from resent frames

    def _push(self, now: float) -> None:
        """Send I frames while the window and the peer allow."""
        if not self.connected or self._peer_busy:
            return
        window = self.config.window
        sent = False
        while True:
            new = self._next == len(self._unacked)
            if new:
                if not self._outgoing or len(self._unacked) >= window:
                    break
                chunk = bytes(self._outgoing[: self.config.paclen])
                del self._outgoing[: self.config.paclen]
                self._unacked.append(chunk)
                self._sent_at.append(None)
                self._left_at.append(0.0)
                self._tx_serial.append(0)
                self.stats["i_sent"] += 1
            else:
                self.stats["i_resent"] += 1
            info = self._unacked[self._next]
            ns = self.vs
            self._next += 1
            on_air = self._emit(FrameType.I, command=True, pf=False, ns=ns, nr=self._vr, info=info)
            self._left_at[self._next - 1] = on_air
            self._tx_serial[self._next - 1] = self._serial
            if new:  # round-trip samples come from first transmissions only (Karn)
                self._sent_at[-1] = on_air
            sent = True
        if sent:
            if self._t1_at is None:
                self._start_t1(now)  # from the end of the burst just handed to the TNC
            self._t3_at = None

    def _ack_later(self, now: float, *, full: bool) -> None:
        """Acknowledge soon: at once after a short frame (the burst is over) or a window's
        worth of frames, else T2 after this frame, so one RR covers the rest of the burst.

        T2 restarts with every frame of a burst and adapts to their spacing (one frame's air
        time): 1.5 x the smoothed gap between frames of a burst, at most ``config.t2``. A KISS
        TNC holds our RR while the peer transmits anyway; acknowledging every frame would only
        put several RRs on the air where one does.
        """
        if self._t2_at is not None:  # the previous frame is unacknowledged: same burst
            gap = now - self._last_rx
            self._rx_gap = gap if self._rx_gap is None else 0.75 * self._rx_gap + 0.25 * gap
        self._last_rx = now
        if not full or (self._vr - self._acked_vr) % MODULUS >= self.config.window:
            self._send_s(self._receiver_state(), command=False, pf=False)
            return
        delay = self.config.t2 if self._rx_gap is None else min(self.config.t2, 1.5 * self._rx_gap)
        self._t2_at = now + delay

    def _maybe_release(self, now: float) -> LinkState:
        if self._closing and self.connected and not self._outgoing and not self._unacked:
            return self._release(now, DisconnectReason.LOCAL)
        return self.state

    def _release(self, now: float, reason: DisconnectReason) -> LinkState:
        self._release_reason = reason
        self._rc = 0
        self._t2_at = self._t3_at = None
        self._send_u(FrameType.DISC, command=True, pf=True)
        self._start_t1(now)
        return LinkState.AWAITING_RELEASE

    def _up(self, now: float) -> None:
        self._rc = 0
        self._stop_t1()
        self._t3_at = now + self.config.t3
        self._events.append(Connected())
        self._push(now)

    def _down(self, reason: DisconnectReason) -> LinkState:
        unsent = self.queued
        self._t1_at = self._t2_at = self._t3_at = None
        self._unacked.clear()
        self._sent_at.clear()
        self._left_at.clear()
        self._tx_serial.clear()
        self._outgoing.clear()
        self._next = 0
        self._closing = self._own_busy = False
        if unsent:
            self._log.warning("= disconnected (%s) with %d bytes unsent", reason.value, unsent)
        else:
            self._log.info("= disconnected (%s)", reason.value)
        self._events.append(Disconnected(reason, unsent))
        return LinkState.DISCONNECTED

    def _reset_sequence(self) -> None:
        self._va = self._vr = self._acked_vr = self._next = 0
        self._unacked.clear()
        self._sent_at.clear()
        self._left_at.clear()
        self._tx_serial.clear()
        self._reject_sent = self._peer_busy = False

    def _start_t1(self, now: float, value: float | None = None) -> None:
        # T1 runs from when our frames are on the air, not from when the TNC got them.
        self._t1_started = max(now, self._tx_free_at)
        self._t1_at = self._t1_started + (self._t1v if value is None else value)

    def _stop_t1(self) -> None:
        self._t1_at = None

    def _measure(self, rtt: float, *, fresh: bool) -> None:
        # AX.25 2.2 "select T1 value": SRT = 7/8 SRT + 1/8 RTT, T1 = 2 SRT (clamped).
        if not fresh:
            return
        self._srt = 7 / 8 * self._srt + rtt / 8
        self._t1v = self._clamp(2 * self._srt)

    def _back_off(self) -> None:
        # After an expiry: T1 = 2 SRT + RC x 0.25 s, Direwolf's linear back-off (the 2.2 SDL
        # doubles, 2^(RC+1) SRT: after 3 losses in a row a lossy channel would idle for 16 SRT).
        self._t1v = self._clamp(2 * self._srt + BACK_OFF_STEP * self._rc)

    def _clamp(self, t1: float) -> float:
        return min(max(t1, self.config.t1_min), self.config.t1_max)

    def _send_u(self, kind: FrameType, *, command: bool, pf: bool) -> None:
        self._emit(kind, command=command, pf=pf)

    def _send_s(self, kind: FrameType, *, command: bool, pf: bool) -> None:
        self._emit(kind, command=command, pf=pf, nr=self._vr)

    def _send_frmr(self, *, w: bool = False, z: bool = False) -> None:
        # Information field of FRMR (AX.25 2.0, 2.3.4.3.3.2): the rejected control field (not
        # kept by the decoder: 0), V(R)/C-R/V(S), then the W X Y Z bits.
        info = bytes([0, (self._vr << 5) | (self.vs << 1), (int(z) << 3) | int(w)])
        self._emit(FrameType.FRMR, command=False, pf=False, info=info)

    def _emit(
        self,
        kind: FrameType,
        *,
        command: bool,
        pf: bool,
        ns: int | None = None,
        nr: int | None = None,
        info: bytes = b"",
    ) -> float:
        """Queue a frame for the TNC; returns when it will have been sent (estimated)."""
        if nr is not None:
            self._acked_vr = nr
            self._t2_at = None
        frame = Frame(
            destination=self.remote,
            source=self.local,
            type=kind,
            path=self.path,
            command=command,
            poll_final=pf,
            ns=ns,
            nr=nr,
            pid=PID_NO_LAYER3 if kind is FrameType.I else None,
            info=info,
        )
        self._log.debug("> %r", frame)
        self._frames.append(frame)
        air = self._air_time(frame)
        self._tx_free_at = max(self._now, self._tx_free_at) + air
        self._serial += 1
        if self._reports_sent:
            self._held.append((self._serial, air))
        return self._tx_free_at

    def _air_time(self, frame: Frame) -> float:
        """Seconds ``frame`` takes on the air at ``config.bytes_per_second`` (0 if unset):
        addresses, control, PID, info, FCS and a flag."""
        rate = self.config.bytes_per_second
        if rate is None:
            return 0.0
        size = 14 + 7 * len(frame.path) + 1 + (frame.pid is not None) + len(frame.info) + 3
        return size / rate


def _pf(frame: Frame | None) -> bool:
    """F for an answer: the P bit of the frame it answers."""
    return frame is not None and frame.poll_final
