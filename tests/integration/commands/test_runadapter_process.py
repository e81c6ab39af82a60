"""manage.py runadapter as a real process: SIGTERM shuts down cleanly, a second signal forces."""

from __future__ import annotations

import signal

import pytest

from tests.integration.commands.helpers import finish, start_manage, wait_for_line

pytestmark = pytest.mark.integration

SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.integration.commands.fake_settings"}


async def test_sigterm_shuts_down_gracefully_and_exits_zero() -> None:
    process = await start_manage("runadapter", "waiting", **SETTINGS)
    seen: list[str] = []
    await wait_for_line(process, "fake adapter waiting ready", seen)
    process.send_signal(signal.SIGTERM)
    status = await finish(process, seen)
    output = "".join(seen)
    assert status == 0, output
    assert "fake adapter waiting stopped gracefully" in output
    assert "runadapter: stopped cleanly" in output


async def test_second_signal_forces_exit_non_zero() -> None:
    process = await start_manage("runadapter", "stubborn", **SETTINGS)
    seen: list[str] = []
    await wait_for_line(process, "fake adapter stubborn ready", seen)
    process.send_signal(signal.SIGTERM)
    await wait_for_line(process, "shutting down gracefully", seen)
    process.send_signal(signal.SIGINT)
    status = await finish(process, seen)
    output = "".join(seen)
    assert status != 0, output
    assert "forced exit" in output
