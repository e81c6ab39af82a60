"""Run `manage.py runadapter web` as a real subprocess on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LISTENING = re.compile(r"web: listening on http://127\.0\.0\.1:(\d+)")
TEST_APPLICATION = "tests.integration.web.asgi_app.application"
COMMAND = [sys.executable, "manage.py", "runadapter", "web", "--host", "127.0.0.1", "--port", "0"]


class WebServer:
    """A `runadapter web` process; `port` is known once it logged that it listens."""

    def __init__(self, *also: str, **env: str) -> None:
        """Start it; ``also`` names more adapters for the same process (``"ax25"``)."""
        self.log = tempfile.NamedTemporaryFile(prefix="web-adapter-", suffix=".log", delete=False)  # noqa: SIM115
        full_env = os.environ | {
            "DEBUG": "1",
            "SECRET_KEY": "integration-test-key",
            "ASGI_APPLICATION": TEST_APPLICATION,
            "PYTHONUNBUFFERED": "1",
        }
        full_env.pop("REDIS_URL", None)
        full_env.update(env)
        self.database: Path | None = None
        if "DATABASE_URL" not in env:
            # A database of its own, migrated: the chat page's bot stores rooms and history.
            handle, name = tempfile.mkstemp(prefix="web-adapter-", suffix=".sqlite3")
            os.close(handle)
            self.database = Path(name)
            full_env["DATABASE_URL"] = f"sqlite:///{name}"
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                cwd=ROOT,
                env=full_env,
                check=True,
            )
        self.env = full_env
        self.process = subprocess.Popen(
            [*COMMAND[:4], *also, *COMMAND[4:]],
            cwd=ROOT,
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.port = self._wait_for_port()

    @property
    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def _wait_for_port(self, deadline: float = 30.0) -> int:
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            found = LISTENING.search(self.output)
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the web adapter did not start; its output:\n{self.output}")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def terminate(self, timeout: float = 40.0) -> int:
        """SIGTERM, as Heroku sends it; return the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
        if self.database is not None:
            self.database.unlink(missing_ok=True)
