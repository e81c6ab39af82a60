"""Run manage.py commands as real subprocesses and read their log lines."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
#: Only a guard against a hung subprocess; no test asserts how long anything takes.
SAFETY_TIMEOUT = 60.0


async def start_manage(*args: str, **env: str) -> asyncio.subprocess.Process:
    """Start ``python manage.py ARGS`` in the project root with extra environment variables."""
    full_env = {**os.environ, "DEBUG": "1", "PYTHONUNBUFFERED": "1", **env}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "manage.py",
        *args,
        cwd=ROOT,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def wait_for_line(process: asyncio.subprocess.Process, text: str, seen: list[str]) -> None:
    """Read output lines into ``seen`` until one contains ``text``."""

    async def read() -> None:
        assert process.stdout is not None
        while True:
            raw = await process.stdout.readline()
            if not raw:
                raise AssertionError(f"process ended before logging {text!r}:\n{''.join(seen)}")
            seen.append(raw.decode(errors="replace"))
            if text in seen[-1]:
                return

    await asyncio.wait_for(read(), SAFETY_TIMEOUT)


async def finish(process: asyncio.subprocess.Process, seen: list[str]) -> int:
    """Read the rest of the output into ``seen`` and return the exit status."""
    assert process.stdout is not None
    rest = await asyncio.wait_for(process.stdout.read(), SAFETY_TIMEOUT)
    seen.append(rest.decode(errors="replace"))
    return await asyncio.wait_for(process.wait(), SAFETY_TIMEOUT)
