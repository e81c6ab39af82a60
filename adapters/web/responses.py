"""Answers the web adapter writes itself, before or instead of the application, and log helpers."""

from __future__ import annotations

from http import HTTPStatus

__all__ = ["Rejected", "error_response", "peer"]


class Rejected(Exception):
    """Raised inside a parser callback to stop parsing; carries the answer for the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("ascii")


def error_response(status: int, text: str, extra: bytes = b"") -> bytes:
    """A complete ``Connection: close`` plain-text response."""
    body = text.encode("ascii", "replace") + b"\n"
    return b"".join(
        (
            _status_line(status),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
            extra,
            b"\r\n",
            body,
        )
    )


def peer(client: tuple[str, int] | None) -> str:
    """``host:port`` of a client for log lines."""
    return f"{client[0]}:{client[1]}" if client else "client"
