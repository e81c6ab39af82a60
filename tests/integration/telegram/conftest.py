"""Telegram integration fixtures: the fake Bot API server, a migrated database per test, and
``manage.py runadapter`` subprocesses pointed at them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.telegram.fakeapi import TOKEN, FakeBotApiThread

REPO = Path(__file__).resolve().parents[3]
APP = "tests.integration.telegram.app.application"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(
    condition: Callable[[], Any],
    timeout: float = 30.0,
    what: str = "condition",
    details: Callable[[], str] = str,
) -> None:
    """Wait until ``condition()`` is true (the adapter is another process); fail after timeout.

    ``details()`` is added to the failure message (e.g. the adapter's logs).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s\n{details()}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; tests copy it (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("telegram-db") / "template.sqlite3"
    env = base_env(f"sqlite:///{path}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    return path


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of the adapter subprocesses."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "MQTT_", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(
        DEBUG="1",
        SECRET_KEY="telegram-integration-tests",
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL=database_url,
        PYTHONPATH=str(REPO),
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


@pytest.fixture
def fake_api() -> Iterator[FakeBotApiThread]:
    """A fake Bot API server on a free loopback port, in a thread of the test process."""
    with FakeBotApiThread() as server:
        yield server


class AdapterProcess:
    """``manage.py runadapter NAMES`` as a subprocess; its log goes to a file."""

    def __init__(self, names: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.names = names
        self.env = env
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = open(self.log_dir / f"adapter-{self.runs}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runadapter", *self.names],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self.process.wait(30)
            self.process.kill()
        return self.process.wait(10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n" + path.read_text(errors="replace")
            for path in sorted(self.log_dir.glob("adapter-*.log"))
        )


@pytest.fixture
def adapter_factory(
    migrated_sqlite: Path,
) -> Iterator[Callable[..., AdapterProcess]]:
    """Make adapter processes on a fresh copy of the migrated database."""
    made: list[AdapterProcess] = []
    directory = Path(tempfile.mkdtemp(prefix="telegram-it-"))

    def make(names: list[str], api_url: str, **settings: str) -> AdapterProcess:
        database = directory / "db.sqlite3"
        if not database.exists():
            shutil.copy(migrated_sqlite, database)
        # ``settings`` may name another ASGI_APPLICATION (the real bot: project.asgi).
        env = base_env(
            f"sqlite:///{database}",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api_url,
            **{"ASGI_APPLICATION": APP, **settings},
        )
        process = AdapterProcess(names, env, directory)
        made.append(process)
        return process

    yield make
    for process in made:
        if process.process is not None and process.process.poll() is None:
            process.process.kill()
            process.process.wait(10)
    shutil.rmtree(directory, ignore_errors=True)
