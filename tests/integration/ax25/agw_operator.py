"""A radio operator's terminal program, as the tests play it: an AGWPE client of Direwolf.

Direwolf B runs the whole AX.25 data link (its own implementation: SABME/SABM, I frames, REJ,
T1, retries); this client only asks it to connect, send, disconnect, and collects what arrives,
as a packet terminal program (or an operator at one) does. AGWPE frames are a 36-byte
little-endian header (port, kind, PID, from, to, data length) and the data.
"""

from __future__ import annotations

import asyncio
import struct
from collections import defaultdict
from dataclasses import dataclass, field

HEADER = struct.Struct("<B3xcxBx10s10sII")
MAX_DATA = 256


@dataclass
class Session:
    """What one (operator, station) pair has seen."""

    connected: asyncio.Event = field(default_factory=asyncio.Event)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    data: bytearray = field(default_factory=bytearray)
    grew: asyncio.Event = field(default_factory=asyncio.Event)
    notices: list[str] = field(default_factory=list)


class AgwOperator:
    """One AGW TCP connection to Direwolf; several sessions (callsigns) may share it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.sessions: dict[tuple[str, str], Session] = defaultdict(Session)
        self._replies: dict[str, asyncio.Queue[bytes]] = defaultdict(asyncio.Queue)
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, port: int, host: str = "127.0.0.1") -> AgwOperator:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    def _send(self, kind: str, mine: str = "", theirs: str = "", data: bytes = b"") -> None:
        pid = 0xF0 if kind == "D" else 0
        header = HEADER.pack(0, kind.encode(), pid, mine.encode(), theirs.encode(), len(data), 0)
        self._writer.write(header + data)

    async def _read(self) -> None:
        while True:
            try:
                header = await self._reader.readexactly(HEADER.size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            _, kind_raw, _, raw_from, raw_to, length, _ = HEADER.unpack(header)
            data = await self._reader.readexactly(length) if length else b""
            kind = kind_raw.decode()
            # Direwolf reports a session as from = the station, to = our callsign.
            theirs = raw_from.split(b"\0")[0].decode()
            mine = raw_to.split(b"\0")[0].decode()
            session = self.sessions[(mine, theirs)]
            if kind == "C":
                session.notices.append(data.rstrip(b"\0").decode(errors="replace"))
                session.connected.set()
            elif kind == "d":
                session.notices.append(data.rstrip(b"\0").decode(errors="replace"))
                session.disconnected.set()
            elif kind == "D":
                session.data += data
                session.grew.set()
            else:
                await self._replies[kind].put(data)

    async def register(self, callsign: str) -> None:
        """Register our callsign with Direwolf (needed before connecting from it)."""
        self._send("X", callsign)
        reply = await asyncio.wait_for(self._replies["X"].get(), 10)
        assert reply[:1] == b"\x01", f"Direwolf refused to register {callsign}"

    def connect(self, mine: str, theirs: str) -> Session:
        """Ask Direwolf to connect ``mine`` to ``theirs`` (C THEIRS); returns the session."""
        session = self.sessions[(mine, theirs)]
        self._send("C", mine, theirs)
        return session

    def send(self, mine: str, theirs: str, data: bytes, piece: int = MAX_DATA) -> None:
        """Queue data on the session, in pieces of at most ``piece`` bytes as a terminal
        program sends them (Direwolf refuses an AGW 'D' frame larger than an AX.25 frame's
        256 bytes, and sends each piece as one I frame)."""
        for offset in range(0, len(data), piece):
            self._send("D", mine, theirs, data[offset : offset + piece])

    def disconnect(self, mine: str, theirs: str) -> None:
        self._send("d", mine, theirs)

    async def outstanding(self, mine: str, theirs: str) -> int:
        """Frames Direwolf still holds for the session (queued or not yet acknowledged)."""
        self._send("Y", mine, theirs)
        reply = await asyncio.wait_for(self._replies["Y"].get(), 10)
        return int(struct.unpack("<I", reply[:4])[0])

    async def wait_for_data(self, session: Session, predicate: object, timeout: float) -> bytes:
        """Wait until ``predicate(data)`` holds (or ``data`` contains the given bytes)."""

        def done() -> bool:
            data = bytes(session.data)
            if isinstance(predicate, bytes):
                return predicate in data
            return bool(predicate(data))  # type: ignore[operator]

        async def wait() -> None:
            while not done():
                session.grew.clear()
                await session.grew.wait()

        await asyncio.wait_for(wait(), timeout)
        return bytes(session.data)

    async def aclose(self) -> None:
        self._writer.close()
        self._task.cancel()
        try:
            await self._writer.wait_closed()
        except ConnectionError:
            pass
