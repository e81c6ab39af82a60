"""A bound on open device scopes: the least recently active idle one is closed first.

Every device that publishes gets a scope (a consumer instance) until it has been idle for
MQTT_IDLE_TIMEOUT. A broker with many devices (or one client making up device ids) could open
an unbounded number of them, each holding memory and a task. :class:`ScopeBound` keeps the open
device keys in order of last activity; when a new scope would go over MQTT_MAX_DEVICE_SCOPES,
it names the least recently active one with nothing waiting to be handled, to be closed.
Pure bookkeeping: the dispatcher does the closing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable


class ScopeBound:
    """Open device keys by last activity, and which to close when a new one would exceed
    ``limit`` (None: no bound)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def touched(self, key: Hashable) -> None:
        """A message for ``key`` arrived (it becomes the most recently active)."""
        if key in self._keys:
            self._keys.move_to_end(key)

    def opened(self, key: Hashable, busy: Callable[[Hashable], bool]) -> Hashable | None:
        """Record a new scope for ``key``; return the key to close to stay within the limit.

        Args:
            key: the device whose scope opens.
            busy: True for a key with messages still waiting for its instance (never evicted:
                closing it would fail those messages).

        Returns:
            The least recently active key that is not busy, or None when within the limit
            (or every other scope is busy: then the bound is exceeded until one goes idle).
        """
        self._keys[key] = None
        self._keys.move_to_end(key)
        if self.limit is None or len(self._keys) <= self.limit:
            return None
        for candidate in self._keys:
            if candidate != key and not busy(candidate):
                del self._keys[candidate]
                return candidate
        return None

    def closed(self, key: Hashable) -> None:
        """The scope of ``key`` ended (idle, offline, evicted or failed)."""
        self._keys.pop(key, None)
