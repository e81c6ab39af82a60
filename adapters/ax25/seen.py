"""Which APRS messages were already delivered: dedupe by (our callsign, sender, number).

A station re-sends a message until it hears our ack; when the ack is lost, the repeat must be
acked again but not handled twice, also when the gateway restarted in between. So the set is
kept in a small append-only file (one line per message: expiry, our callsign, sender, number),
read back and compacted at start, entries forgotten after ``AX25_DEDUPE_SECONDS``.

Why a file and not the database: the set is per station and per TNC (a radio gateway runs next
to its TNC), it is written on every inbound message from the event loop (one short append, no
thread hop, no migration), and losing it costs at most one duplicate delivery of a message a
station is still re-sending. On a platform whose disk is wiped at restart, point
``AX25_STATE_DIR`` at a persistent volume. Expiry uses the wall clock (monotonic time does not
survive a restart).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

__all__ = ["SeenMessages"]

logger = logging.getLogger(__name__)

Key = tuple[str, str, str]
_SWEEP_SECONDS = 60.0


class SeenMessages:
    """The (local, remote, msgno) triples seen in the last ``window`` seconds.

    Args:
        path: the file to keep them in; None: memory only.
        window: how long an entry is remembered, in seconds.
        wall: wall-clock seconds (``time.time``); tests pass a fake.
    """

    def __init__(
        self, path: str | None, window: float, wall: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.window = window
        self._wall = wall
        self._expiry: dict[Key, float] = {}
        self._write_failed = False
        self._next_sweep = wall() + _SWEEP_SECONDS
        if path is not None:
            self._load(path)

    def _load(self, path: str) -> None:
        now = self._wall()
        try:
            with open(path, encoding="ascii", errors="replace") as file:
                for line in file:
                    fields = line.rstrip("\n").split("\t")
                    if len(fields) != 4:
                        continue  # a line cut by a crash: skip it
                    try:
                        expiry = float(fields[0])
                    except ValueError:
                        continue
                    if expiry > now:
                        self._expiry[(fields[1], fields[2], fields[3])] = expiry
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("cannot read APRS dedupe file %s (%s); starting empty", path, exc)
            return
        self._rewrite(path)
        logger.info("APRS dedupe: %d message(s) remembered from %s", len(self._expiry), path)

    def _rewrite(self, path: str) -> None:
        temporary = f"{path}.tmp"
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(temporary, "w", encoding="ascii") as file:
                file.writelines(_line(key, expiry) for key, expiry in self._expiry.items())
            os.replace(temporary, path)
        except OSError as exc:
            self._write_error(exc)

    def _write_error(self, exc: OSError) -> None:
        if not self._write_failed:
            self._write_failed = True
            logger.warning(
                "cannot write APRS dedupe file %s (%s): repeats are recognised until restart "
                "only; set AX25_STATE_DIR to a writable directory",
                self.path,
                exc,
            )

    def first_time(self, local: str, remote: str, msgno: str) -> bool:
        """Record the message; True the first time it is seen within the window."""
        now = self._wall()
        key = (local, remote, msgno)
        expiry = self._expiry.get(key)
        if expiry is not None and expiry > now:
            return False
        if now >= self._next_sweep:
            self._sweep(now)
        expiry = self._expiry[key] = now + self.window
        if self.path is not None and not self._write_failed:
            try:
                with open(self.path, "a", encoding="ascii") as file:
                    file.write(_line(key, expiry))
            except OSError as exc:
                self._write_error(exc)
        return True

    def _sweep(self, now: float) -> None:
        # Forget expired entries now and then, and compact the file when that shrank the set.
        self._next_sweep = now + _SWEEP_SECONDS
        before = len(self._expiry)
        self._expiry = {key: expiry for key, expiry in self._expiry.items() if expiry > now}
        if len(self._expiry) < before and self.path is not None and not self._write_failed:
            self._rewrite(self.path)

    def __len__(self) -> int:
        return len(self._expiry)


def _line(key: Key, expiry: float) -> str:
    return f"{expiry:.0f}\t{key[0]}\t{key[1]}\t{key[2]}\n"
