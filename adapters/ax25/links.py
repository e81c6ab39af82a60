"""Connected-mode links of the AX.25 adapter: one :class:`Link` and one scope per station pair.

Theory of operation
-------------------

The adapter hands :meth:`LinkManager.frame_received` every connected-mode frame (I, S and U
frames other than UI) addressed to one of our callsigns. Links are keyed by (local, remote)
callsign-SSID, so ``N0CALL-5`` and ``N0CALL-6`` are two links, and so are ``BOT-1`` and
``BOT-2`` talking to one station. A SABM creates a link; other frames for an unknown pair are
answered as a disconnected station answers them (DM), by a throwaway :class:`Link` so the rules
stay in one place.

Each link gets one scope (``mode: "connected"``) on the shared runtime, opened when the peer's
SABM arrives (the consumer gets ``ax25.connect`` and answers ``ax25.accept`` or
``ax25.reject``) or, for a link we open, when the peer's UA arrives. The scope ends with the
link: ``ax25.disconnect`` is its last event. The manager uses ``open_scope`` and
``deliver_nowait`` rather than delivery by key: a link is a connection, so when its
consumer ends, the link is closed (DISC), never re-opened to a fresh instance.

Flow control, both ways:

- towards the consumer: events wait in the link's own inbox when the scope's queue is full.
  When the inbox plus the scope's queue reach ``backlog_high`` events, the link says RNR and
  the peer stops sending; at ``backlog_low`` it says RR again. A slow consumer only ever
  stalls its own link; nothing received is dropped (the link discards I frames only while it
  has said RNR, and the peer resends them).
- towards the peer: ``ax25.send`` queues any amount in the link, which cuts it into I frames of
  PACLEN and honours the peer's RNR; the consumer's ``send`` waits while more than
  ``send_buffer`` bytes are queued, so a consumer cannot outrun a 1200-baud channel unbounded.

Timers: every link reports its next deadline (``Link.get_timer``); the manager keeps ONE clock
callback armed at the earliest of them and runs the due links when it fires. Behind the
station (:class:`Links`) each frame's future resolves with when the TNC will have sent it,
after the station's pacer released it; that goes back to its link (``Link.frame_sent``), so
T1 counts from the real departure even when the pacer held the frame back.

Outgoing connects: :meth:`LinkManager.connect`, or an ``ax25.connect`` message sent on the
channel layer to :data:`CONNECT_CHANNEL` (see docs/ax25-connected.md), served by
:meth:`LinkManager.serve_connect_requests`.

The adapter's station plugs in through :class:`Links` (``Links(host)``, then
``frame_received(frame, port, now)``, ``get_timer()``/``handle_timer(now)`` and ``aclose()``).
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings as django_settings

from adapters.ax25 import link_metrics
from adapters.ax25.frame import Callsign, Frame, FrameError, FrameType, Hop
from adapters.ax25.link import Link, LinkState
from adapters.ax25.link_events import (
    Connected,
    ConnectRequest,
    DataReceived,
    Disconnected,
    LinkConfig,
    LinkEvent,
    PeerBusy,
)
from gateway.clock import Clock, TimerHandleLike, resolve
from gateway.exceptions import ConfigurationError, InvalidState, LocalProtocolError, ScopeClosed
from gateway.layers import get_channel_layer
from gateway.runtime import ApplicationRuntime, ScopeHandle
from gateway.types import Message, Scope

__all__ = [
    "CONNECTED_MODE_TYPES",
    "CONNECT_CHANNEL",
    "LinkHost",
    "LinkManager",
    "Links",
    "Transmit",
    "link_config_from_settings",
    "reply_path",
]

logger = logging.getLogger(__name__)

#: Channel-layer channel on which consumers ask for outgoing connects (``ax25.connect``).
CONNECT_CHANNEL = "ax25.connect"

#: ``transmit(frame, port)``: put a frame on the air through the TNC (KISS port ``port``).
Transmit = Callable[[Frame, int], None]

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

_serial = itertools.count(1)

#: Scope builder: (local, remote, mode, path) -> the ASGI scope (the station's, for one format).
ScopeFactory = Callable[[Callsign, Callsign, str, tuple[Hop, ...]], dict[str, Any]]


def reply_path(path: tuple[Hop, ...]) -> tuple[Hop, ...]:
    """The digipeater path back to a station: the hops that repeated its frame, reversed, with
    H bits clear (hops not yet repeated were not needed: we heard the frame before them)."""
    return tuple(Hop(hop.callsign) for hop in reversed(path) if hop.repeated)


def _default_scope(
    local: Callsign, remote: Callsign, mode: str, path: tuple[Hop, ...]
) -> dict[str, Any]:
    return {
        "type": "ax25",
        "asgi": {"version": "3.0", "spec_version": "1.0"},
        "mode": mode,
        "local": str(local),
        "remote": str(remote),
        "path": [str(hop) for hop in path],
    }


@dataclass(eq=False)
class _Entry:
    """A link and its scope."""

    link: Link
    port: int
    outgoing: bool
    reply_channel: str | None = None
    handle: ScopeHandle | None = None
    opening: asyncio.Task[None] | None = None
    late_delivery: asyncio.Task[None] | None = None
    inbox: deque[Message] = field(default_factory=deque)
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )
    busy: bool = False
    counted: dict[str, int] = field(default_factory=dict)  # link.stats already in the metrics
    room: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False

    @property
    def key(self) -> tuple[Callsign, Callsign]:
        return (self.link.local, self.link.remote)


class LinkManager:
    """All connected-mode links of one adapter.

    Args:
        runtime: the adapter's application runtime (protocol "ax25").
        transmit: puts a frame on the air (the adapter encodes it and writes KISS).
        callsigns: our stations; frames to other callsigns are not ours.
        config: link parameters (AX25_PACLEN, AX25_WINDOW, AX25_T1, ...).
        clock: time and the one timer callback (default: the running loop's).
        backlog_high: consumer backlog (events) at which the link says RNR.
        backlog_low: backlog at which it says RR again (default: a quarter of the high mark).
        send_buffer: bytes queued on a link beyond which the consumer's ``ax25.send`` waits.
    """

    def __init__(
        self,
        runtime: ApplicationRuntime,
        transmit: Transmit,
        callsigns: Iterable[Callsign],
        config: LinkConfig | None = None,
        *,
        clock: Clock | None = None,
        backlog_high: int = 8,
        backlog_low: int | None = None,
        send_buffer: int = 16384,
        scope_factory: ScopeFactory = _default_scope,
    ) -> None:
        self.runtime = runtime
        self.config = config or LinkConfig()
        self.callsigns = frozenset(callsigns)
        self._transmit = transmit
        self._clock = resolve(clock)
        self._high = backlog_high
        low = backlog_high // 4 if backlog_low is None else backlog_low
        self._low = max(0, min(low, backlog_high - 1))
        self._send_buffer = send_buffer
        self._links: dict[tuple[Callsign, Callsign], _Entry] = {}
        self._timer: TimerHandleLike | None = None
        self._timer_at: float | None = None
        self._layer: Any = None
        self._scope_factory = scope_factory

    # -- what the adapter calls ----------------------------------------------------------------

    @property
    def links(self) -> int:
        """Links open or opening."""
        return len(self._links)

    def link(self, local: Callsign, remote: Callsign) -> Link | None:
        """The link between ``local`` and ``remote``, if any (for /status and tests)."""
        entry = self._links.get((local, remote))
        return entry.link if entry else None

    def frame_received(self, frame: Frame, port: int = 0, now: float | None = None) -> None:
        """Feed a frame heard on KISS port ``port`` (at ``now``, default the clock's time).
        Frames not for a link of ours are ignored. Never raises for what the peer sent.
        """
        if frame.type is FrameType.UI or frame.destination not in self.callsigns:
            return
        if any(not hop.repeated for hop in frame.path):
            return  # still on its way through the digipeaters: it is not for us yet
        key = (frame.destination, frame.source)
        entry = self._links.get(key)
        if now is None:
            now = self._clock.time()
        if entry is None:
            if frame.type is not FrameType.SABM:
                # No link: answer as a disconnected station does (DM to commands).
                self._answer_unknown(frame, port, now)
                return
            link = Link(
                frame.destination, frame.source, self.config, reports_sent=self._reports_sent
            )
            entry = self._links[key] = _Entry(link, port, outgoing=False)
            link_metrics.LINKS.set(len(self._links))
        entry.link.receive_frame(frame, now)
        self._service(entry)

    def connect(
        self,
        local: Callsign,
        remote: Callsign,
        path: tuple[Hop, ...] = (),
        *,
        port: int = 0,
        reply_channel: str | None = None,
    ) -> None:
        """Open a link from our side (SABM). When the peer answers UA, a scope opens for it and
        its consumer gets ``ax25.connect`` with ``"outgoing": True``. If the peer refuses or
        never answers and ``reply_channel`` is given, ``ax25.connect.failed`` is sent there.

        Raises:
            InvalidState: ``local`` is not ours, or a link between the two exists already.
        """
        if local not in self.callsigns:
            raise InvalidState(
                f"cannot connect from {local}: not one of our callsigns (AX25_CALLSIGN)"
            )
        if (local, remote) in self._links:
            raise InvalidState(f"a link {local}>{remote} exists already")
        link = Link(local, remote, self.config, path=path, reports_sent=self._reports_sent)
        entry = self._links[(local, remote)] = _Entry(
            link, port, outgoing=True, reply_channel=reply_channel
        )
        link_metrics.LINKS.set(len(self._links))
        logger.info("connecting %s>%s%s", local, remote, f" via {path}" if path else "")
        link.connect(self._clock.time())
        self._service(entry)

    def get_timer(self) -> float | None:
        """The earliest deadline of all links (the manager arms its own callback for it)."""
        return self._next_deadline()

    def _next_deadline(self) -> float | None:
        timers = [t for e in self._links.values() if (t := e.link.get_timer()) is not None]
        return min(timers) if timers else None

    def handle_timer(self, now: float) -> None:
        """Run the timers of every link due at ``now``."""
        for entry in list(self._links.values()):
            due = entry.link.get_timer()
            if due is not None and due <= now:
                entry.link.handle_timer(now)
                self._service(entry)
        self._rearm()

    def close_all(self) -> None:
        """Disconnect every link now (DISC; queued data is reported unsent): the adapter is
        stopping and cannot wait for acknowledgements."""
        now = self._clock.time()
        for entry in list(self._links.values()):
            if entry.link.state is LinkState.DISCONNECTED:
                continue
            entry.link.disconnect(now)
            self._service(entry)

    async def serve_connect_requests(self, layer: Any, channel: str = CONNECT_CHANNEL) -> None:
        """Serve outgoing-connect requests sent on the channel layer, until cancelled.

        A request is ``{"type": "ax25.connect", "local": "BOT-1", "remote": "N0CALL-5",
        "path": ["DIGI-1"], "reply_channel": <optional channel>}``. A bad request is logged
        and, when it names a reply channel, answered with ``ax25.connect.failed``.
        """
        self._layer = layer
        while True:
            message = await layer.receive(channel)
            try:
                local, remote, path = _parse_connect_request(message)
                self.connect(local, remote, path, reply_channel=message.get("reply_channel"))
            except (LocalProtocolError, FrameError) as exc:
                logger.warning("ax25.connect request refused: %s", exc)
                await self._reply_failed(message.get("reply_channel"), message, str(exc))

    # -- one link's outputs ----------------------------------------------------------------------

    #: True when :meth:`_send` reports every frame's departure to its link (``Link.frame_sent``).
    _reports_sent = False

    def _send(self, entry: _Entry, frame: Frame) -> None:
        """Give one of ``entry``'s frames to the transmitter."""
        self._transmit(frame, entry.port)

    def _service(self, entry: _Entry) -> None:
        """Send the link's frames, handle its events, re-arm the one timer."""
        link = entry.link
        while True:
            frames = link.frames_to_send()
            events = link.events()
            if not frames and not events:
                break
            for frame in frames:
                self._send(entry, frame)
            for event in events:
                self._on_event(entry, event)
        if link.queued <= self._send_buffer:
            entry.room.set()
        for kind, value in link.stats.items():
            if value != entry.counted.get(kind, 0):
                link_metrics.FRAMES.labels(kind=kind).inc(value - entry.counted.get(kind, 0))
                entry.counted[kind] = value
        self._rearm()

    def _on_event(self, entry: _Entry, event: LinkEvent) -> None:
        link = entry.link
        if isinstance(event, DataReceived):
            text = entry.decoder.decode(event.data)
            self._to_consumer(entry, {"type": "ax25.receive", "bytes": event.data, "text": text})
        elif isinstance(event, ConnectRequest):
            logger.info("%s>%s asks to connect", link.remote, link.local)
            self._to_consumer(entry, {"type": "ax25.connect", "outgoing": False})
            self._open_scope(entry)
        elif isinstance(event, Connected):
            logger.info("link %s>%s connected", link.local, link.remote)
            if entry.outgoing:
                self._to_consumer(entry, {"type": "ax25.connect", "outgoing": True})
                self._open_scope(entry)
        elif isinstance(event, PeerBusy):
            logger.debug("link %s>%s: peer %s", link.local, link.remote, event)
        elif isinstance(event, Disconnected):
            self._ended(entry, event)

    def _ended(self, entry: _Entry, event: Disconnected) -> None:
        entry.ended = True
        entry.room.set()
        link_metrics.ENDS.labels(reason=event.reason.value).inc()
        if self._links.get(entry.key) is entry:
            del self._links[entry.key]
            link_metrics.LINKS.set(len(self._links))
        message = {
            "type": "ax25.disconnect",
            "reason": event.reason.value,
            "unsent": event.unsent,
        }
        if entry.handle is None and entry.opening is None:
            # No scope was ever opened: our connect failed, or the peer gave up early.
            if entry.outgoing:
                self._spawn(
                    self._reply_failed(entry.reply_channel, None, event.reason.value, entry)
                )
            return
        self._to_consumer(entry, message)

    # -- towards the consumer ---------------------------------------------------------------------

    def _to_consumer(self, entry: _Entry, message: Message) -> None:
        entry.inbox.append(message)
        self._drain(entry)

    def _drain(self, entry: _Entry) -> None:
        handle = entry.handle
        if handle is None:
            return
        while entry.inbox:
            if handle.closed:
                logger.debug("scope gone: %d events for it dropped", len(entry.inbox))
                entry.inbox.clear()
                break
            handled = handle.deliver_nowait(entry.inbox[0])
            if handled is None:
                # Full. Our own queued events will call us back when handled; if none are
                # queued (the runtime-wide bound is reached), wait for room in a task.
                if handle.queued == 0 and entry.late_delivery is None:
                    entry.late_delivery = self._spawn(self._deliver_later(entry, handle))
                break
            entry.inbox.popleft()
            handled.add_done_callback(functools.partial(self._on_handled, entry))
        self._update_busy(entry)

    async def _deliver_later(self, entry: _Entry, handle: ScopeHandle) -> None:
        try:
            if entry.inbox:
                handled = await handle.deliver(entry.inbox.popleft())
                handled.add_done_callback(functools.partial(self._on_handled, entry))
        except ScopeClosed:
            entry.inbox.clear()
        finally:
            entry.late_delivery = None
        self._drain(entry)

    def _on_handled(self, entry: _Entry, future: asyncio.Future[None]) -> None:
        if not future.cancelled():
            future.exception()  # the runtime logs failures; mark it retrieved
        self._drain(entry)

    def _update_busy(self, entry: _Entry) -> None:
        backlog = len(entry.inbox) + (entry.handle.queued if entry.handle else 0)
        busy = backlog >= self._high or (entry.busy and backlog > self._low)
        if busy != entry.busy and not entry.ended:
            entry.busy = busy
            logger.info(
                "link %s>%s: consumer %s (%d events waiting)",
                entry.link.local,
                entry.link.remote,
                "behind: RNR" if busy else "caught up: RR",
                backlog,
            )
            entry.link.set_busy(busy, self._clock.time())
            self._service(entry)

    def _open_scope(self, entry: _Entry) -> None:
        if entry.handle is None and entry.opening is None:
            entry.opening = self._spawn(self._open(entry))

    async def _open(self, entry: _Entry) -> None:
        link = entry.link
        scope: Scope = self._scope_factory(link.local, link.remote, "connected", link.path)
        scope["port"] = entry.port
        scope["initiator"] = "local" if entry.outgoing else "remote"

        async def send(message: Message) -> None:
            await self._from_consumer(entry, message)

        async def on_close(handle: ScopeHandle, exc: BaseException | None) -> None:
            self._scope_ended(entry)

        try:
            entry.handle = await self.runtime.open_scope(
                # The serial keeps a new link's scope apart from the last one's, still ending.
                (str(link.local), str(link.remote), "connected", next(_serial)),
                scope,
                send,
                on_close=on_close,
                close_event={"type": "ax25.disconnect", "reason": "shutdown", "unsent": 0},
                idle_timeout=None,  # the link has T3 and N2: it ends the scope
            )
        except InvalidState as exc:  # the runtime is shutting down
            logger.info("link %s>%s not opened: %s", link.local, link.remote, exc)
            entry.inbox.clear()
            self._close_link(entry, self._clock.time())
            return
        finally:
            entry.opening = None
        self._drain(entry)

    def _scope_ended(self, entry: _Entry) -> None:
        """The consumer's instance ended: close its link (DISC after queued data)."""
        entry.inbox.clear()
        if not entry.ended:
            self._close_link(entry, self._clock.time())

    def _close_link(self, entry: _Entry, now: float) -> None:
        link = entry.link
        if link.state is LinkState.CONNECT_PENDING:
            link.reject(now)
        elif link.state not in (LinkState.DISCONNECTED, LinkState.AWAITING_RELEASE):
            try:
                link.close(now)
            except InvalidState:
                pass  # already closing
        self._service(entry)

    # -- from the consumer -------------------------------------------------------------------------

    async def _from_consumer(self, entry: _Entry, message: Message) -> None:
        kind = message.get("type")
        link = entry.link
        now = self._clock.time()
        if entry.ended or (kind == "ax25.send" and link.state is LinkState.AWAITING_RELEASE):
            # The link went down (or is going) under the consumer's feet: not its bug.
            if kind == "ax25.send":
                logger.warning(
                    "link %s>%s is %s: %r not sent",
                    link.local,
                    link.remote,
                    "down" if entry.ended else "closing",
                    message.get("text", message.get("bytes")),
                )
            return
        if kind == "ax25.accept":
            if link.state is LinkState.CONNECT_PENDING:
                link.accept(now)
        elif kind == "ax25.reject":
            if link.state is LinkState.CONNECT_PENDING:
                link.reject(now)
        elif kind == "ax25.send":
            link.send_data(_payload(message), now)
            self._service(entry)
            while link.queued > self._send_buffer and not entry.ended:
                entry.room.clear()
                await entry.room.wait()
            return
        elif kind == "ax25.close":
            self._close_link(entry, now)
            return
        else:
            raise LocalProtocolError(
                f"an ax25 connected-mode scope cannot send {kind!r}: use ax25.accept, "
                "ax25.reject, ax25.send or ax25.close"
            )
        self._service(entry)

    # -- helpers -------------------------------------------------------------------------------

    def _answer_unknown(self, frame: Frame, port: int, now: float) -> None:
        link = Link(frame.destination, frame.source, self.config, path=reply_path(frame.path))
        link.receive_frame(frame, now)
        for reply in link.frames_to_send():
            self._transmit(reply, port)

    def _rearm(self) -> None:
        when = self._next_deadline()
        if when == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = None if when is None else self._clock.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.handle_timer(self._clock.time())

    async def _reply_failed(
        self, channel: Any, request: Message | None, reason: str, entry: _Entry | None = None
    ) -> None:
        if not isinstance(channel, str) or self._layer is None:
            if entry is not None:
                logger.warning(
                    "connect %s>%s failed: %s", entry.link.local, entry.link.remote, reason
                )
            return
        local = str(entry.link.local) if entry else (request or {}).get("local")
        remote = str(entry.link.remote) if entry else (request or {}).get("remote")
        await self._layer.send(
            channel,
            {"type": "ax25.connect.failed", "local": local, "remote": remote, "reason": reason},
        )

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(_log_task_error)
        return task


def _payload(message: Message) -> bytes:
    """``ax25.send``'s data: ``bytes``, or ``text`` with line ends made CR (packet style)."""
    data = message.get("bytes")
    if data is not None:
        if not isinstance(data, bytes | bytearray):
            raise LocalProtocolError(f"ax25.send 'bytes' must be bytes, got {type(data).__name__}")
        return bytes(data)
    text = message.get("text")
    if not isinstance(text, str):
        raise LocalProtocolError("ax25.send needs 'bytes' (bytes) or 'text' (str)")
    return text.replace("\r\n", "\r").replace("\n", "\r").encode("utf-8")


def _parse_connect_request(message: Message) -> tuple[Callsign, Callsign, tuple[Hop, ...]]:
    if message.get("type") != "ax25.connect":
        raise LocalProtocolError(f"expected an ax25.connect request, got {message.get('type')!r}")
    try:
        local = Callsign.parse(str(message["local"]))
        remote = Callsign.parse(str(message["remote"]))
    except KeyError as exc:
        raise LocalProtocolError(f"ax25.connect request lacks {exc.args[0]!r}") from None
    path = tuple(Hop(Callsign.parse(str(hop))) for hop in message.get("path") or ())
    return local, remote, path


def _log_task_error(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("ax25 link task failed", exc_info=task.exception())


class LinkHost(Protocol):
    """What the adapter's station gives :class:`Links`."""

    callsigns: frozenset[Callsign]
    runtime: ApplicationRuntime
    clock: Clock

    def transmit(self, frame: Frame, port: int) -> asyncio.Future[float]:
        """Queue a frame for the air (paced); the future resolves once it was written to the
        TNC, with when the TNC will have sent it (estimated, the clock's time)."""

    def scope(
        self, local: Callsign, remote: Callsign, mode: str, path: tuple[Hop, ...]
    ) -> dict[str, Any]:
        """The ASGI scope of a (local, remote, mode) conversation."""


class Links(LinkManager):
    """The station's connected-mode seam: a :class:`LinkManager` built from the station.

    The links keep their own single clock callback (so a consumer's ``ax25.send`` re-arms it
    without the station's help); :meth:`get_timer` therefore tells the station None, and its
    :meth:`handle_timer` calls are harmless. Parameters come from Django settings
    (:func:`link_config_from_settings`).
    """

    def __init__(self, host: LinkHost, config: LinkConfig | None = None) -> None:
        self._host = host
        super().__init__(
            host.runtime,
            self._transmit_paced,
            host.callsigns,
            config or link_config_from_settings(django_settings),
            clock=host.clock,
            backlog_high=_setting_int(django_settings, "AX25_RX_BACKLOG", 8, 2),
            scope_factory=host.scope,
        )
        # Outgoing connects requested on the channel layer (docs/ax25-connected.md).
        self._listener: asyncio.Task[None] | None = None
        layer = get_channel_layer()
        if layer is not None:
            self._listener = self._spawn(self.serve_connect_requests(layer))

    _reports_sent = True

    def _transmit_paced(self, frame: Frame, port: int) -> None:
        self._host.transmit(frame, port).add_done_callback(_log_unsent)

    def _send(self, entry: _Entry, frame: Frame) -> None:
        sent = self._host.transmit(frame, entry.port)
        sent.add_done_callback(functools.partial(self._frame_sent, entry))

    def _frame_sent(self, entry: _Entry, sent: asyncio.Future[float]) -> None:
        """The pacer released one of the link's frames: tell the link when it leaves the TNC."""
        if not sent.cancelled() and sent.exception() is None:
            done = sent.result()
        else:
            _log_unsent(sent)
            done = self._clock.time()  # never sent: as if lost on the air now
        entry.link.frame_sent(done)
        if self._links.get(entry.key) is entry:
            self._service(entry)

    def get_timer(self) -> float | None:
        """None: the links run their timers on their own clock callback."""
        return None

    async def aclose(self) -> None:
        """Say goodbye: DISC to every link still up (the station then drains its queue)."""
        if self._listener is not None:
            self._listener.cancel()
        self.close_all()


def _log_unsent(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("ax25 link frame not sent: %s", future.exception())


def _setting_int(settings: Any, name: str, default: int, minimum: int) -> int:
    raw = getattr(settings, name, None)
    try:
        value = default if raw in (None, "") else int(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _setting_float(settings: Any, name: str, default: float) -> float:
    raw = getattr(settings, name, None)
    try:
        return default if raw in (None, "") else float(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from None


def link_config_from_settings(settings: Any) -> LinkConfig:
    """LinkConfig from AX25_PACLEN, AX25_WINDOW, AX25_T1, AX25_T2, AX25_T3, AX25_N2 and
    AX25_BYTES_PER_SECOND (part 1's pacing rate, which the link takes as the channel's).

    Raises:
        ConfigurationError: a value is not a number or out of range (the message names it).
    """
    default = LinkConfig()
    return LinkConfig(
        paclen=_setting_int(settings, "AX25_PACLEN", default.paclen, 1),
        window=_setting_int(settings, "AX25_WINDOW", default.window, 1),
        t1=_setting_float(settings, "AX25_T1", default.t1),
        t2=_setting_float(settings, "AX25_T2", default.t2),
        t3=_setting_float(settings, "AX25_T3", default.t3),
        n2=_setting_int(settings, "AX25_N2", default.n2, 1),
        # Part 1's pacing rate: our frames reach the air no faster than that.
        bytes_per_second=_setting_float(settings, "AX25_BYTES_PER_SECOND", 120.0),
    )
