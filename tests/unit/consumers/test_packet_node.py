"""The bot's packet node in-process: ASGI events in, ASGI messages out (no TNC)."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.packet_node import PacketNode
from gateway.testing.application import ApplicationCommunicator

pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = {"type": "ax25", "mode": "connected", "local": "BOT-1", "remote": "N0CALL-5"}


def data(text: str) -> dict[str, Any]:
    return {"type": "ax25.receive", "bytes": text.encode(), "text": text}


async def output(comm: ApplicationCommunicator, first: float = 5.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if await comm.receive_nothing(timeout=first, interval=0.02):
        return out
    while not await comm.receive_nothing(timeout=0.15, interval=0.02):
        out.append(await comm.receive_output())
    return out


def text_of(messages: list[dict[str, Any]]) -> str:
    return "".join(m.get("text", "") for m in messages if m["type"] == "ax25.send")


async def test_greeting_lines_in_pieces_and_bye() -> None:
    comm = ApplicationCommunicator(PacketNode.as_asgi(), dict(SCOPE))
    await comm.send_input({"type": "ax25.connect", "outgoing": False})
    first = await output(comm)
    assert first[0] == {"type": "ax25.accept"}
    assert text_of(first) == "BOT-1 chat. H for help, B to leave.\rBOT-1>\r"
    # A line split over two I frames, then two lines in one.
    await comm.send_input(data("/ni"))
    assert await output(comm, first=0.2) == []
    await comm.send_input(data("ck Ann\rh\r"))
    replies = text_of(await output(comm))
    assert replies.startswith("You are now Ann (were N0CALL-5).\rBOT-1>\rCommands:\r")
    assert "join ROOM - join a room" in replies
    # An empty line gets the prompt again.
    await comm.send_input(data("\r"))
    assert text_of(await output(comm)) == "BOT-1>\r"
    await comm.send_input(data("b\rignored\r"))
    bye = await output(comm)
    assert text_of(bye) == "73 de BOT-1\r"
    assert bye[-1] == {"type": "ax25.close"}
    await comm.send_input({"type": "ax25.disconnect", "reason": "local", "unsent": 0})
    await comm.wait(timeout=1)


async def test_outgoing_link_is_greeted_without_accept_and_rejoins_the_room() -> None:
    comm = ApplicationCommunicator(PacketNode.as_asgi(), dict(SCOPE, remote="N0CALL-6"))
    await comm.send_input({"type": "ax25.connect", "outgoing": False})
    await output(comm)
    await comm.send_input(data("J radio room\r"))
    assert "You joined radio room" in text_of(await output(comm))
    await comm.send_input({"type": "ax25.disconnect", "reason": "peer", "unsent": 0})
    await comm.wait(timeout=1)

    again = ApplicationCommunicator(
        PacketNode.as_asgi(), dict(SCOPE, remote="N0CALL-6", initiator="local")
    )
    await again.send_input({"type": "ax25.connect", "outgoing": True})
    out = await output(again)
    assert {"type": "ax25.accept"} not in out
    assert "You are in radio room." in text_of(out)
    await again.send_input({"type": "ax25.disconnect", "reason": "link failure", "unsent": 0})
    await again.wait(timeout=1)


async def test_long_input_without_cr_is_taken_in_pieces() -> None:
    comm = ApplicationCommunicator(PacketNode.as_asgi(), dict(SCOPE, remote="N0CALL-7"))
    await comm.send_input({"type": "ax25.connect", "outgoing": False})
    await output(comm)
    await comm.send_input(data("x" * 1030))
    # Not in a room: the 1024-character piece is answered, the rest waits for its CR.
    assert "not in a room" in text_of(await output(comm))
    await comm.send_input({"type": "ax25.disconnect", "reason": "peer", "unsent": 0})
    await comm.wait(timeout=1)
