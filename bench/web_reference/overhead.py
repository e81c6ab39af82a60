"""In-process cost of our ASGI stack per WebSocket, with no server and no sockets.

Separates what our code costs from what uvicorn, `websockets` and the kernel cost, which the
end-to-end benchmark (bench/bench_web.py) cannot do on a loaded machine. Both measurements
drive the benchmark's EchoConsumer (bench/web_reference/consumers.py) behind the routers and
the web adapter's instrument wrapper, with an ``asyncio.Queue`` standing in for uvicorn:

- ``cpu``: 50 connections echo N messages each, one in flight per connection (a reply
  queues the next message for the next loop iteration, as a network round trip would);
  reports process CPU µs per message for the consumer and for a raw ASGI echo app.
- ``broadcast``: 50 connections join the benchmark's BroadcastConsumer group; one of them
  posts N messages, with up to 8 in flight, and every member receives each one; reports
  process CPU µs per delivery (the consumer, the in-memory layer and the wrapper, no socket).
- ``memory``: 2,000 connections accepted and left idle; reports the Python heap per
  connection (tracemalloc) for both apps, and the allocation sites that hold the most.

Usage: DEBUG=1 python bench/web_reference/overhead.py [cpu|broadcast|memory]
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.pop("REDIS_URL", None)  # the in-memory layer, as in bench_web.py

import django  # noqa: E402

django.setup()

from adapters.web.instrument import InstrumentedApplication  # noqa: E402
from bench.web_reference.asgi import application  # noqa: E402

CONNECTIONS = 50
MESSAGES = int(os.environ.get("OVERHEAD_MESSAGES", "4000"))
IDLE = 2000
TEXT = "x" * 80
SCOPE: dict[str, Any] = {
    "type": "websocket",
    "path": "/echo/",
    "raw_path": b"/echo/",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1")],
    "client": ("127.0.0.1", 40000),
    "server": ("127.0.0.1", 8000),
    "scheme": "ws",
    "subprotocols": [],
    "asgi": {"version": "3.0", "spec_version": "2.4"},
}


async def raw_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least an ASGI echo app can do: the baseline our stack is compared with."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            return


async def echo_connection(app: Any, messages: int, accepted: asyncio.Semaphore) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal replies
        if message["type"] == "websocket.accept":
            accepted.release()
        replies += 1
        if replies > messages:
            loop.call_soon(queue.put_nowait, {"type": "websocket.disconnect", "code": 1000})
        elif messages:
            loop.call_soon(queue.put_nowait, {"type": "websocket.receive", "text": TEXT})

    queue.put_nowait({"type": "websocket.connect"})
    await app(dict(SCOPE), queue.get, send)


async def cpu(app: Any) -> float:
    """Process CPU µs per echoed message."""
    accepted = asyncio.Semaphore(0)
    started = time.process_time()
    await asyncio.gather(*(echo_connection(app, MESSAGES, accepted) for _ in range(CONNECTIONS)))
    return (time.process_time() - started) / (CONNECTIONS * MESSAGES) * 1e6


async def broadcast(app: Any) -> float:
    """Process CPU µs per broadcast delivery (BroadcastConsumer, in-memory layer)."""
    loop = asyncio.get_running_loop()
    accepted = asyncio.Semaphore(0)
    queues: list[asyncio.Queue[dict[str, Any]]] = [asyncio.Queue() for _ in range(CONNECTIONS)]
    sender = queues[0]
    state = {"deliveries": 0, "posted": 0}
    window = 8

    def post() -> None:
        if state["posted"] < MESSAGES:
            state["posted"] += 1
            sender.put_nowait({"type": "websocket.receive", "text": TEXT})

    def connection_send(queue: asyncio.Queue[dict[str, Any]]) -> Any:
        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.accept":
                accepted.release()
                return
            state["deliveries"] += 1
            if queue is sender:  # the poster's own copy came back: one more may go out
                loop.call_soon(post)

        return send

    scope = dict(SCOPE, path="/broadcast/", raw_path=b"/broadcast/")
    tasks = []
    for queue in queues:
        queue.put_nowait({"type": "websocket.connect"})
        tasks.append(asyncio.create_task(app(dict(scope), queue.get, connection_send(queue))))
    for _ in queues:
        await accepted.acquire()
    started = time.process_time()
    for _ in range(window):
        post()
    while state["deliveries"] < MESSAGES * CONNECTIONS:
        await asyncio.sleep(0.01)
    elapsed = time.process_time() - started
    for queue in queues:
        queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.gather(*tasks)
    return elapsed / state["deliveries"] * 1e6


async def memory(app: Any) -> tuple[float, list[tuple[int, str]]]:
    """Python heap bytes per idle connection, and the top allocation sites per connection."""
    accepted = asyncio.Semaphore(0)
    # Keep the tasks (a server would); 0 messages: the connection stays open after accept.
    tasks = [asyncio.create_task(echo_connection(app, 0, accepted))]
    await accepted.acquire()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    tasks += [asyncio.create_task(echo_connection(app, 0, accepted)) for _ in range(IDLE)]
    for _ in range(IDLE):
        await accepted.acquire()
    gc.collect()
    stats = tracemalloc.take_snapshot().compare_to(before, "lineno")
    tracemalloc.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    top = [(stat.size_diff // IDLE, str(stat.traceback[-1])) for stat in stats[:12]]
    return sum(stat.size_diff for stat in stats) / IDLE, top


async def main(what: str) -> None:
    if what == "broadcast":
        per_delivery = await broadcast(InstrumentedApplication(application))
        sys.stdout.write(f"BroadcastConsumer: {per_delivery:.2f} µs CPU per delivery\n")
        return
    apps = {"raw ASGI echo": raw_echo, "EchoConsumer": application}
    for name, app in apps.items():
        wrapped = InstrumentedApplication(app)
        if what == "cpu":
            sys.stdout.write(f"{name}: {await cpu(wrapped):.2f} µs CPU per echo message\n")
        else:
            per_connection, top = await memory(wrapped)
            sys.stdout.write(f"{name}: {per_connection / 1024:.2f} KB Python heap per connection\n")
            for size, where in top:
                sys.stdout.write(f"    {size:6d} B  {where}\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "cpu"))
