"""Run the Procfile's process types the way Heroku runs them: by their command line, with the
add-ons' variables in the environment, stopped with SIGTERM.

The commands are found on PATH, as on a dyno: the test's own virtualenv by default, or the one
GATEWAY_DEPLOY_VENV names (a fresh `python -m venv X && X/bin/pip install -r requirements.txt`,
to check that requirements.txt alone is enough).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from pathlib import Path

from tests.integration.commands.helpers import finish, wait_for_line
from tests.unit.project.environment import environment_reads

ROOT = Path(__file__).resolve().parents[3]


def procfile() -> dict[str, list[str]]:
    """The Procfile's process types and their command lines."""
    types: dict[str, list[str]] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, separator, command = line.partition(":")
        if separator and not line.startswith("#"):
            types[name.strip()] = shlex.split(command)
    return types


def dyno_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any setting the tests set, plus ``variables``."""
    read = environment_reads((ROOT / "project" / "settings.py").read_text())
    env = {key: value for key, value in os.environ.items() if key not in read}
    venv = os.environ.get("GATEWAY_DEPLOY_VENV")
    bin_dir = str(Path(venv) / "bin") if venv else str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["DJANGO_SETTINGS_MODULE"] = "project.settings"  # not the test settings pytest set
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env | variables


class Dyno:
    """One process of a Procfile process type, its output collected line by line."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.seen: list[str] = []

    @classmethod
    async def start(cls, name: str, command: list[str], env: dict[str, str]) -> Dyno:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # A group of its own, so kill() takes its children too: the worker's embedded
            # Celery beat would otherwise outlive it, hold the output pipe and hang the test.
            start_new_session=True,
        )
        return cls(name, process)

    @property
    def output(self) -> str:
        return "".join(self.seen)

    async def wait_for(self, text: str) -> str:
        """Read output until a line contains ``text``; return that line."""
        await wait_for_line(self.process, text, self.seen)
        return self.seen[-1]

    async def sigterm(self) -> int:
        """SIGTERM, as Heroku sends it on a restart or scale-down; return the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return await finish(self.process, self.seen)

    def kill(self) -> None:
        """SIGKILL the dyno's process and everything it started (a failed test's cleanup)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


async def run_once(name: str, command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a one-off command (the build's collectstatic, the release phase) to its end."""
    dyno = await Dyno.start(name, command, env)
    status = await finish(dyno.process, dyno.seen)
    return status, dyno.output
