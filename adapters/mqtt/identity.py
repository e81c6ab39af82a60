"""The MQTT client id of this process: unique per process, stable across its restarts.

A persistent session (clean start off) lives on the broker under the client id: a restarted
adapter must come back with the *same* id or the broker keeps its unacknowledged messages for a
client that never returns. Two adapter processes must never share an id, or the broker
disconnects the older one each time the newer one connects (MQTT 3.1.1 3.1.4-2), forever.

So, when no id is configured:

- persistent session: ``gateway-<hostname>-<slot>``. The slot is the lowest number whose lock
  file (``<state dir>/gateway-mqtt-<hostname>-<slot>.lock``) this process can ``flock``. The
  lock dies with the process (even on SIGKILL), so a restarted process takes the same slot
  back, while a second process running at the same time takes the next one.
- clean session: ``gateway-<hostname>-<pid>-<random>``: nothing to resume, so just unique.

A configured id (``?client_id=`` in MQTT_URL or MQTT_CLIENT_ID) is used as given, with
``{hostname}``, ``{pid}`` and ``{slot}`` filled in; it is then the operator's job to give each
process its own (e.g. ``gateway-{hostname}-{slot}``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import socket
import tempfile
from pathlib import Path
from typing import IO

from adapters.mqtt.config import MqttConfig
from gateway.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

MAX_SLOTS = 256


class ClientIdentity:
    """The chosen client id, holding its slot lock for as long as the object lives."""

    def __init__(self, client_id: str, lock: IO[str] | None = None) -> None:
        self.client_id = client_id
        self._lock = lock

    def release(self) -> None:
        """Give the slot back (the process is about to stop using the id)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _claim_slot(state_dir: Path, hostname: str) -> tuple[int, IO[str]]:
    state_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS):
        path = state_dir / f"gateway-mqtt-{hostname}-{slot}.lock"
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return slot, handle
    raise ConfigurationError(
        f"all {MAX_SLOTS} MQTT client-id slots in {state_dir} are taken: set MQTT_CLIENT_ID"
    )


def choose_client_id(config: MqttConfig, state_dir: str | None = None) -> ClientIdentity:
    """Pick this process's client id (see the module docstring for the rules)."""
    hostname = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "host"
    directory = Path(state_dir or tempfile.gettempdir())
    template = config.client_id
    if template is not None:
        lock = None
        slot = 0
        if "{slot}" in template:
            slot, lock = _claim_slot(directory, hostname)
        try:
            client_id = template.format(hostname=hostname, pid=os.getpid(), slot=slot)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigurationError(
                f"MQTT client id {template!r}: use only {{hostname}}, {{pid}}, {{slot}} ({exc})"
            ) from None
        return ClientIdentity(client_id, lock)
    if not config.persistent:
        return ClientIdentity(f"gateway-{hostname}-{os.getpid()}-{secrets.token_hex(3)}")
    slot, lock = _claim_slot(directory, hostname)
    return ClientIdentity(f"gateway-{hostname}-{slot}", lock)
