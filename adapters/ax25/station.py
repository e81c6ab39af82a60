"""The radio station: KISS bytes in, ASGI events out; application messages out, frames on air.

Theory of operation
-------------------

:meth:`Station.data_received` gets every chunk the transport reads. The KISS decoder splits it
into frames, :func:`decode_frame` parses each one; anything malformed is logged at INFO,
counted (``gateway_ax25_dropped_total``) and dropped, and the next frame is read as usual.
Then, for each frame heard:

1. the monitor scope (if the CallsignRouter has a monitor) gets ``ax25.frame``;
2. a UI frame whose info is an APRS message to one of our callsigns is APRS: a numbered
   message is acked at once, delivered as ``aprs.message`` the first time only
   (:class:`~adapters.ax25.seen.SeenMessages`), and an ack/reject (or a reply-ack) goes to the
   :class:`~adapters.ax25.messaging.Messenger`;
3. any other UI frame whose destination is one of our callsigns is ``ax25.ui`` (datagram mode);
4. a connected-mode frame to one of our callsigns goes to :class:`~adapters.ax25.links.Links`.

Events go to one scope per (local, remote, mode) through ``runtime.deliver_by_key``, which
opens the scope on first use and keeps each key's events in order.

Output: a scope's ``ax25.ui`` becomes a UI frame to the remote station; its ``aprs.message``
goes to the Messenger, which numbers, splits and re-sends until acked. Every frame goes
through one :class:`~gateway.pacing.PacedSender` whose RateLimiter keeps the channel under
``AX25_BYTES_PER_SECOND`` (a shared half-duplex channel: 1200 baud carries about 120 bytes/s).
When the pacer writes a frame to the TNC, :meth:`Station.transmit`'s future resolves with when
the TNC will have sent it (after what it still holds, at that rate): the links start T1 from
that, not from when they gave the frame out.
The Messenger's and the links' timers run on one clock timer, re-armed after each change.

Reach (gateway/reach.py): with a channel layer, an APRS conversation's scope carries
``scope["reach"] = {"channel": "ax25.reach.<local>", "type": "aprs.message", "to": <remote>,
"ttl": 3600}``, and the station takes ``aprs.message`` from each of its callsigns' reach
channels (:meth:`Station.deliver_reach`): the text goes to the station through the Messenger,
scope or not, while the station was heard within the last :data:`REACH_HEARD_SECONDS` (in the
first such period after a start, a station not heard yet is trusted to the bot's stored
``reach_until``: the previous run may have heard it) and at most
:data:`REACH_MAX_QUEUED` unacked parts wait for it; parts beyond are dropped, logged and
counted (``gateway_ax25_aprs_total{event="reach_dropped"}``): a station off the air must not
fill the channel with re-sends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.ax25 import aprs, metrics
from adapters.ax25.config import Ax25Config
from adapters.ax25.frame import (
    PID_NO_LAYER3,
    Callsign,
    Frame,
    FrameError,
    FrameType,
    Hop,
    InvalidCallsign,
    decode_frame,
    encode_frame,
)
from adapters.ax25.kiss import Command, KissDecoder, encode_data
from adapters.ax25.links import CONNECTED_MODE_TYPES, LinkHost, Links, reply_path
from adapters.ax25.messaging import Messenger, Transmission
from adapters.ax25.seen import SeenMessages
from gateway.ax25.scope import ax25_scope
from gateway.clock import Clock, TimerHandleLike, resolve
from gateway.exceptions import GatewayError, InvalidMessage, MessageTooLarge
from gateway.pacing import PacedSender, RateLimiter, Window
from gateway.reach import ReachMessage, reach_address, serve_channel
from gateway.runtime import ApplicationRuntime, ScopeSpec
from gateway.types import Message

__all__ = ["MAX_INFO", "REACH_HEARD_SECONDS", "REACH_MAX_QUEUED", "Station", "reach_channel_name"]

logger = logging.getLogger(__name__)

#: Longest info field we send (AX.25 N1 default; most TNCs and digipeaters take no more).
MAX_INFO = 256
# PacedSender keys. One radio channel, one overall budget; acks have a lane of their own so
# that a long reply queued before them does not hold them back (keys are served in turn).
_CHANNEL = "channel"
_ACKS = "acks"
#: Bytes an HDLC frame adds on the air: opening and closing flag, 16-bit FCS.
_HDLC_OVERHEAD = 4
#: A station is reached without a scope for this long after it was last heard.
REACH_HEARD_SECONDS = 3600.0
#: Unacked parts that may wait for one station; reach messages beyond are dropped.
REACH_MAX_QUEUED = 3
#: The type of the messages taken on the reach channels.
REACH_TYPE = "aprs.message"


class _Outgoing:
    """A frame in the pacer's queue: its KISS bytes, its air time, and (once written) when the
    TNC will have sent it."""

    __slots__ = ("air_time", "data", "done")

    def __init__(self, data: bytes, air_time: float) -> None:
        self.data = data
        self.air_time = air_time
        self.done = 0.0


def _relay(sent: asyncio.Future[float], outgoing: _Outgoing, paced: asyncio.Future[None]) -> None:
    """Pass the pacer's outcome on to ``transmit``'s future, with the departure time."""
    if sent.done():  # its waiter was cancelled
        if not paced.cancelled():
            paced.exception()  # the pacer logged a failure: mark it retrieved
        return
    if paced.cancelled():
        sent.cancel()
    elif (exc := paced.exception()) is not None:
        sent.set_exception(exc)
        sent.exception()  # the pacer logged it; a caller that does not wait need not look
    else:
        sent.set_result(outgoing.done)


def reach_channel_name(local: Callsign | str) -> str:
    """The channel-layer name reach messages from our callsign ``local`` are taken on."""
    return f"ax25.reach.{local}"


class Station:
    """Our station(s) on one TNC; see the module docstring.

    Args:
        config: the adapter's configuration.
        runtime: where scopes run.
        write: writes bytes to the TNC (raises TncUnavailable while it is away).
        seen: the dedupe set of inbound APRS messages.
        messenger: outbound APRS messaging.
        monitor: True when the application has a monitor route (every frame heard).
        clock: the clock for timers and pacing; None: the loop's.
        links_factory: builds the connected-mode links (part 2 passes its own).
        layer: the channel layer to take reach messages from (None: APRS scopes carry no
            ``reach``).
    """

    def __init__(
        self,
        config: Ax25Config,
        runtime: ApplicationRuntime,
        write: Callable[[bytes], Awaitable[None]],
        *,
        seen: SeenMessages,
        messenger: Messenger,
        monitor: bool = False,
        clock: Clock | None = None,
        links_factory: Callable[[LinkHost], Links] = Links,
        layer: Any = None,
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.callsigns = frozenset(config.callsigns)
        self._write = write
        self.seen = seen
        self.messenger = messenger
        self.monitor = monitor
        self.clock = resolve(clock)
        self.decoder = KissDecoder()
        window = config.pacing_window
        self.pacer = PacedSender(
            RateLimiter(overall=[Window(config.bytes_per_second * window, window)]),
            self._transmit,
            name="ax25",
            clock=clock,
        )
        self._timer: TimerHandleLike | None = None
        self._timer_at: float | None = None
        #: When the TNC will have sent everything written to it (estimated).
        self._air_free_at = 0.0
        self.layer = layer
        #: (local, remote) -> when an APRS message from remote to local was last heard, oldest
        #: first; entries older than REACH_HEARD_SECONDS are forgotten (bounded on a busy
        #: channel), which :meth:`deliver_reach` reads as "not heard within the hour" once the
        #: station has run that long.
        self._heard: OrderedDict[tuple[str, str], float] = OrderedDict()
        #: When :meth:`start` ran: before that hour is over, a station not heard may simply
        #: have been heard by the previous run (the bot's ``reach_until`` decides).
        self._started_at: float | None = None
        self._reach_tasks: list[asyncio.Task[None]] = []
        #: True once :meth:`aclose` started.
        self.closed = False
        self.links = links_factory(self)  # last: it may use the station right away

    def start(self) -> None:
        """Start the pacer and the reach listeners (call from the running loop)."""
        self.pacer.start()
        self._started_at = self.clock.time()
        if self.layer is not None:
            for local in sorted(str(c) for c in self.callsigns):
                deliver = functools.partial(self.deliver_reach, local)
                self._reach_tasks.append(
                    asyncio.ensure_future(
                        serve_channel(self.layer, reach_channel_name(local), REACH_TYPE, deliver)
                    )
                )

    async def aclose(self, drain_timeout: float) -> None:
        """Say goodbye to links, stop the timers, send what is queued within ``drain_timeout``.

        Frames heard from then on are ignored (the TNC stays connected while the queue drains).
        """
        self.closed = True
        for task in self._reach_tasks:
            task.cancel()
        await asyncio.gather(*self._reach_tasks, return_exceptions=True)
        await self.links.aclose()
        if self._timer is not None:
            self._timer.cancel()
        await self.pacer.aclose(drain_timeout)

    # -- input ----------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Bytes from the TNC: decode and dispatch every complete frame."""
        if self.closed:
            logger.debug("< %d bytes ignored: the station is closing", len(data))
            return
        for kiss_frame in self.decoder.feed(data):
            if kiss_frame.command != Command.DATA or kiss_frame.port != self.config.kiss_port:
                logger.debug(
                    "KISS command %d on port %d ignored", kiss_frame.command, kiss_frame.port
                )
                continue
            try:
                frame = decode_frame(kiss_frame.payload)
            except FrameError as exc:
                metrics.DROPPED.labels(reason="frame").inc()
                logger.info(
                    "< malformed AX.25 frame dropped: %s (%s)",
                    exc,
                    kiss_frame.payload[:40].hex(" "),
                )
                continue
            try:
                self.frame_received(frame, kiss_frame.port)
            except Exception:
                # A bug must not take the TNC connection (and every other station) down.
                logger.exception("< error handling %r; frame dropped", frame)
        for error in self.decoder.errors():
            metrics.DROPPED.labels(reason="kiss").inc()
            logger.info("< %s", error)

    def frame_received(self, frame: Frame, port: int = 0) -> None:
        """Dispatch one frame heard on TNC ``port`` (see the module docstring)."""
        metrics.FRAMES_IN.inc()
        logger.debug("< %r", frame)
        if self.monitor:
            self._deliver_monitor(frame, port)
        if frame.type is FrameType.UI:
            if frame.pid == PID_NO_LAYER3 and frame.info[:1] == b":" and self._aprs_received(frame):
                return
            if frame.destination in self.callsigns:
                self._deliver(
                    frame.destination,
                    frame.source,
                    "datagram",
                    frame.path,
                    {"type": "ax25.ui", "bytes": frame.info, "pid": frame.pid},
                )
        elif frame.type in CONNECTED_MODE_TYPES and frame.destination in self.callsigns:
            self.links.frame_received(frame, port, self.clock.time())
            self._arm_timer()

    def _aprs_received(self, frame: Frame) -> bool:
        """Handle an APRS message packet; False when it is not addressed to us."""
        try:
            packet = aprs.parse(frame.info)
        except aprs.AprsError as exc:
            metrics.DROPPED.labels(reason="aprs").inc()
            logger.info("< malformed APRS message from %s dropped: %s", frame.source, exc)
            return False
        if packet is None:
            return False
        try:
            local = Callsign.parse(packet.addressee)
        except InvalidCallsign:
            return False
        if local not in self.callsigns:
            return False
        remote = frame.source
        now = self.clock.time()
        if isinstance(packet, aprs.AprsMessage):
            if packet.reply_ack:
                self._acknowledged(local, remote, packet.reply_ack, now, rejected=False)
            if packet.msgno is not None:
                # Ack at once, a repeat too: the sender re-sends because our last ack was lost.
                metrics.aprs("ack_sent").inc()
                ack = aprs.encode_ack(str(remote), packet.msgno)
                self._send_aprs(local, remote, ack, lane=_ACKS)
                if not self.seen.first_time(str(local), str(remote), packet.msgno):
                    metrics.aprs("duplicate").inc()
                    logger.info(
                        "< APRS %s>%s message %s repeated: acked again, not delivered",
                        remote,
                        local,
                        packet.msgno,
                    )
                    return True
            metrics.aprs("message_in").inc()
            self._note_heard(str(local), str(remote), now)
            self._deliver(
                local,
                remote,
                "aprs",
                frame.path,
                {"type": "aprs.message", "text": packet.text, "msgno": packet.msgno},
            )
        else:
            rejected = isinstance(packet, aprs.AprsReject)
            metrics.aprs("reject_received" if rejected else "ack_received").inc()
            self._acknowledged(local, remote, packet.msgno, now, rejected=rejected)
        return True

    def _acknowledged(
        self, local: Callsign, remote: Callsign, msgno: str, now: float, *, rejected: bool
    ) -> None:
        self._send_transmissions(
            self.messenger.acknowledged(str(local), str(remote), msgno, now, rejected=rejected)
        )
        self._report_given_up()
        self._arm_timer()

    # -- scopes ---------------------------------------------------------------------------------

    def scope(
        self, local: Callsign, remote: Callsign, mode: str, path: tuple[Hop, ...]
    ) -> dict[str, Any]:
        """The ASGI scope of a (local, remote, mode) conversation (docs/specs/ax25.md)."""
        paths = [str(hop) for hop in path]
        scope = ax25_scope(mode, str(local), str(remote), paths, self.config.kiss_port)
        if mode == "aprs" and self.layer is not None:
            scope["reach"] = reach_address(
                reach_channel_name(local), REACH_TYPE, str(remote), ttl=REACH_HEARD_SECONDS
            )
        return scope

    async def deliver_reach(self, local: str, message: ReachMessage) -> None:
        """An ``aprs.message`` from ``local``'s reach channel: send it to the station through
        the Messenger (see the module docstring for the heard window and the queue limit).

        Raises:
            InvalidMessage: ``to`` is not a callsign.
        """
        try:
            remote = str(Callsign.parse(str(message.to)))
        except InvalidCallsign as exc:
            raise InvalidMessage(f"{REACH_TYPE}: 'to' is not a callsign: {exc}") from None
        now = self.clock.time()
        parts = aprs.split_text(message.text, aprs.MAX_TEXT)
        heard = self._heard.get((local, remote))
        if heard is not None and now - heard > REACH_HEARD_SECONDS:
            self._reach_dropped(local, remote, len(parts), f"not heard for {now - heard:.0f} s")
            return
        started = self._started_at
        if heard is None and started is not None and now - started > REACH_HEARD_SECONDS:
            self._reach_dropped(
                local, remote, len(parts), f"not heard in the last {REACH_HEARD_SECONDS:.0f} s"
            )
            return
        room = max(0, REACH_MAX_QUEUED - self.messenger.queued(local, remote))
        if len(parts) > room:
            self._reach_dropped(
                local, remote, len(parts) - room, f"{REACH_MAX_QUEUED} parts wait for acks"
            )
            parts = parts[:room]
        if parts:
            self._send_transmissions(self.messenger.send_parts(local, remote, parts, now))
            self._arm_timer()

    def _note_heard(self, local: str, remote: str, now: float) -> None:
        """Remember that ``remote`` sent ``local`` a message at ``now``; forget stations not
        heard for longer than :data:`REACH_HEARD_SECONDS`."""
        self._heard[(local, remote)] = now
        self._heard.move_to_end((local, remote))
        while self._heard:
            key, when = next(iter(self._heard.items()))
            if now - when <= REACH_HEARD_SECONDS:
                break
            del self._heard[key]

    def _reach_dropped(self, local: str, remote: str, count: int, why: str) -> None:
        metrics.aprs("reach_dropped").inc(count)
        logger.info("> APRS %s>%s: %d reach part(s) dropped: %s", local, remote, count, why)

    def _deliver(
        self, local: Callsign, remote: Callsign, mode: str, path: tuple[Hop, ...], event: Message
    ) -> None:
        def opener() -> ScopeSpec:
            return ScopeSpec(
                scope=self.scope(local, remote, mode, path),
                send=self._sender(local, remote, reply_path(path)),
                close_event={"type": "ax25.disconnect", "reason": "idle"},
                idle_timeout=self.config.idle_timeout,
            )

        self.runtime.deliver_by_key((str(local), str(remote), mode), event, opener)

    def _deliver_monitor(self, frame: Frame, port: int) -> None:
        def opener() -> ScopeSpec:
            return ScopeSpec(
                scope=ax25_scope("monitor", None, None, [], port),
                send=self._monitor_send,
                idle_timeout=None,
            )

        event = {
            "type": "ax25.frame",
            "source": str(frame.source),
            "destination": str(frame.destination),
            "path": [str(hop) for hop in frame.path],
            "frame_type": frame.type.name,
            "command": frame.command,
            "pid": frame.pid,
            "bytes": frame.info,
        }
        self.runtime.deliver_by_key(("monitor",), event, opener)

    async def _monitor_send(self, message: Message) -> None:
        raise InvalidMessage(
            f"the monitor scope only listens; it cannot send {message.get('type')!r} "
            "(reply from the callsign's own route)"
        )

    def _sender(
        self, local: Callsign, remote: Callsign, path: tuple[Hop, ...]
    ) -> Callable[[Message], Awaitable[None]]:
        async def send(message: Message) -> None:
            kind = message.get("type")
            if kind == "aprs.message":
                text = message.get("text")
                if not isinstance(text, str):
                    raise InvalidMessage("aprs.message needs 'text' (a str)")
                transmissions = self.messenger.send(
                    str(local), str(remote), text, self.clock.time()
                )
                self._send_transmissions(transmissions)
                self._arm_timer()
            elif kind == "ax25.ui":
                data = message.get("bytes")
                pid = message.get("pid", PID_NO_LAYER3)
                if not isinstance(data, bytes) or not isinstance(pid, int) or not 0 <= pid <= 255:
                    raise InvalidMessage(
                        "ax25.ui needs 'bytes' (bytes) and optionally 'pid' (0-255)"
                    )
                if len(data) > MAX_INFO:
                    raise MessageTooLarge(
                        f"ax25.ui carries at most {MAX_INFO} bytes, got {len(data)}: split it"
                    )
                frame = Frame(remote, local, FrameType.UI, path=path, pid=pid, info=data)
                try:
                    # Waiting for the air is the back-pressure on a chatty consumer.
                    await self.transmit(frame, self.config.kiss_port)
                except GatewayError as exc:
                    # The TNC stayed away (the pacer logged it): like a datagram on a dead
                    # radio, it is lost; the consumer goes on.
                    logger.info("> UI %s>%s not sent: %s", local, remote, exc)
            else:
                raise InvalidMessage(f"ax25 scopes send 'ax25.ui' or 'aprs.message', got {kind!r}")

        return send

    # -- output ---------------------------------------------------------------------------------

    def transmit(self, frame: Frame, port: int, lane: str = _CHANNEL) -> asyncio.Future[float]:
        """Queue ``frame`` for the air, paced.

        Returns:
            A future that resolves once the frame is written to the TNC, with when the TNC
            will have sent it (the clock's time, estimated from everything written before it
            at ``AX25_BYTES_PER_SECOND``); the links time T1 from that.
        """
        raw = encode_frame(frame)
        logger.debug("> %r", frame)
        # The air carries the frame plus flags and FCS (KISS escapes exist on the host link only).
        cost = len(raw) + _HDLC_OVERHEAD
        outgoing = _Outgoing(encode_data(raw, port), cost / self.config.bytes_per_second)
        paced = self.pacer.put(lane, outgoing, cost=cost)
        sent: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        paced.add_done_callback(functools.partial(_relay, sent, outgoing))
        return sent

    async def _transmit(self, key: Any, outgoing: _Outgoing) -> None:
        await self._write(outgoing.data)
        # The TNC sends what it gets one frame after another: ours after what it still holds.
        now = self.clock.time()
        self._air_free_at = max(now, self._air_free_at) + outgoing.air_time
        outgoing.done = self._air_free_at
        metrics.FRAMES_OUT.inc()

    def _send_aprs(
        self, local: Callsign | str, remote: Callsign | str, info: bytes, lane: str = _CHANNEL
    ) -> None:
        source = local if isinstance(local, Callsign) else Callsign.parse(local)
        frame = Frame(
            self.config.aprs_tocall,
            source,
            FrameType.UI,
            path=self.config.aprs_path,
            pid=PID_NO_LAYER3,
            info=info,
        )
        logger.debug("> APRS %s>%s %r", source, remote, info)
        self.transmit(frame, self.config.kiss_port, lane)

    def _send_transmissions(self, transmissions: list[Transmission]) -> None:
        for transmission in transmissions:
            metrics.aprs("retry" if transmission.retry else "message_out").inc()
            self._send_aprs(transmission.local, transmission.remote, transmission.info)

    def _report_given_up(self) -> None:
        for gave_up in self.messenger.take_given_up():
            if gave_up.rejected:
                logger.warning(
                    "APRS %s>%s message %s rejected by the station: %r",
                    gave_up.local,
                    gave_up.remote,
                    gave_up.msgno,
                    gave_up.text,
                )
            else:
                metrics.aprs("given_up").inc()
                logger.warning(
                    "APRS %s>%s message %s not acked after %d tries; dropped: %r",
                    gave_up.local,
                    gave_up.remote,
                    gave_up.msgno,
                    self.messenger.policy.max_tries,
                    gave_up.text,
                )

    # -- timers ---------------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        due = [t for t in (self.messenger.get_timer(), self.links.get_timer()) if t is not None]
        when = min(due) if due else None
        if when == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = None if when is None else self.clock.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        now = self.clock.time()
        self._send_transmissions(self.messenger.handle_timer(now))
        self._report_given_up()
        self.links.handle_timer(now)
        self._arm_timer()
