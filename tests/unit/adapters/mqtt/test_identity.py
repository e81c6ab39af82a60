"""Client ids: stable per slot across restarts, unique between live processes."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from adapters.mqtt.config import parse_url
from adapters.mqtt.identity import choose_client_id
from gateway.exceptions import ConfigurationError


def test_persistent_sessions_get_slots(tmp_path: Path) -> None:
    config = parse_url("mqtt://h")
    first = choose_client_id(config, str(tmp_path))
    second = choose_client_id(config, str(tmp_path))
    assert first.client_id.endswith("-0")
    assert second.client_id.endswith("-1")
    first.release()  # the process ended: its slot (and id) is free for the restart
    again = choose_client_id(config, str(tmp_path))
    assert again.client_id == first.client_id
    second.release()
    again.release()


def test_clean_sessions_get_unique_ids(tmp_path: Path) -> None:
    config = parse_url("mqtt://h?clean_start=1")
    ids = {choose_client_id(config, str(tmp_path)).client_id for _ in range(5)}
    assert len(ids) == 5


def test_configured_template(tmp_path: Path) -> None:
    config = parse_url("mqtt://h?client_id=gw-{hostname}-{slot}")
    identity = choose_client_id(config, str(tmp_path))
    hostname = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())
    assert identity.client_id == f"gw-{hostname}-0"
    identity.release()
    with pytest.raises(ConfigurationError, match="use only"):
        choose_client_id(parse_url("mqtt://h?client_id=gw-{nope}"), str(tmp_path))
