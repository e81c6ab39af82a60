"""Routing and middleware benchmark: the cost of getting a scope to its application.

Ours and Django Channels 4.3.2 (reference venv bench/.venv-daphne-channels, shared with the web
benchmark) build the same application for ``websocket`` scopes, with a raw ASGI application
that accepts at the end, so only the routing and middleware code differs:

- ``routers``: ``ProtocolTypeRouter`` → ``URLRouter`` of 30 decoy ``path()`` routes and one
  ``path("rooms/<int:room>/", URLRouter([path("<slug:kind>/", app)]))``, for the path
  ``/rooms/42/lobby/`` (every decoy is tried first, then the nested router);
- ``full``: the same wrapped in ``AllowedHostsOriginValidator(AuthMiddlewareStack(...))``, the
  stack project/asgi.py uses. The client sends no session cookie, so neither side queries the
  database, but both load the session store and resolve the user in a worker thread
  (``database_sync_to_async``), as each does for every scope.

Each scope is one ``websocket.connect`` answered by ``websocket.accept``, driven directly (no
communicator, no server). Sequential: one scope after another, wall and CPU µs per scope.
Concurrent: batches of 100 scopes gathered at once, scopes per second. The two sides run
alternately, BENCH_ROUTING_RUNS times each (a fresh process every time), and each figure is the
side's best run, so that load from other processes on the machine hurts both sides alike.

Run with ``BENCH=routing make bench`` or ``.venv/bin/python bench/bench_routing.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("bench_routing")

REFERENCE_REQUIREMENTS = ["Django==5.2.19", "channels==4.3.2", "daphne==4.2.3"]
SEQUENTIAL = int(os.environ.get("BENCH_ROUTING_SCOPES", "20000"))
CONCURRENT_BATCHES = int(os.environ.get("BENCH_ROUTING_BATCHES", "100"))
BATCH = 100
RUNS = int(os.environ.get("BENCH_ROUTING_RUNS", "3"))
STACKS = ("routers", "full")


async def accept(scope: Any, receive: Any, send: Any) -> None:
    """The application at the end of every route: accept the connection."""
    await receive()
    await send({"type": "websocket.accept"})


def configure_django() -> None:
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["example.com"],
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
    )
    import django

    django.setup()


def build(side: str, stack: str) -> Any:
    """The application under test, from our package or from Channels."""
    from django.urls import path

    if side == "ours":
        sys.path.insert(0, str(ROOT))
        from gateway.auth import AuthMiddlewareStack
        from gateway.routing import ProtocolTypeRouter, URLRouter
        from gateway.security.websocket import AllowedHostsOriginValidator
    else:
        from channels.auth import AuthMiddlewareStack
        from channels.routing import ProtocolTypeRouter, URLRouter
        from channels.security.websocket import AllowedHostsOriginValidator

    routes = [path(f"decoy{i}/<int:n>/", accept) for i in range(30)]
    routes.append(path("rooms/<int:room>/", URLRouter([path("<slug:kind>/", accept)])))
    websocket: Any = URLRouter(routes)
    if stack == "full":
        websocket = AllowedHostsOriginValidator(AuthMiddlewareStack(websocket))
    return ProtocolTypeRouter({"websocket": websocket})


async def one_scope(application: Any) -> None:
    scope = {
        "type": "websocket",
        "path": "/rooms/42/lobby/",
        "query_string": b"",
        "headers": [(b"host", b"example.com"), (b"origin", b"https://example.com")],
        "subprotocols": [],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    if sent != [{"type": "websocket.accept"}]:
        raise RuntimeError(f"the scope was not accepted: {sent!r}")


async def measure(application: Any) -> dict[str, float]:
    await one_scope(application)  # warm-up: imports, thread pool, regex compilation
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(SEQUENTIAL):
        await one_scope(application)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    started = time.perf_counter()
    for _ in range(CONCURRENT_BATCHES):
        await asyncio.gather(*(one_scope(application) for _ in range(BATCH)))
    concurrent = time.perf_counter() - started
    return {
        "wall_us_per_scope": wall / SEQUENTIAL * 1e6,
        "cpu_us_per_scope": cpu / SEQUENTIAL * 1e6,
        "concurrent_scopes_per_s": CONCURRENT_BATCHES * BATCH / concurrent,
    }


def worker(side: str) -> None:
    """Measure every stack for one side; print the results as JSON on stdout."""
    configure_django()
    results = {stack: asyncio.run(measure(build(side, stack))) for stack in STACKS}
    sys.stdout.write(json.dumps(results) + "\n")


def run_side(side: str) -> dict[str, dict[str, float]]:
    if side == "ours":
        python = Path(sys.executable)
    else:
        sys.path.insert(0, str(ROOT))
        from bench.refenv import reference_python

        python = reference_python("daphne-channels", REFERENCE_REQUIREMENTS)
    # A clean environment: the project's settings module must not leak into either side.
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.pop("PYTHONPATH", None)
    output = subprocess.run(
        [str(python), __file__, "--side", side],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT / "bench",
        env=env,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


ROWS = [
    ("wall_us_per_scope", "wall µs/scope, sequential", False),
    ("cpu_us_per_scope", "CPU µs/scope, sequential", False),
    ("concurrent_scopes_per_s", f"scopes/s, {BATCH} at a time", True),
]


def best_of(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each figure's best value over the runs: lowest time, highest throughput."""
    return {
        stack: {
            key: (max if higher_is_better else min)(run[stack][key] for run in runs)
            for key, _, higher_is_better in ROWS
        }
        for stack in STACKS
    }


def report(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "| stack | measurement | ours | Channels 4.3.2 | ours vs Channels |",
        "|---|---|---:|---:|---:|",
    ]
    for stack in STACKS:
        for key, label, higher_is_better in ROWS:
            ours = results["ours"][stack][key]
            ref = results["reference"][stack][key]
            factor = ours / ref if higher_is_better else ref / ours
            verdict = f"{factor:.2f}x better" if factor >= 1 else f"{factor:.2f}x (worse)"
            lines.append(f"| {stack} | {label} | {ours:,.1f} | {ref:,.1f} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"ours": [], "reference": []}
    for _ in range(RUNS):
        for side, side_runs in runs.items():
            side_runs.append(run_side(side))
            logger.info("%s: %s", side, side_runs[-1])
    results = {side: best_of(side_runs) for side, side_runs in runs.items()}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "routing.json").write_text(json.dumps(results, indent=2))
    sys.stdout.write(report(results) + "\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=("ours", "reference"), help="run one side (internal)")
    arguments = parser.parse_args()
    if arguments.side:
        worker(arguments.side)
    else:
        main()
