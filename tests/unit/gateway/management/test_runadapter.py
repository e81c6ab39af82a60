"""manage.py runadapter in-process: names, not-configured lines, fake adapters, failures."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from gateway.exceptions import AdapterNotConfigured
from gateway.server import Adapter

HERE = __name__
served: list[tuple[str, Any, dict[str, Any]]] = []


async def app(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI application the command loads for these tests."""


class OneShotAdapter(Adapter):
    """Records what it was given, then asks for shutdown itself (like a first SIGTERM)."""

    name = "oneshot"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    @classmethod
    def from_settings(cls, settings: Any, options: Any) -> OneShotAdapter:
        return cls(dict(options))

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        served.append((self.name, application, self.options))
        stop.set()


class OtherAdapter(OneShotAdapter):
    name = "other"

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        served.append((self.name, application, self.options))
        await stop.wait()


class OffAdapter(OneShotAdapter):
    name = "off"

    @classmethod
    def from_settings(cls, settings: Any, options: Any) -> OffAdapter:
        raise AdapterNotConfigured("set OFF_URL to tcp://host:port to enable off")


class CrashAdapter(OneShotAdapter):
    name = "crash"

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        raise OSError("connection refused")


ADAPTERS = {
    name: f"{HERE}.{cls}"
    for name, cls in [
        ("oneshot", "OneShotAdapter"),
        ("other", "OtherAdapter"),
        ("off", "OffAdapter"),
        ("crash", "CrashAdapter"),
    ]
}


@pytest.fixture(autouse=True)
def fake_adapters():
    served.clear()
    with override_settings(
        GATEWAY_ADAPTERS=ADAPTERS, ASGI_APPLICATION=f"{HERE}.app", GATEWAY_SHUTDOWN_TIMEOUT=1.0
    ):
        yield


def test_runs_the_named_adapter_with_the_application_and_options() -> None:
    call_command("runadapter", "oneshot", "--port", "8123")
    [(name, application, options)] = served
    assert name == "oneshot"
    assert application is app
    assert options["port"] == 8123
    assert options["host"] is None


def test_unknown_name_lists_known_adapters() -> None:
    with pytest.raises(CommandError, match=r"unknown adapter.*nope.*oneshot, other, off, crash"):
        call_command("runadapter", "nope")
    assert served == []


def test_not_configured_adapter_logs_one_line_and_the_others_run(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.management.commands.runadapter"):
        call_command("runadapter", "off", "other", "oneshot")
    lines = [r.getMessage() for r in caplog.records if "not configured" in r.getMessage()]
    assert lines == ["adapter off is not configured: set OFF_URL to tcp://host:port to enable off"]
    assert sorted(name for name, _, _ in served) == ["oneshot", "other"]


def test_nothing_configured_exits_with_what_to_set() -> None:
    with pytest.raises(CommandError, match="no adapter can run: off: set OFF_URL"):
        call_command("runadapter", "off")


def test_all_runs_every_configured_adapter_and_reports_the_crash() -> None:
    with pytest.raises(CommandError, match=r"adapter\(s\) crash failed"):
        call_command("runadapter", "all")
    assert sorted(name for name, _, _ in served) == ["oneshot", "other"]


def test_bad_asgi_application_is_a_command_error() -> None:
    with (
        override_settings(ASGI_APPLICATION="no_such_module.application"),
        pytest.raises(CommandError, match="no_such_module"),
    ):
        call_command("runadapter", "oneshot")
