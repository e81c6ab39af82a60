"""Message serializers of the Redis layers, and the registry that names them (channels_redis' API).

``CONFIG["serializer_format"]`` names a registered serializer: ``"msgpack"`` (the default) or
``"json"`` are built in, and a project can register its own::

    from gateway.layers.redis.serializers import registry

    class CborSerializer(BaseMessageSerializer):
        def as_bytes(self, message):
            return cbor2.dumps(message)

        def from_bytes(self, data):
            return cbor2.loads(data)

    registry.register_serializer("cbor", CborSerializer)

When the format's library is optional, register a placeholder in its place, so that choosing
the format says what to install (channels_redis' ``MissingSerializer``)::

    try:
        import cbor2
    except ImportError as exc:
        class CborSerializer(MissingSerializer):
            exception = exc

A serializer is built with the keywords ``symmetric_encryption_keys``, ``random_prefix_length``
and ``expiry``. Subclasses of :class:`BaseMessageSerializer` get encryption (Fernet, keys
derived with SHA-256 from any secret, the first key encrypts and any decrypts) and the random
prefix for free; any other class with ``serialize(message) -> bytes`` and
``deserialize(bytes) -> message`` methods that accepts those keywords works too.
Pure: no I/O here.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import json
import secrets
from collections.abc import Iterable
from typing import Any, ClassVar

import msgpack
from cryptography.fernet import Fernet, MultiFernet

from gateway.exceptions import (
    ConfigurationError,
    InvalidSerializer,
    SerializerDoesNotExist,
    SerializerUnavailable,
)

__all__ = [
    "BaseMessageSerializer",
    "JSONSerializer",
    "MissingSerializer",
    "MsgPackSerializer",
    "SerializerDoesNotExist",
    "SerializerUnavailable",
    "SerializersRegistry",
    "registry",
]


class BaseMessageSerializer(abc.ABC):
    """Bytes from messages and back: implement :meth:`as_bytes` and :meth:`from_bytes`.

    Args:
        symmetric_encryption_keys: secrets; the first encrypts, any of them decrypts (rotate
            keys by putting the new one first and keeping the old ones until messages expired).
        random_prefix_length: random bytes put before each payload (channels_redis uses them
            so equal messages stay distinct members of a sorted set); 0 or less for none.
        expiry: seconds; when set, an encrypted payload older than ``expiry + 10`` is refused.
    """

    def __init__(
        self,
        symmetric_encryption_keys: Iterable[str | bytes] | None = None,
        random_prefix_length: int = 0,
        expiry: float | None = None,
    ) -> None:
        self.random_prefix_length = random_prefix_length
        self.expiry = expiry
        if isinstance(symmetric_encryption_keys, str | bytes):
            raise ConfigurationError(
                "symmetric_encryption_keys must be a list of keys, not one string: "
                "write [key] instead of key"
            )
        keys = list(symmetric_encryption_keys or [])
        #: Encrypts and decrypts payloads; None when no keys were given.
        self.crypter: MultiFernet | None = (
            MultiFernet([self.make_fernet(key) for key in keys]) if keys else None
        )

    @staticmethod
    def make_fernet(key: str | bytes) -> Fernet:
        """Return the Fernet of a secret of any length (its SHA-256, as channels_redis)."""
        raw = key.encode() if isinstance(key, str) else key
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))

    @abc.abstractmethod
    def as_bytes(self, message: Any) -> bytes:
        """Encode a message (before encryption)."""

    @abc.abstractmethod
    def from_bytes(self, data: bytes) -> Any:
        """Decode what :meth:`as_bytes` made (after decryption)."""

    def serialize(self, message: Any) -> bytes:
        """Encode, encrypt when keys are set, then prefix random bytes when asked."""
        data = self.as_bytes(message)
        if self.crypter is not None:
            data = self.crypter.encrypt(data)
        if self.random_prefix_length > 0:
            data = secrets.token_bytes(self.random_prefix_length) + data
        return data

    def deserialize(self, data: bytes) -> Any:
        """Undo :meth:`serialize`.

        Raises:
            cryptography.fernet.InvalidToken: encrypted with keys we do not have (or too old).
            ValueError: the bytes are not what :meth:`as_bytes` makes.
        """
        if self.random_prefix_length > 0:
            data = data[self.random_prefix_length :]
        if self.crypter is not None:
            ttl = None if self.expiry is None else int(self.expiry) + 10
            data = self.crypter.decrypt(data, ttl)
        return self.from_bytes(data)


class JSONSerializer(BaseMessageSerializer):
    """JSON in UTF-8: readable in ``redis-cli MONITOR``; no bytes values."""

    def as_bytes(self, message: Any) -> bytes:
        """``json.dumps`` with the default separators, as channels_redis writes."""
        return json.dumps(message).encode("utf-8")

    def from_bytes(self, data: bytes) -> Any:
        """``json.loads``."""
        return json.loads(data)


class MsgPackSerializer(BaseMessageSerializer):
    """msgpack (the default): compact, and carries bytes values (WebSocket binary frames)."""

    def as_bytes(self, message: Any) -> bytes:
        """``msgpack.packb`` with the bin type, so bytes come back as bytes."""
        data: bytes = msgpack.packb(message, use_bin_type=True)
        return data

    def from_bytes(self, data: bytes) -> Any:
        """``msgpack.unpackb`` with str keys and values decoded."""
        return msgpack.unpackb(data, raw=False)


class MissingSerializer(BaseMessageSerializer):
    """A placeholder for a format whose library is not installed: building it raises.

    Set ``exception`` to the ImportError caught when importing the library; the
    :class:`~gateway.exceptions.SerializerUnavailable` raised when the format is chosen carries
    it as its cause.
    """

    #: The ImportError (or any exception) that made this serializer unavailable.
    exception: ClassVar[BaseException | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cause = type(self).exception
        raise SerializerUnavailable(
            f"serializer {type(self).__name__} cannot be used: "
            f"{cause or 'its library is not installed'}; install that library or choose "
            "another CONFIG serializer_format"
        ) from cause

    def as_bytes(self, message: Any) -> bytes:  # pragma: no cover - never built
        raise NotImplementedError

    def from_bytes(self, data: bytes) -> Any:  # pragma: no cover - never built
        raise NotImplementedError


class SerializersRegistry:
    """Serializer classes by format name (like ``django.core.serializers``' registry)."""

    def __init__(self) -> None:
        self._registry: dict[str, type[Any]] = {}

    def register_serializer(self, format: str, serializer_class: type[Any]) -> None:
        """Register (or replace) the class used for ``format``.

        Raises:
            InvalidSerializer: ``serializer_class`` is not a class with ``serialize`` and
                ``deserialize`` (an AssertionError too, as channels_redis asserts).
        """
        if not isinstance(serializer_class, type) or not (
            issubclass(serializer_class, BaseMessageSerializer)
            or (hasattr(serializer_class, "serialize") and hasattr(serializer_class, "deserialize"))
        ):
            raise InvalidSerializer(
                f"cannot register {serializer_class!r} for format {format!r}: give a class "
                "with serialize() and deserialize() methods, or a subclass of "
                "gateway.layers.redis.serializers.BaseMessageSerializer"
            )
        self._registry[format] = serializer_class

    def get_serializer(self, format: str, *args: Any, **kwargs: Any) -> Any:
        """Build the serializer registered for ``format`` with the given arguments.

        Raises:
            SerializerDoesNotExist: nothing is registered under ``format`` (a KeyError too).
        """
        try:
            serializer_class = self._registry[format]
        except KeyError:
            known = ", ".join(sorted(self._registry)) or "none"
            raise SerializerDoesNotExist(
                f"no serializer registered for format {format!r} (registered: {known}); "
                "set CONFIG serializer_format to one of them, or register yours with "
                "gateway.layers.redis.serializers.registry.register_serializer()"
            ) from None
        return serializer_class(*args, **kwargs)

    @property
    def formats(self) -> list[str]:
        """The registered format names."""
        return sorted(self._registry)


#: The registry CONFIG ``serializer_format`` is looked up in.
registry = SerializersRegistry()
registry.register_serializer("json", JSONSerializer)
registry.register_serializer("msgpack", MsgPackSerializer)
