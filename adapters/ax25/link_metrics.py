"""Prometheus metrics of AX.25 connected mode, on /metrics and on /status under ``ax25``.

- ``gateway_ax25_links``: links open or opening.
- ``gateway_ax25_link_ends_total{reason}``: links ended, by ``ax25.disconnect`` reason
  (``peer``, ``local``, ``link failure``, ``refused``, ``protocol error``).
- ``gateway_ax25_link_frames_total{kind}``: ``i_sent`` (new I frames), ``i_resent``
  (retransmissions), ``i_received`` (in sequence), ``rej_sent``, ``polls`` (T1/T3 enquiries).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from gateway.metrics import register_detail

LINKS = Gauge("gateway_ax25_links", "AX.25 links open or opening.")
ENDS = Counter("gateway_ax25_link_ends", "AX.25 links ended, by reason.", ["reason"])
FRAMES = Counter("gateway_ax25_link_frames", "AX.25 link frame counts, by kind.", ["kind"])

register_detail("ax25", "links", LINKS)
register_detail("ax25", "link_ends", ENDS, "reason")
register_detail("ax25", "link_frames", FRAMES, "kind")
