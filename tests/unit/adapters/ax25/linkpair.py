"""Two links back to back through a simulated radio channel (h11's ConnectionPair, for AX.25).

Time is simulated: the loop jumps to the next frame arrival or the next timer of either link.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.ax25.frame import Callsign, Frame, decode_frame, encode_frame
from adapters.ax25.link import Link
from adapters.ax25.link_events import DataReceived, LinkConfig, LinkEvent


@dataclass
class LinkPair:
    """Link ``a`` (A-1 -> B-2) and link ``b`` (B-2 -> A-1) joined by a channel.

    ``lose(frame, index)`` decides whether the index-th frame put on the channel is lost.
    """

    config: LinkConfig = field(default_factory=LinkConfig)
    delay: float = 0.2
    lose: Callable[[Frame, int], bool] = lambda frame, index: False
    now: float = 0.0
    a: Link = field(init=False)
    b: Link = field(init=False)
    events: dict[str, list[LinkEvent]] = field(init=False)
    lost: int = 0
    sent: int = 0
    _air: list[tuple[float, int, str, Frame]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        one, two = Callsign("A", 1), Callsign("B", 2)
        self.a = Link(one, two, self.config)
        self.b = Link(two, one, self.config)
        self.events = {"a": [], "b": []}

    def link(self, side: str) -> Link:
        return self.a if side == "a" else self.b

    def flush(self) -> None:
        """Put both links' frames on the air and collect their events."""
        for side, other in (("a", "b"), ("b", "a")):
            link = self.link(side)
            for frame in link.frames_to_send():
                self.sent += 1
                if self.lose(frame, self.sent):
                    self.lost += 1
                    continue
                # Through the real codec, as on the air.
                frame = decode_frame(encode_frame(frame))
                heapq.heappush(self._air, (self.now + self.delay, self.sent, other, frame))
            self.events[side].extend(link.events())

    def step(self) -> bool:
        """Advance to the next arrival or timer; False when nothing is left to happen."""
        self.flush()
        timers = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
        arrival = self._air[0][0] if self._air else None
        if arrival is None and not timers:
            return False
        if arrival is not None and (not timers or arrival <= min(timers)):
            self.now, _, side, frame = heapq.heappop(self._air)
            self.link(side).receive_frame(frame, self.now)
        else:
            self.now = min(timers)
            for link in (self.a, self.b):
                timer = link.get_timer()
                if timer is not None and timer <= self.now:
                    link.handle_timer(self.now)
        self.flush()
        return True

    def run_until(self, done: Callable[[], bool], limit: float = 3600.0) -> None:
        while not done():
            assert self.now < limit, "simulation ran past its time limit"
            assert self.step(), "nothing left to happen, but the condition is not met"

    def received(self, side: str) -> bytes:
        return b"".join(e.data for e in self.events[side] if isinstance(e, DataReceived))


def seeded_loss(seed: int, rate: float) -> Callable[[Frame, int], bool]:
    rng = random.Random(seed)
    return lambda frame, index: rng.random() < rate
