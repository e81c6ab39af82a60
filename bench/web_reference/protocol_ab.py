"""A/B of the WebSocket protocol's per-frame receive path: this tree against a git revision.

Feeds N masked text frames to `LeanWebSocketProtocol.data_received` on an upgraded connection
(fake transport, no socket) and takes each message with `receive()`, as the application does;
reports process CPU µs per frame for the protocol class of the work tree and of REV (its
adapters/web/uvicorn_compat.py, or adapters/web/protocol.py before the class moved there, loaded
from git), interleaved over several rounds, best of each.

Usage: DEBUG=1 .venv/bin/python bench/web_reference/protocol_ab.py REV [FRAMES]
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

import uvicorn  # noqa: E402
from uvicorn.server import ServerState  # noqa: E402

from adapters.web.uvicorn_compat import LeanWebSocketProtocol  # noqa: E402
from tests.unit.adapters.web.transport import FakeTransport  # noqa: E402

ROUNDS = 5
UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
PAYLOAD = b'{"type":"send","text":"' + b"x" * 60 + b'"}'
FRAME = bytes([0x81, 0x80 | len(PAYLOAD)]) + b"\0\0\0\0" + PAYLOAD


def protocol_class_at(rev: str) -> type[Any]:
    for candidate in ("adapters/web/uvicorn_compat.py", "adapters/web/protocol.py"):
        shown = subprocess.run(
            ["git", "show", f"{rev}:{candidate}"], cwd=ROOT, check=False, capture_output=True
        )
        if shown.returncode == 0 and b"class LeanWebSocketProtocol" in shown.stdout:
            source = shown.stdout
            break
    else:
        raise SystemExit(f"no LeanWebSocketProtocol at {rev}")
    path = Path(tempfile.mkdtemp()) / "protocol_at_rev.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("protocol_at_rev", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LeanWebSocketProtocol  # type: ignore[no-any-return]


async def accept_then_drain(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})


async def cpu_per_frame(protocol_class: type[Any], frames: int) -> float:
    config = uvicorn.Config(accept_then_drain, ws=protocol_class, lifespan="off", log_config=None)
    config.load()
    protocol = protocol_class(config, ServerState(), app_state={})
    protocol.connection_made(FakeTransport())
    protocol.data_received(UPGRADE)
    for _ in range(5):
        await asyncio.sleep(0)
    receive = protocol.receive
    data_received = protocol.data_received
    started = time.process_time()
    for _ in range(frames):
        data_received(FRAME)
        await receive()
    return (time.process_time() - started) / frames * 1e6


async def main() -> None:
    rev = sys.argv[1]
    frames = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    sides = {"this tree": LeanWebSocketProtocol, rev: protocol_class_at(rev)}
    results: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(ROUNDS):
        for name, protocol_class in sides.items():
            results[name].append(await cpu_per_frame(protocol_class, frames))
    for name, values in results.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name}: best {min(values):.2f} µs CPU per received frame ({shown})")


if __name__ == "__main__":
    asyncio.run(main())
