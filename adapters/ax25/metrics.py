"""Prometheus metrics of the AX.25 adapter, shown on /metrics and on /status under ``ax25``.

- ``gateway_ax25_frames_total{direction}``: AX.25 frames received (``in``) and sent (``out``).
- ``gateway_ax25_dropped_total{reason}``: input dropped: ``kiss`` (bad KISS framing),
  ``frame`` (not a valid AX.25 frame), ``aprs`` (a malformed APRS message).
- ``gateway_ax25_aprs_total{event}``: APRS messaging: ``message_in``, ``duplicate`` (a repeat
  acked again, not delivered), ``ack_sent``, ``ack_received``, ``reject_received``,
  ``message_out`` (parts first sent), ``retry`` (re-sends), ``given_up``, ``reach_dropped``
  (room-message parts for a station not heard for an hour, or beyond 3 waiting for acks).
- ``gateway_ax25_tnc_connected``: 1 while the KISS TNC is connected.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter, Gauge

from gateway.metrics import register_detail

FRAMES = Counter("gateway_ax25_frames", "AX.25 frames received and sent.", ["direction"])
DROPPED = Counter("gateway_ax25_dropped", "AX.25 input dropped as malformed.", ["reason"])
APRS = Counter("gateway_ax25_aprs", "APRS messaging events.", ["event"])
TNC_CONNECTED = Gauge("gateway_ax25_tnc_connected", "1 while the KISS TNC is connected.")

FRAMES_IN = FRAMES.labels(direction="in")
FRAMES_OUT = FRAMES.labels(direction="out")

register_detail("ax25", "frames", FRAMES, "direction")
register_detail("ax25", "dropped", DROPPED, "reason")
register_detail("ax25", "aprs", APRS, "event")
register_detail("ax25", "tnc_connected", TNC_CONNECTED)


@cache
def aprs(event: str) -> Counter:
    """The ``gateway_ax25_aprs_total`` child for ``event``."""
    return APRS.labels(event=event)
