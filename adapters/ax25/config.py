"""The AX.25 adapter's configuration, parsed from Django settings (pure: no I/O).

Every value comes from an ``AX25_*`` setting that project/settings.py reads from the
environment; docs/ax25.md lists them. A bad value is a :class:`ConfigurationError` naming the
setting, raised at start, never later.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from adapters.ax25.frame import Callsign, FrameError, Hop, InvalidCallsign
from adapters.ax25.kiss import KissParameters
from adapters.ax25.messaging import RetryPolicy
from gateway.exceptions import ConfigurationError

__all__ = ["Ax25Config", "TncAddress", "parse_callsigns", "parse_path", "parse_tnc"]

_DEFAULT_BAUD = 9600
#: Largest KISS frame we send: 10 addresses, control, PID, 256 bytes of info, KISS framing.
MAX_FRAME_BYTES = 400


@dataclass(frozen=True)
class TncAddress:
    """Where the KISS TNC is: ``tcp://HOST:PORT`` or ``serial:///dev/ttyUSB0?baud=9600``."""

    kind: str  # "tcp" or "serial"
    host: str = ""
    port: int = 0
    device: str = ""
    baud: int = _DEFAULT_BAUD

    def __str__(self) -> str:
        if self.kind == "tcp":
            return f"tcp://{self.host}:{self.port}"
        return f"serial://{self.device}?baud={self.baud}"


def parse_tnc(url: str) -> TncAddress:
    """Parse AX25_TNC.

    Raises:
        ConfigurationError: not a tcp:// or serial:// URL with what it needs.
    """
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme == "tcp":
        try:
            port = parsed.port
        except ValueError:
            port = None
        if not parsed.hostname or port is None:
            raise ConfigurationError(
                f"AX25_TNC={url!r}: a KISS TCP TNC needs host and port, like "
                "tcp://127.0.0.1:8001 (Direwolf's KISSPORT)"
            )
        return TncAddress("tcp", host=parsed.hostname, port=port)
    if parsed.scheme == "serial":
        query = urllib.parse.parse_qs(parsed.query)
        baud_text = query.pop("baud", [str(_DEFAULT_BAUD)])[-1]
        if query:
            raise ConfigurationError(
                f"AX25_TNC={url!r}: unknown option(s) {', '.join(query)}; only baud= is known"
            )
        if not baud_text.isdigit() or int(baud_text) <= 0:
            raise ConfigurationError(f"AX25_TNC={url!r}: baud must be a positive number")
        device = parsed.path
        if parsed.netloc or not device.startswith("/"):
            raise ConfigurationError(
                f"AX25_TNC={url!r}: a serial TNC needs the device path, like "
                "serial:///dev/ttyUSB0?baud=9600 (three slashes)"
            )
        return TncAddress("serial", device=device, baud=int(baud_text))
    raise ConfigurationError(
        f"AX25_TNC={url!r} is not understood: use tcp://HOST:PORT for a KISS TCP TNC "
        "(Direwolf) or serial:///dev/ttyUSB0?baud=9600 for a serial one"
    )


def parse_callsigns(text: str) -> tuple[Callsign, ...]:
    """Parse AX25_CALLSIGN (comma-separated, at least one, no repeats).

    Raises:
        ConfigurationError: empty, invalid or repeated callsign.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigurationError(
            "set AX25_CALLSIGN to your station's callsign(s), comma-separated, like N0CALL-10"
        )
    callsigns: list[Callsign] = []
    for item in items:
        try:
            callsign = Callsign.parse(item)
        except InvalidCallsign as exc:
            raise ConfigurationError(f"AX25_CALLSIGN: {exc}") from None
        if callsign in callsigns:
            raise ConfigurationError(f"AX25_CALLSIGN names {callsign} twice")
        callsigns.append(callsign)
    return tuple(callsigns)


def parse_path(text: str, setting: str) -> tuple[Hop, ...]:
    """Parse a digipeater path like ``WIDE1-1,WIDE2-1`` (empty: direct).

    Raises:
        ConfigurationError: a hop is not a callsign, or more than 8 hops.
    """
    try:
        hops = tuple(Hop(Callsign.parse(item)) for item in text.split(",") if item.strip())
    except FrameError as exc:
        raise ConfigurationError(f"{setting}: {exc}") from None
    if len(hops) > 8:
        raise ConfigurationError(f"{setting}: at most 8 digipeaters, got {len(hops)}")
    return hops


def _number(settings: Any, name: str, default: float, minimum: float = 0.0) -> float:
    raw = getattr(settings, name, default)
    try:
        value = float(raw if raw not in ("", None) else default)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _optional_byte(settings: Any, name: str) -> int | None:
    raw = getattr(settings, name, "")
    if raw in ("", None):
        return None
    if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        value = int(raw)
        if 0 <= value <= 255:
            return value
    raise ConfigurationError(f"{name} must be 0-255 or empty (leave the TNC's), got {raw!r}")


@dataclass(frozen=True)
class Ax25Config:
    """Everything the adapter needs; build it with :meth:`from_settings`."""

    tnc: TncAddress
    callsigns: tuple[Callsign, ...]
    kiss_port: int = 0
    kiss: KissParameters = field(default_factory=KissParameters)
    bytes_per_second: float = 120.0
    pacing_window: float = 10.0
    aprs_tocall: Callsign = field(default_factory=lambda: Callsign("APZGWY"))
    aprs_path: tuple[Hop, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    dedupe_seconds: float = 3600.0
    state_dir: str = ""
    idle_timeout: float | None = 600.0

    @classmethod
    def from_settings(cls, settings: Any) -> Ax25Config:
        """Read the AX25_* settings (AX25_TNC must be set; the caller checks that first).

        Raises:
            ConfigurationError: a setting is invalid; the message names it.
        """
        kiss_port = int(_number(settings, "AX25_KISS_PORT", 0))
        if kiss_port > 15:
            raise ConfigurationError(f"AX25_KISS_PORT must be 0-15, got {kiss_port}")
        fulldup = _optional_byte(settings, "AX25_KISS_FULLDUP")
        try:
            tocall = Callsign.parse(getattr(settings, "AX25_APRS_TOCALL", "") or "APZGWY")
        except InvalidCallsign as exc:
            raise ConfigurationError(f"AX25_APRS_TOCALL: {exc}") from None
        idle = _number(settings, "AX25_IDLE_TIMEOUT", 600.0)
        retry_seconds = _number(settings, "AX25_APRS_RETRY_SECONDS", 30.0, minimum=0.1)
        bytes_per_second = _number(settings, "AX25_BYTES_PER_SECOND", 120.0, minimum=1.0)
        window = _number(settings, "AX25_PACING_WINDOW", 10.0, minimum=1.0)
        if bytes_per_second * window < MAX_FRAME_BYTES:
            raise ConfigurationError(
                f"AX25_BYTES_PER_SECOND x AX25_PACING_WINDOW = {bytes_per_second * window:g} "
                f"bytes: the largest frame ({MAX_FRAME_BYTES} bytes) would never fit; "
                "raise AX25_PACING_WINDOW"
            )
        return cls(
            tnc=parse_tnc(settings.AX25_TNC),
            callsigns=parse_callsigns(getattr(settings, "AX25_CALLSIGN", "") or ""),
            kiss_port=kiss_port,
            kiss=KissParameters(
                txdelay=_optional_byte(settings, "AX25_KISS_TXDELAY"),
                persist=_optional_byte(settings, "AX25_KISS_PERSIST"),
                slottime=_optional_byte(settings, "AX25_KISS_SLOTTIME"),
                txtail=_optional_byte(settings, "AX25_KISS_TXTAIL"),
                fullduplex=None if fulldup is None else bool(fulldup),
            ),
            bytes_per_second=bytes_per_second,
            pacing_window=window,
            aprs_tocall=tocall,
            aprs_path=parse_path(
                getattr(settings, "AX25_APRS_PATH", "WIDE1-1,WIDE2-1"), "AX25_APRS_PATH"
            ),
            retry=RetryPolicy(
                initial=retry_seconds,
                maximum=max(600.0, retry_seconds),
                max_tries=int(_number(settings, "AX25_APRS_MAX_TRIES", 5, minimum=1)),
            ),
            dedupe_seconds=_number(settings, "AX25_DEDUPE_SECONDS", 3600.0),
            state_dir=getattr(settings, "AX25_STATE_DIR", "") or "",
            idle_timeout=idle or None,
        )

    def describe(self) -> str:
        """One line for the start-up log."""
        calls = ", ".join(str(c) for c in self.callsigns)
        return f"KISS TNC {self.tnc} as {calls}, paced at {self.bytes_per_second:g} bytes/s"
