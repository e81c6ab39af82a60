"""Adapter registry and the run_adapters supervisor."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import adapter as adapter_module
from gateway import applications
from gateway.clock import FakeClock
from gateway.consumer import AsyncConsumer
from gateway.exceptions import ConfigurationError
from gateway.server import (
    Adapter,
    get_adapter_class,
    known_adapters,
    load_application,
    register_adapter,
    run_adapters,
)
from tests.unit.gateway.runtime_helpers import sample


class FakeAdapter(Adapter):
    """Serves until stopped; records what happened. ``behaviour`` picks a way to misbehave."""

    name = "fake"

    def __init__(self, behaviour: str = "serve") -> None:
        self.behaviour = behaviour
        self.started = asyncio.Event()
        self.stopped_gracefully = False
        self.cancelled = False

    @classmethod
    def from_settings(cls, settings: Any, options: Any) -> FakeAdapter:
        return cls()

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        self.started.set()
        try:
            if self.behaviour == "crash":
                raise RuntimeError("broker said no")
            if self.behaviour == "return":
                return
            if self.behaviour == "hang":
                await asyncio.Event().wait()
            await stop.wait()
            self.stopped_gracefully = True
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI application the fake adapters never call."""


def test_known_adapters_merge_settings_and_registry() -> None:
    @register_adapter
    class Registered(FakeAdapter):
        name = "registered-only"

    settings = SimpleNamespace(GATEWAY_ADAPTERS={"web": "x.Web", "mqtt": "x.Mqtt"})
    names = known_adapters(settings)
    assert names[:2] == ["web", "mqtt"]
    assert "registered-only" in names
    assert get_adapter_class("registered-only", settings) is Registered


def test_get_adapter_class_imports_the_dotted_path() -> None:
    settings = SimpleNamespace(GATEWAY_ADAPTERS={"fake": f"{__name__}.FakeAdapter"})
    assert get_adapter_class("fake", settings) is FakeAdapter


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nowhere.at_all.Adapter", "cannot import 'nowhere.at_all.Adapter'"),
        (f"{__name__}.app", "must name an Adapter subclass"),
    ],
)
def test_get_adapter_class_explains_bad_paths(path: str, message: str) -> None:
    settings = SimpleNamespace(GATEWAY_ADAPTERS={"bad": path})
    with pytest.raises(ConfigurationError, match=message):
        get_adapter_class("bad", settings)


def test_unknown_adapter_lists_the_known_ones() -> None:
    settings = SimpleNamespace(GATEWAY_ADAPTERS={"web": "x.Web"})
    with pytest.raises(ConfigurationError, match="unknown adapter 'nope': known adapters are web"):
        get_adapter_class("nope", settings)


async def test_run_adapters_serves_until_stop_and_sets_adapter_up() -> None:
    one, two = FakeAdapter(), FakeAdapter()
    stop = asyncio.Event()
    runner = asyncio.create_task(run_adapters({"one-up": one, "two-up": two}, app, stop, 1.0))
    await one.started.wait()
    await two.started.wait()
    assert sample("gateway_adapter_up", adapter="one-up") == 1
    stop.set()
    assert await runner == []
    assert one.stopped_gracefully and two.stopped_gracefully
    assert sample("gateway_adapter_up", adapter="one-up") == 0


@pytest.mark.parametrize(("behaviour", "logged"), [("crash", "crashed"), ("return", "returned")])
async def test_a_failing_adapter_stops_the_others(behaviour: str, logged: str, caplog) -> None:
    good, bad = FakeAdapter(), FakeAdapter(behaviour)
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="gateway.adapter"):
        failed = await run_adapters({"good": good, "bad": bad}, app, stop, 1.0)
    assert failed == ["bad"]
    assert stop.is_set()
    assert good.stopped_gracefully
    assert f"adapter bad {logged}" in caplog.text
    if behaviour == "crash":
        [record] = caplog.records
        assert record.exc_info is not None


async def test_an_adapter_that_ignores_stop_is_cancelled(monkeypatch, caplog) -> None:
    monkeypatch.setattr(adapter_module, "SHUTDOWN_MARGIN", 0.0)
    hang = FakeAdapter("hang")
    stop = asyncio.Event()
    clock = FakeClock()
    runner = asyncio.create_task(run_adapters({"hang": hang}, app, stop, 5.0, clock=clock))
    await hang.started.wait()
    with caplog.at_level(logging.WARNING, logger="gateway.adapter"):
        stop.set()
        await clock.settle()
        assert not runner.done()  # still inside the deadline
        clock.advance(5.0)
        assert await runner == []
    assert hang.cancelled
    assert "did not stop" in caplog.text


def test_load_application_uses_the_default_when_the_setting_is_empty(monkeypatch) -> None:
    assert applications.DEFAULT_APPLICATION == "project.asgi.application"
    monkeypatch.setattr(applications, "DEFAULT_APPLICATION", f"{__name__}.app")
    assert load_application(SimpleNamespace(ASGI_APPLICATION=None)) is app
    assert load_application(SimpleNamespace()) is app


def test_load_application_takes_a_consumer_class_as_asgi() -> None:
    settings = SimpleNamespace(ASGI_APPLICATION="gateway.consumer.AsyncConsumer")
    assert load_application(settings).consumer_class is AsyncConsumer


def test_load_application_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="set ASGI_APPLICATION"):
        load_application(SimpleNamespace(ASGI_APPLICATION=f"{__name__}.nothing_here"))
