"""Our last APRS message number, kept in a file so the next run continues after it.

Stations remember (sender, number) pairs to drop repeats; a gateway that restarted at 1 would
see its new messages dropped as repeats of old ones. The file (``AX25_STATE_DIR``) holds one
number, replaced on each new number (a write of a few bytes per message part sent).
"""

from __future__ import annotations

import logging
import os

__all__ = ["CounterFile"]

logger = logging.getLogger(__name__)


class CounterFile:
    """The last message number used, in ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._write_failed = False

    def next_start(self, fallback: int) -> int:
        """The number to start this run with: one after the saved one, else ``fallback``."""
        try:
            with open(self.path, encoding="ascii") as file:
                return int(file.read().strip()) + 1
        except FileNotFoundError:
            return fallback
        except (OSError, ValueError) as exc:
            logger.warning(
                "cannot read APRS message counter %s (%s); starting at %d", self.path, exc, fallback
            )
            return fallback

    def save(self, number: int) -> None:
        """Record ``number`` as the last one used (atomically: write, then rename)."""
        if self._write_failed:
            return
        temporary = f"{self.path}.tmp"
        try:
            with open(temporary, "w", encoding="ascii") as file:
                file.write(f"{number}\n")
            os.replace(temporary, self.path)
        except OSError as exc:
            self._write_failed = True
            logger.warning(
                "cannot write APRS message counter %s (%s): the next run may reuse "
                "numbers; set AX25_STATE_DIR to a writable directory",
                self.path,
                exc,
            )
