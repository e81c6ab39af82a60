"""A small bar chart as a PNG, written with zlib alone: reports need one picture, not a
plotting library (and its hundreds of megabytes) on every worker."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

# Colours with AA contrast on white (the page's palette): bars, axis.
_BAR = (0x1F, 0x4E, 0x8C)
_AXIS = (0x33, 0x33, 0x33)
_WHITE = (0xFF, 0xFF, 0xFF)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def bar_chart_png(values: Sequence[float], width: int = 480, height: int = 160) -> bytes:
    """A PNG of one bar per value (scaled to the largest), on white, with a base line.

    Raises:
        ValueError: no values, or a size too small to draw a bar per value.
    """
    if not values:
        raise ValueError("a chart needs at least one value")
    margin = 8
    slot = (width - 2 * margin) // len(values)
    if slot < 2 or height < 3 * margin:
        raise ValueError(f"{width}x{height} is too small for {len(values)} bars")
    top = max(max(values), 0.0) or 1.0
    base = height - margin
    heights = [int(max(v, 0.0) / top * (base - margin)) for v in values]
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type: none
        for x in range(width):
            colour = _WHITE
            index = (x - margin) // slot
            if y == base and margin <= x < width - margin:
                colour = _AXIS
            elif (
                x >= margin
                and 0 <= index < len(values)
                and x - margin - index * slot < slot - 1
                and base - heights[index] <= y < base
            ):
                colour = _BAR
            row.extend(colour)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )
