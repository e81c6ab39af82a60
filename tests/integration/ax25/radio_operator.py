"""The radio operator's side of the integration tests: KISS and AGW clients of Direwolf B.

Synchronous sockets with a reader thread (so a test's event loop, where the gateway runs, is
never blocked by them); tests call :meth:`KissOperator.expect` through ``asyncio.to_thread``.
Frames are built and parsed with the project's codecs; Direwolf re-modulates and demodulates
them in between, which is what the gateway's codecs are tested against.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

from adapters.ax25.frame import Callsign, Frame, FrameError, FrameType, decode_frame, encode_frame
from adapters.ax25.kiss import KissDecoder, encode_data

#: Direwolf polls a new KISS/AGW TCP client once a second: wait this long after connecting.
NEW_CLIENT_DELAY = 1.1


class KissOperator:
    """A KISS TCP client that sends frames and collects every frame it hears."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.settimeout(None)
        self._decoder = KissDecoder()
        self._heard: list[Frame] = []
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._read, name="kiss operator", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                with self._condition:
                    self._closed = True
                    self._condition.notify_all()
                return
            for kiss_frame in self._decoder.feed(data):
                try:
                    frame = decode_frame(kiss_frame.payload)
                except FrameError:
                    continue
                with self._condition:
                    self._heard.append(frame)
                    self._condition.notify_all()

    def send(self, frame: Frame) -> None:
        """Transmit ``frame`` through Direwolf B."""
        self.sock.sendall(encode_data(encode_frame(frame)))

    def send_ui(self, source: str, destination: str, info: bytes) -> None:
        """Transmit a UI frame (PID F0)."""
        self.send(Frame(Callsign.parse(destination), Callsign.parse(source), FrameType.UI,
                        pid=0xF0, info=info))  # fmt: skip

    def expect(self, match: Callable[[Frame], bool], timeout: float = 10.0) -> Frame:
        """Take the first frame heard (now or within ``timeout`` s) that ``match`` accepts.

        Raises:
            TimeoutError: none came; the message lists what was heard.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for index, frame in enumerate(self._heard):
                    if match(frame):
                        return self._heard.pop(index)
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"no matching frame in {timeout} s; heard {self._heard!r}")
                self._condition.wait(left)

    def take(self, match: Callable[[Frame], bool]) -> list[Frame]:
        """Remove and return every frame heard so far that ``match`` accepts."""
        with self._condition:
            taken = [f for f in self._heard if match(f)]
            self._heard = [f for f in self._heard if not match(f)]
            return taken

    def close(self) -> None:
        _close_socket(self.sock)
        self._thread.join(timeout=5)


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


_AGW_HEADER = struct.Struct("<B3xcxBx10s10sI4x")


def agw_unproto(port: int, source: str, destination: str, info: bytes) -> None:
    """Send a UI frame through Direwolf's AGW 'M' (unproto) command, as AGW applications
    (Xastir, YAAC, ...) do. Direwolf sets BOTH C bits on such frames (AX.25 v1 form)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        header = _AGW_HEADER.pack(0, b"M", 0xF0, source.encode(), destination.encode(), len(info))
        sock.sendall(header + info)
        # Direwolf reads a new client's data within about a second; stay until it has.
        time.sleep(NEW_CLIENT_DELAY)
