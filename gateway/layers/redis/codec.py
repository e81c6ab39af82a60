"""How a message travels through Redis: serializer, optional encryption, and the item header.

An item in a channel list is ``b"<expires_at_ms>\\n<channel>\\n<payload>"``:

- ``expires_at_ms``: wall-clock milliseconds after which the item is dropped unread;
- ``channel``: empty in a normal channel's list; in a process's list, the full name of the
  process-local channel, or several comma-separated names when one group_send addresses
  several channels of that process (one item, fanned out by the receiving process);
- ``payload``: the message serialized (msgpack or JSON), then encrypted when keys are set.

The payload is built once per send or group_send; the Lua scripts only prepend the header,
so a group_send costs one serialization whatever the group size. Pure: no I/O here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import msgpack
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gateway.exceptions import ConfigurationError, InvalidMessage, RemoteProtocolError

SERIALIZERS = ("msgpack", "json")


class MessageCodec:
    """Turns message dicts into payload bytes and back.

    Args:
        serializer: "msgpack" (default, as channels_redis) or "json".
        symmetric_encryption_keys: secrets; the first encrypts, any of them decrypts (key
            rotation: put the new key first, keep the old ones until old messages expired).
    """

    def __init__(
        self,
        serializer: str = "msgpack",
        symmetric_encryption_keys: Iterable[str | bytes] | None = None,
    ) -> None:
        if serializer not in SERIALIZERS:
            raise ConfigurationError(
                f"serializer must be one of {', '.join(SERIALIZERS)}, got {serializer!r}"
            )
        self.serializer = serializer
        if isinstance(symmetric_encryption_keys, str | bytes):
            raise ConfigurationError(
                "symmetric_encryption_keys must be a list of keys, not one string: "
                "write [key] instead of key"
            )
        keys = list(symmetric_encryption_keys or [])
        self._crypter = MultiFernet([Fernet(_fernet_key(key)) for key in keys]) if keys else None

    @property
    def encrypted(self) -> bool:
        """True when payloads are encrypted."""
        return self._crypter is not None

    def dumps(self, message: dict[str, Any]) -> bytes:
        """Serialize (and encrypt) a message.

        Raises:
            InvalidMessage: the message holds values the serializer cannot represent.
        """
        try:
            if self.serializer == "msgpack":
                data: bytes = msgpack.packb(message, use_bin_type=True)
            else:
                data = json.dumps(message, separators=(",", ":")).encode()
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidMessage(
                f"message cannot be serialized with {self.serializer} ({exc}): use only dict, "
                "list, str, int, float, bool and None"
                + (", bytes" if self.serializer == "msgpack" else "")
            ) from exc
        if self._crypter is not None:
            data = self._crypter.encrypt(data)
        return data

    def loads(self, data: bytes) -> dict[str, Any]:
        """Decrypt and deserialize a payload.

        Raises:
            RemoteProtocolError: the payload is not decryptable with our keys, or corrupt.
        """
        if self._crypter is not None:
            try:
                data = self._crypter.decrypt(data)
            except InvalidToken as exc:
                raise RemoteProtocolError(
                    "a message could not be decrypted with any of symmetric_encryption_keys: "
                    "give every process the same keys"
                ) from exc
        try:
            if self.serializer == "msgpack":
                message = msgpack.unpackb(data, raw=False)
            else:
                message = json.loads(data)
        except ValueError as exc:
            raise RemoteProtocolError(
                f"a message is not valid {self.serializer}: do all processes use the same "
                "serializer and keys?"
            ) from exc
        if not isinstance(message, dict):
            raise RemoteProtocolError(f"a message decoded to {type(message).__name__}, not dict")
        return message


def _fernet_key(key: str | bytes) -> bytes:
    # As channels_redis: any secret string becomes a Fernet key through SHA-256.
    raw = key.encode() if isinstance(key, str) else key
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def make_item(expires_at_ms: int, channel: str, payload: bytes) -> bytes:
    """Build a list item (the Lua scripts build the same bytes for group_send)."""
    return b"%d\n%s\n%s" % (expires_at_ms, channel.encode(), payload)


def parse_header(item: bytes) -> tuple[int, str, int]:
    """Read a list item's header: ``(expires_at_ms, channel, offset of the payload)``.

    Raises:
        RemoteProtocolError: the item was not written by this layer.
    """
    first = item.find(b"\n")
    second = item.find(b"\n", first + 1)
    if first <= 0 or second < 0:
        raise RemoteProtocolError(f"not a channel layer item: {item[:40]!r}")
    try:
        expires = int(item[:first])
    except ValueError:
        raise RemoteProtocolError(f"not a channel layer item: {item[:40]!r}") from None
    return expires, item[first + 1 : second].decode(), second + 1


def parse_item(item: bytes) -> tuple[int, str, bytes]:
    """Split a list item into ``(expires_at_ms, channel, payload)``.

    Raises:
        RemoteProtocolError: the item was not written by this layer.
    """
    expires, channel, start = parse_header(item)
    return expires, channel, item[start:]
