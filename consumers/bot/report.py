"""/report ROOM|DEVICE PERIOD: the summary text and the chart's values (database reads only)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from consumers.models import ChatMessage, Device, Telemetry
from consumers.rooms import room_key

#: Bars in a report's chart.
BUCKETS = 12


@dataclass
class Report:
    """What a report says: lines of text and, when there is something to draw, bar values."""

    title: str
    lines: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The whole report as text (what radio gets)."""
        return "\n".join([self.title, *self.lines])


def _period(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _bucket(ts: float, start: float, seconds: float) -> int:
    return min(BUCKETS - 1, max(0, int((ts - start) / seconds * BUCKETS)))


def build_report(target: str, seconds: float, now: float) -> Report:
    """A device's readings if ``target`` is a known device id, else a room's messages."""
    start = now - seconds
    found = Device.objects.filter(device_id=target).first()
    if found is not None:
        return _device_report(found, start, seconds)
    return _room_report(target, start, seconds)


def _room_report(room: str, start: float, seconds: float) -> Report:
    rows = list(
        ChatMessage.objects.filter(room_key=room_key(room), ts__gte=start).values_list(
            "sender", "source", "ts"
        )
    )
    report = Report(f"Room {room}, last {_period(seconds)}: {len(rows)} messages")
    if not rows:
        return report
    by_source = Counter(source for _, source, _ in rows)
    by_sender = Counter(sender for sender, _, _ in rows)
    report.lines.append("By protocol: " + ", ".join(f"{s} {n}" for s, n in by_source.most_common()))
    report.lines.append(
        "Most active: " + ", ".join(f"{s} {n}" for s, n in by_sender.most_common(3))
    )
    counts = [0.0] * BUCKETS
    for _, _, ts in rows:
        counts[_bucket(ts, start, seconds)] += 1
    report.values = counts
    return report


def _device_report(device: Device, start: float, seconds: float) -> Report:
    readings = list(
        Telemetry.objects.filter(device=device, ts__gte=start).values_list("data", "ts")
    )
    state = "online" if device.online else "offline"
    report = Report(
        f"Device {device.device_id} ({state}), last {_period(seconds)}: {len(readings)} readings"
    )
    series: dict[str, list[tuple[float, float]]] = {}
    for data, ts in readings:
        for key, value in data.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                series.setdefault(key, []).append((float(value), ts))
    for key, points in sorted(series.items()):
        values = [v for v, _ in points]
        report.lines.append(
            f"{key}: min {min(values):g} avg {sum(values) / len(values):.4g} "
            f"max {max(values):g} last {values[-1]:g}"
        )
    if series:
        # The chart shows the first key's average per bucket.
        points = series[sorted(series)[0]]
        sums, counts = [0.0] * BUCKETS, [0] * BUCKETS
        for value, ts in points:
            index = _bucket(ts, start, seconds)
            sums[index] += value
            counts[index] += 1
        report.values = [s / c if c else 0.0 for s, c in zip(sums, counts, strict=True)]
    return report
