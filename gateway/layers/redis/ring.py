"""Consistent hashing of channel and group names over several Redis hosts (pure).

Each host owns many points on a 32-bit ring (CRC32 of "host index/vnode"); a name goes to the
first point at or after its own CRC32. Adding a host moves only about 1/N of the names, unlike
``crc32 % N`` (channels_redis), which moves most of them.
"""

from __future__ import annotations

import bisect
import zlib

VIRTUAL_NODES = 160


class HashRing:
    """Maps names to shard indexes ``0 .. size-1``.

    Args:
        size: number of shards (hosts).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a hash ring needs at least one shard, got {size}")
        self.size = size
        points = sorted(
            (zlib.crc32(f"{shard}/{vnode}".encode()), shard)
            for shard in range(size)
            for vnode in range(VIRTUAL_NODES)
        )
        self._hashes = [point for point, _ in points]
        self._shards = [shard for _, shard in points]

    def shard(self, name: str) -> int:
        """Return the shard index that owns ``name``."""
        if self.size == 1:
            return 0
        index = bisect.bisect_left(self._hashes, zlib.crc32(name.encode()))
        return self._shards[index % len(self._shards)]
