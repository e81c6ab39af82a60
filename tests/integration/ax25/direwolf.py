"""Two Direwolf 1.6 instances that hear each other with no sound card, for integration tests.

::

    pair = DirewolfPair.start(tmp_path, baud=9600, pty=True)    # A: the gateway's TNC
    pair.a.kiss_port, pair.a.pty                                # B: the operator's TNC
    pair.b.kiss_port, pair.b.agw_port
    pair.a.restart()                                            # the TNC killed and back
    pair.stop()

Each instance runs with its own HOME, whose ``.asoundrc`` makes its transmit PCM a pipe into
``air_relay.py`` (next to this file), which sends the audio over UDP to the other instance's
receive port. Every TCP and UDP port is picked free at run time, so several test runs (and
engineers) share the machine. ``loss`` passes options to the relays (``["--drop-every", "3"]``)
for tests that need a bad channel. Pitfalls (learned the hard way; docs/ax25.md has the list):

* a new KISS/AGW TCP client is polled by Direwolf once a second: the first frame after a
  connect may come up to 1 s late; connect once and keep the connection;
* Direwolf accepts at most 3 KISS TCP clients: close yours;
* ``-p`` makes the machine-wide ``/tmp/kisstnc`` symlink: use :attr:`Direwolf.pty` instead.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RELAY = HERE / "air_relay.py"

CONFIG = """\
# Direwolf config written by tests/integration/ax25/direwolf.py
ADEVICE udp:{udp_port} dwtx
ARATE {rate}
ACHANNELS 1
CHANNEL 0
MYCALL {mycall}
MODEM {baud}
# Fast channel access (10 ms units). TXDELAY 0 loses frames; 5 keeps a margin.
TXDELAY 5
TXTAIL 2
SLOTTIME 0
PERSIST 255
DWAIT 0
AGWPORT {agw_port}
KISSPORT {kiss_port}
FRACK 3
RETRY 10
PACLEN 256
MAXFRAME 4
{extra}
"""

ASOUNDRC = """\
pcm.dwtx {{
    type file
    slave.pcm "null"
    format "raw"
    file "| exec {python} {relay} --rate %r --peer {peer} {relay_args}"
}}
"""

READY_TIMEOUT = 15.0


class DirewolfError(RuntimeError):
    """Direwolf did not start; the message carries its log."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free right now on 127.0.0.1 (TCP by default, ``socket.SOCK_DGRAM`` for UDP).

    Direwolf 1.6 refuses ports above 49151 (and silently falls back to 8000/8001, which other
    test runs may use), so the port is drawn from 20000-49151 rather than the kernel's
    ephemeral range.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 49152)
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DirewolfError("no free port found in 20000-49151")


def installed() -> bool:
    """True when the direwolf binary is on PATH (scripts/services.sh installs it)."""
    return shutil.which("direwolf") is not None


@dataclass
class Direwolf:
    """One Direwolf instance; :meth:`start` launches it, :meth:`stop` ends it (and its relay)."""

    home: Path
    mycall: str
    baud: int
    udp_port: int
    peer_udp_port: int
    kiss_port: int = field(default_factory=free_port)
    agw_port: int = field(default_factory=free_port)
    pty: bool = False
    extra_config: str = ""
    relay_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    #: The KISS pseudo-terminal (``/dev/pts/N``) when started with ``pty=True``.
    pty_path: str | None = None

    @property
    def pty_link(self) -> Path:
        """A symlink to the current pty (re-pointed by every :meth:`start`)."""
        return self.home / "kisstnc"

    @property
    def log(self) -> Path:
        return self.home / "dw.log"

    def _write_files(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "direwolf.conf").write_text(
            CONFIG.format(
                udp_port=self.udp_port,
                rate=48000 if self.baud == 9600 else 44100,
                mycall=self.mycall,
                baud=self.baud,
                agw_port=self.agw_port,
                kiss_port=self.kiss_port,
                extra=self.extra_config,
            )
        )
        # ALSA runs the pipe command with /bin/sh: no spaces in these paths.
        (self.home / ".asoundrc").write_text(
            ASOUNDRC.format(
                python=sys.executable,
                relay=RELAY,
                peer=self.peer_udp_port,
                relay_args=" ".join(
                    [
                        "--log",
                        f"{self.home}/air.log",
                        "--pidfile",
                        f"{self.home}/air.pid",
                        *self.relay_args,
                    ]
                ),
            )
        )

    def start(self) -> None:
        """Launch Direwolf and wait until its KISS and AGW ports (and pty) are ready.

        Raises:
            DirewolfError: it exited or was not ready in 15 s (the message has its log).
        """
        self._write_files()
        for name in ("dw.log", "air.pid"):
            with contextlib.suppress(FileNotFoundError):
                (self.home / name).unlink()
        command = ["direwolf", "-t", "0", "-c", "direwolf.conf"] + (["-p"] if self.pty else [])
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.home,
                env={**os.environ, "HOME": str(self.home)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: direwolf and its relay
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        # Polls Direwolf's log for its ready lines: readiness of an external process, not a timer.
        deadline = time.monotonic() + READY_TIMEOUT
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DirewolfError(f"direwolf {self.mycall} exited:\n{self._log_text()}")
            text = self._log_text()
            ready = (
                f"Ready to accept KISS TCP client application 0 on port {self.kiss_port} " in text
                and f"Ready to accept AGW client application 0 on port {self.agw_port} " in text
                and (self.home / "air.pid").exists()
            )
            if "Invalid port number" in text:
                self.stop()
                raise DirewolfError(f"direwolf {self.mycall} refused a port:\n{text}")
            if ready and self.pty:
                for line in text.splitlines():
                    if line.startswith("Virtual KISS TNC is available on "):
                        self.pty_path = line.rsplit(" ", 1)[1].strip()
                ready = self.pty_path is not None
            if ready:
                if self.pty_path is not None:
                    # A stable name for the pty, which changes when Direwolf restarts (like a
                    # udev rule's /dev/tnc for a USB TNC that comes back as another ttyUSB).
                    with contextlib.suppress(FileNotFoundError):
                        self.pty_link.unlink()
                    self.pty_link.symlink_to(self.pty_path)
                return
            time.sleep(0.05)
        self.stop()
        raise DirewolfError(
            f"direwolf {self.mycall} not ready in {READY_TIMEOUT} s:\n{self._log_text()}"
        )

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, kill: bool = False) -> None:
        """End Direwolf: SIGINT (its clean exit) or SIGKILL, then its relay. Idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGINT)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # The relay is Direwolf's child in its process group; it exits at EOF, make sure.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        # -p leaves its machine-wide /tmp/kisstnc symlink behind; remove it if it is ours.
        link = Path("/tmp/kisstnc")
        if self.pty_path and link.is_symlink() and os.readlink(link) == self.pty_path:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
        self.pty_path = None

    def restart(self, kill: bool = True) -> None:
        """Kill the TNC (SIGKILL: like pulling its plug) and start it again on the same ports."""
        self.stop(kill=kill)
        self.start()

    def air_log(self) -> str:
        """What the relay logged: one line per transmission (``sent`` or ``dropped``)."""
        try:
            return (self.home / "air.log").read_text()
        except FileNotFoundError:
            return ""


@dataclass
class DirewolfPair:
    """Instance A (the gateway's TNC, MYCALL N0CALL-10) and B (the operator's, N0CALL-1)."""

    a: Direwolf
    b: Direwolf

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        baud: int = 9600,
        pty: bool = False,
        extra_config: str = "",
        loss: list[str] | None = None,
    ) -> DirewolfPair:
        """Start both instances in ``directory`` (no spaces in the path).

        Args:
            baud: 1200 (AFSK) or 9600 (G3RUH); 9600 keeps tests fast.
            pty: give A a KISS pseudo-terminal too (``a.pty_path``).
            extra_config: Direwolf config lines for both (later lines win), e.g. ``"V20 BOT-1"``.
            loss: air_relay.py options for both directions, e.g. ``["--drop-every", "3"]``.
        """
        if " " in str(directory):
            raise DirewolfError(f"{directory} has a space: ALSA's pipe command would break")
        udp_a, udp_b = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
        relay = list(loss or [])
        a = Direwolf(directory / "a", "N0CALL-10", baud, udp_a, udp_b, pty=pty,
                     extra_config=extra_config, relay_args=relay)  # fmt: skip
        b = Direwolf(directory / "b", "N0CALL-1", baud, udp_b, udp_a,
                     extra_config=extra_config, relay_args=relay)  # fmt: skip
        pair = cls(a, b)
        try:
            a.start()
            b.start()
        except BaseException:
            pair.stop()
            raise
        return pair

    def stop(self) -> None:
        """Stop both (idempotent)."""
        self.a.stop()
        self.b.stop()
