"""The packet node consumer, in-process: ASGI events in, ASGI messages out."""

from __future__ import annotations

from typing import Any

from consumers.packet_node import PacketNode
from gateway.testing.application import ApplicationCommunicator

SCOPE = {"type": "ax25", "mode": "connected", "local": "BOT-1", "remote": "N0CALL-5"}


def data(text: str) -> dict[str, Any]:
    return {"type": "ax25.receive", "bytes": text.encode(), "text": text}


async def output(comm: ApplicationCommunicator) -> list[dict[str, Any]]:
    out = []
    while not await comm.receive_nothing(timeout=0.05):
        out.append(await comm.receive_output())
    return out


def text_of(messages: list[dict[str, Any]]) -> str:
    return "".join(m.get("text", "") for m in messages if m["type"] == "ax25.send")


async def test_greeting_help_echo_and_bye() -> None:
    comm = ApplicationCommunicator(PacketNode.as_asgi(), dict(SCOPE))
    await comm.send_input({"type": "ax25.connect", "outgoing": False})
    first = await output(comm)
    assert first[0] == {"type": "ax25.accept"}
    assert text_of(first).startswith("Welcome to BOT-1, N0CALL-5.")
    assert text_of(first).endswith("BOT-1>\r")
    # A line split over two I frames, then two lines in one.
    await comm.send_input(data("hel"))
    assert await output(comm) == []
    await comm.send_input(data("lo\rh\r"))
    replies = text_of(await output(comm))
    assert replies.startswith("hello\r")
    assert "E text     echo the text back\r" in replies
    await comm.send_input(data("E 73\r"))
    assert text_of(await output(comm)) == "73\r"
    await comm.send_input(data("b\rignored\r"))
    bye = await output(comm)
    assert text_of(bye) == "73 de BOT-1\r"
    assert bye[-1] == {"type": "ax25.close"}
    await comm.send_input({"type": "ax25.disconnect", "reason": "local", "unsent": 0})
    await comm.wait(timeout=1)


async def test_outgoing_link_is_greeted_without_accept() -> None:
    comm = ApplicationCommunicator(PacketNode.as_asgi(), dict(SCOPE, initiator="local"))
    await comm.send_input({"type": "ax25.connect", "outgoing": True})
    out = await output(comm)
    assert {"type": "ax25.accept"} not in out
    assert text_of(out).startswith("Welcome to BOT-1")
    await comm.send_input({"type": "ax25.disconnect", "reason": "link failure", "unsent": 0})
    await comm.wait(timeout=1)
