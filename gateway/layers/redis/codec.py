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

from collections.abc import Iterable
from typing import Any

from cryptography.fernet import InvalidToken

from gateway.exceptions import ConfigurationError, InvalidMessage, RemoteProtocolError
from gateway.layers.redis.serializers import registry


class MessageCodec:
    """Turns message dicts into payload bytes and back, with a registered serializer.

    Args:
        serializer: a format of :data:`gateway.layers.redis.serializers.registry`: "msgpack"
            (default, as channels_redis), "json", or one the project registered.
        symmetric_encryption_keys: secrets; the first encrypts, any of them decrypts (key
            rotation: put the new key first, keep the old ones until old messages expired).
        random_prefix_length: random bytes put before every payload and cut off when read
            (channels_redis' option, passed to the serializer); every process must agree.

    Raises:
        SerializerDoesNotExist: no serializer is registered under that format.
        ConfigurationError: the keys are one string instead of a list, or
            ``random_prefix_length`` is not an int >= 0.
    """

    def __init__(
        self,
        serializer: str = "msgpack",
        symmetric_encryption_keys: Iterable[str | bytes] | None = None,
        random_prefix_length: int = 0,
    ) -> None:
        # bool is an int: True would silently mean one byte.
        if (
            not isinstance(random_prefix_length, int)
            or isinstance(random_prefix_length, bool)
            or random_prefix_length < 0
        ):
            raise ConfigurationError(
                "CONFIG random_prefix_length must be an int >= 0 (random bytes before each "
                f"payload), got {random_prefix_length!r}"
            )
        self.format = serializer
        self.random_prefix_length = random_prefix_length
        #: The serializer object (``serialize``/``deserialize``), built from the registry.
        self.serializer = registry.get_serializer(
            serializer,
            symmetric_encryption_keys=symmetric_encryption_keys,
            random_prefix_length=random_prefix_length,
            expiry=None,
        )
        self.encrypted = bool(symmetric_encryption_keys)

    def dumps(self, message: dict[str, Any]) -> bytes:
        """Serialize (and encrypt) a message.

        Raises:
            InvalidMessage: the message holds values the serializer cannot represent.
        """
        try:
            data = self.serializer.serialize(message)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidMessage(
                f"message cannot be serialized with {self.format} ({exc}): use only dict, "
                "list, str, int, float, bool and None"
                + (", bytes" if self.format == "msgpack" else "")
            ) from exc
        if not isinstance(data, bytes):
            raise InvalidMessage(
                f"serializer {self.format!r} returned {type(data).__name__}, not bytes: "
                "fix its serialize() method"
            )
        return data

    def loads(self, data: bytes) -> dict[str, Any]:
        """Decrypt and deserialize a payload.

        Raises:
            RemoteProtocolError: the payload is not decryptable with our keys, or corrupt.
        """
        try:
            message = self.serializer.deserialize(data)
        except InvalidToken as exc:
            raise RemoteProtocolError(
                "a message could not be decrypted with any of symmetric_encryption_keys: "
                "give every process the same keys"
            ) from exc
        except Exception as exc:
            # Any serializer, including a project's own: a payload it cannot read is the
            # sender's fault, never a reason to stop receiving.
            raise RemoteProtocolError(
                f"a message is not valid {self.format} ({exc}): do all processes use the same "
                "serializer and keys?"
            ) from exc
        if not isinstance(message, dict):
            raise RemoteProtocolError(f"a message decoded to {type(message).__name__}, not dict")
        return message


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
        # UnicodeDecodeError is a ValueError too: a channel name is ASCII in our items.
        return int(item[:first]), item[first + 1 : second].decode(), second + 1
    except ValueError:
        raise RemoteProtocolError(f"not a channel layer item: {item[:40]!r}") from None


def parse_item(item: bytes) -> tuple[int, str, bytes]:
    """Split a list item into ``(expires_at_ms, channel, payload)``.

    Raises:
        RemoteProtocolError: the item was not written by this layer.
    """
    expires, channel, start = parse_header(item)
    return expires, channel, item[start:]
