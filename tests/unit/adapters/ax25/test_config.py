"""AX25_* settings: TNC URLs, callsigns, pacing and KISS parameters; clear errors."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from adapters.ax25.adapter import Ax25Adapter
from adapters.ax25.config import Ax25Config, TncAddress, parse_callsigns, parse_tnc
from adapters.ax25.frame import Callsign
from gateway.exceptions import AdapterNotConfigured, ConfigurationError


def settings(**values: Any) -> SimpleNamespace:
    return SimpleNamespace(
        **{"AX25_TNC": "tcp://127.0.0.1:8001", "AX25_CALLSIGN": "BOT-1", **values}
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://127.0.0.1:8001", TncAddress("tcp", host="127.0.0.1", port=8001)),
        ("serial:///dev/ttyUSB0?baud=1200", TncAddress("serial", device="/dev/ttyUSB0", baud=1200)),
        ("serial:///dev/pts/3", TncAddress("serial", device="/dev/pts/3", baud=9600)),
    ],
)
def test_parse_tnc(url: str, expected: TncAddress) -> None:
    assert parse_tnc(url) == expected
    assert str(expected).split("?")[0] in url


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("tcp://127.0.0.1", "needs host and port"),
        ("tcp://:8001", "needs host and port"),
        ("serial://dev/ttyUSB0", "three slashes"),
        ("serial:///dev/ttyUSB0?baud=fast", "baud must be"),
        ("serial:///dev/ttyUSB0?speed=9600", "unknown option"),
        ("kiss://localhost:8001", "tcp://HOST:PORT"),
        ("127.0.0.1:8001", "tcp://HOST:PORT"),
    ],
)
def test_bad_tnc_url(url: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        parse_tnc(url)


def test_callsigns() -> None:
    assert parse_callsigns("bot-1, BOT-2,n0call") == (
        Callsign("BOT", 1),
        Callsign("BOT", 2),
        Callsign("N0CALL", 0),
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [("", "set AX25_CALLSIGN"), ("BOT-1,BOT-99", "AX25_CALLSIGN: SSID"),
     ("BOT,BOT-0", "twice"), ("NOT A CALL", "AX25_CALLSIGN")],
)  # fmt: skip
def test_bad_callsigns_fail_at_start(text: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Ax25Config.from_settings(settings(AX25_CALLSIGN=text))


def test_defaults_and_values() -> None:
    config = Ax25Config.from_settings(
        settings(AX25_KISS_TXDELAY="30", AX25_KISS_FULLDUP="0", AX25_BYTES_PER_SECOND="1200",
                 AX25_APRS_PATH="WIDE2-1", AX25_APRS_RETRY_SECONDS="2", AX25_IDLE_TIMEOUT="0")
    )  # fmt: skip
    assert config.kiss.txdelay == 30 and config.kiss.persist is None
    assert config.kiss.fullduplex is False
    assert config.bytes_per_second == 1200
    assert [str(h) for h in config.aprs_path] == ["WIDE2-1"]
    assert config.retry.initial == 2 and config.retry.max_tries == 5
    assert config.idle_timeout is None
    assert config.aprs_tocall == Callsign("APZGWY")
    assert "tcp://127.0.0.1:8001 as BOT-1" in config.describe()


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("AX25_KISS_TXDELAY", "300", "0-255"),
        ("AX25_KISS_PERSIST", "x", "0-255"),
        ("AX25_BYTES_PER_SECOND", "fast", "must be a number"),
        ("AX25_BYTES_PER_SECOND", "10", "never fit"),
        ("AX25_KISS_PORT", "16", "0-15"),
        ("AX25_APRS_PATH", "WIDE1-1,WIDE2-99", "AX25_APRS_PATH"),
        ("AX25_APRS_TOCALL", "AP-ZZ", "AX25_APRS_TOCALL"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Ax25Config.from_settings(settings(**{name: value}))


def test_adapter_off_without_tnc_says_what_to_set() -> None:
    with pytest.raises(AdapterNotConfigured, match="set AX25_TNC"):
        Ax25Adapter.from_settings(SimpleNamespace(AX25_TNC=""), {})


def test_adapter_from_settings() -> None:
    adapter = Ax25Adapter.from_settings(settings(GATEWAY_SHUTDOWN_TIMEOUT=7), {})
    assert adapter.shutdown_timeout == 7
    assert adapter.describe().startswith("KISS TNC tcp://127.0.0.1:8001 as BOT-1")
