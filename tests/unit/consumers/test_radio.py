"""The radio bot through Ax25Communicator: no TNC, no adapter."""

from __future__ import annotations

import pytest

from consumers.radio import HELP, RadioBot
from gateway.exceptions import ConfigurationError, RemoteProtocolError
from gateway.routing import CallsignRouter
from gateway.testing import Ax25Communicator


async def test_aprs_help_and_echo() -> None:
    comm = Ax25Communicator(RadioBot, local="BOT-1", remote="N0CALL-5", mode="aprs")
    await comm.send_aprs("help", msgno="1")
    assert await comm.receive_aprs() == HELP
    await comm.send_aprs("hello radio", msgno="2")
    assert await comm.receive_aprs() == "echo: hello radio"
    await comm.disconnect()


async def test_ui_echo_through_the_router() -> None:
    router = CallsignRouter({"BOT": RadioBot})
    comm = Ax25Communicator(router, local="BOT-0", remote="N0CALL-5", mode="datagram")
    await comm.send_ui(b"ping\r")
    assert await comm.receive_ui() == b"echo: ping\r"
    await comm.disconnect()


async def test_wrong_type_is_reported() -> None:
    comm = Ax25Communicator(RadioBot, local="BOT-1", remote="N0CALL-5", mode="aprs")
    await comm.send_ui(b"ping")
    with pytest.raises(RemoteProtocolError, match=r"expected 'aprs\.message'"):
        await comm.receive_aprs()
    await comm.disconnect()


def test_bad_mode() -> None:
    with pytest.raises(ConfigurationError, match="mode must be"):
        Ax25Communicator(RadioBot, local="BOT-1", remote="N0CALL-5", mode="chat")
