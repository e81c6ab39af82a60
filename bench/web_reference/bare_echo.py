"""The floor: a bare `websockets` echo server (no ASGI, no consumers), for bench/bench_web.py.

Usage: python bench/web_reference/bare_echo.py PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def echo(ws: ServerConnection) -> None:
    # The benchmark aborts its clients without a closing handshake; that is not news.
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            await ws.send(message)


async def main(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, compression=None, max_size=64 * 1024):
        await asyncio.Future()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main(int(sys.argv[1])))
    except ImportError:
        asyncio.run(main(int(sys.argv[1])))
