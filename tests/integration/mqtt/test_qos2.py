"""QoS 2 against the real Mosquitto: a PUBLISH the broker re-sends (DUP, same packet id) while
the first copy is still being handled is not handled twice, and the exchange completes."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.integration.mqtt.conftest import running_adapter, until
from tests.integration.mqtt.test_adapter import Recorder, app

pytestmark = pytest.mark.integration


async def drop_connection(adapter: Any) -> None:
    """Cut the adapter's connection; wait until it has reconnected and subscribed again."""
    driver = adapter.driver
    connections = driver.connections
    driver.client._sock.shutdown(socket.SHUT_RDWR)
    await until(lambda: driver.connections > connections and driver.ready.is_set())


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_qos2_resent_while_handled_is_handled_once(
    mqtt_url: str, root: str, devices: Any, protocol: str
) -> None:
    url = f"{mqtt_url}?client_id={root}-gw&subscribe_qos=2&protocol={protocol}"  # persistent
    async with running_adapter(app(root), url, reconnect_min=0.1) as adapter:
        received: list[tuple[str, bool, int]] = []  # every PUBLISH: (text, dup, packet id)
        dispatch = adapter.driver.on_message

        def spy(topic: str, payload: bytes, qos: int, retain: bool, dup: bool, mid: int, *rest):
            received.append((payload.decode(), dup, mid))
            dispatch(topic, payload, qos, retain, dup, mid, *rest)

        adapter.driver.on_message = spy
        released: list[int] = []  # packet ids of the PUBRELs: the broker got our PUBREC
        release = adapter.driver.on_release

        def spy_release(mid: int) -> None:
            released.append(mid)
            release(mid)

        adapter.driver.on_release = spy_release
        sender = devices(f"{root}-sender")
        sender.client.publish(f"{root}/slow/t", "first", qos=2)
        await until(lambda: "slow" in Recorder.scopes)  # its handler now waits for release
        await drop_connection(adapter)
        # The broker had no PUBREC: it sends the PUBLISH again, with DUP and the same id.
        await until(lambda: any(dup for _text, dup, _mid in received))
        assert [text for text, _dup, _mid in received] == ["first", "first"]
        assert received[0][2] == received[1][2]
        Recorder.release.set()
        sender.client.publish(f"{root}/slow/t", "second", qos=2)
        await until(lambda: Recorder.seen["slow"] == ["first", "second"])
        await until(lambda: {mid for _text, _dup, mid in received} <= set(released))
        # Both exchanges completed (PUBREC, PUBREL, PUBCOMP): nothing comes back after
        # another reconnect, only the next message.
        await drop_connection(adapter)
        sender.client.publish(f"{root}/slow/t", "third", qos=2)
        await until(lambda: "third" in Recorder.seen["slow"])
    assert Recorder.seen["slow"] == ["first", "second", "third"]
    assert [text for text, _dup, _mid in received] == ["first", "first", "second", "third"]
