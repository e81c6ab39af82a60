"""The connect runs off the event loop: a broker that never answers does not stall it."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from adapters.mqtt.config import parse_url
from adapters.mqtt.driver import MqttDriver


async def test_loop_keeps_serving_while_the_tls_handshake_hangs() -> None:
    loop = asyncio.get_running_loop()
    # A listener that accepts TCP (the kernel does) but never answers the TLS ClientHello.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    config = parse_url(f"mqtts://127.0.0.1:{port}?client_id=t&insecure=1")
    driver = MqttDriver(config, "t", ["d/#"])
    ticks = 0
    spans: list[tuple[int, int]] = []
    create_socket = driver.client._create_socket

    def counted_create_socket() -> Any:
        # How many turns other tasks had on the loop while the connection was being opened.
        before = ticks
        try:
            return create_socket()
        finally:
            spans.append((before, ticks))

    driver.client._create_socket = counted_create_socket  # type: ignore[method-assign]
    stop = asyncio.Event()
    run = asyncio.create_task(driver.run(stop))
    try:
        # This loop accepts while the driver connects; with a blocking connect it would only
        # get here after paho's connect timeout, once the attempt was over.
        conn, _address = await loop.sock_accept(listener)
        with conn:
            conn.setblocking(False)
            assert await loop.sock_recv(conn, 1) == b"\x16"  # a TLS record: the ClientHello
            for _ in range(20):
                await asyncio.sleep(0)
                ticks += 1
            assert spans == []  # the handshake still waits for an answer
        # Closing ends the handshake; the driver reports it and keeps retrying.
        while not spans:
            await asyncio.sleep(0)
        before, after = spans[0]
        assert after - before >= 20
        assert not driver.connected
    finally:
        stop.set()
        listener.close()
        await run
