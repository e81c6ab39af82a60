"""The serializer registry, from channels_redis 4.3's documented behaviour and its test vectors."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.exceptions import (
    ConfigurationError,
    InvalidMessage,
    InvalidSerializer,
    RemoteProtocolError,
    SerializerDoesNotExist,
    SerializerUnavailable,
)
from gateway.layers.redis.codec import MessageCodec
from gateway.layers.redis.serializers import (
    BaseMessageSerializer,
    JSONSerializer,
    MissingSerializer,
    MsgPackSerializer,
    SerializersRegistry,
    registry,
)

MESSAGE = {"a": True, "b": None, "c": {"d": []}}
# The bytes channels_redis' own tests expect for MESSAGE.
MSGPACK = b"\x83\xa1a\xc3\xa1b\xc0\xa1c\x81\xa1d\x90"
JSON = b'{"a": true, "b": null, "c": {"d": []}}'


class NoopSerializer:
    """Not a BaseMessageSerializer: any class with serialize/deserialize may be registered."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def serialize(self, message: Any) -> Any:
        return message

    def deserialize(self, message: Any) -> Any:
        return message


class OnlySerialize:
    def serialize(self, message: Any) -> Any:
        return message


class OnlyDeserialize:
    def deserialize(self, message: Any) -> Any:
        return message


def not_a_class() -> None:
    """A function is not a serializer class."""


class ReversedJson(BaseMessageSerializer):
    """A project's own format: JSON written backwards."""

    def as_bytes(self, message: Any) -> bytes:
        return JSONSerializer().as_bytes(message)[::-1]

    def from_bytes(self, data: bytes) -> Any:
        return JSONSerializer().from_bytes(data[::-1])


@pytest.mark.parametrize("bad", [OnlySerialize, OnlyDeserialize, not_a_class])
def test_refuses_classes_that_cannot_serialize(bad: Any) -> None:
    with pytest.raises(InvalidSerializer, match="serialize\\(\\) and deserialize\\(\\)"):
        SerializersRegistry().register_serializer("custom", bad)
    # channels_redis asserts there, and its users' tests catch AssertionError.
    with pytest.raises(AssertionError):
        SerializersRegistry().register_serializer("custom", bad)


def test_unregistered_format_is_a_key_error_naming_the_registered_ones() -> None:
    with pytest.raises(SerializerDoesNotExist) as info:
        registry.get_serializer("unexistent")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, ConfigurationError)
    # Shown as a sentence, not as a quoted key.
    assert str(info.value).startswith("no serializer registered for format 'unexistent'")
    assert "json, msgpack" in str(info.value)


def test_custom_serializer_gets_the_layer_keywords() -> None:
    custom = SerializersRegistry()
    custom.register_serializer("custom", NoopSerializer)
    serializer = custom.get_serializer("custom", symmetric_encryption_keys=["k"], expiry=5)
    assert serializer.serialize("message") == "message"
    assert serializer.deserialize("message") == "message"
    assert serializer.kwargs == {"symmetric_encryption_keys": ["k"], "expiry": 5}


@pytest.mark.parametrize(
    ("cls", "expected"), [(MsgPackSerializer, MSGPACK), (JSONSerializer, JSON)]
)
@pytest.mark.parametrize("prefix_length", [8, 12, 0, -1])
def test_serialize_matches_channels_redis_bytes(
    cls: type[BaseMessageSerializer], expected: bytes, prefix_length: int
) -> None:
    serialized = cls(random_prefix_length=prefix_length).serialize(MESSAGE)
    assert serialized[max(prefix_length, 0) :] == expected
    assert len(serialized) == len(expected) + max(prefix_length, 0)


@pytest.mark.parametrize(("cls", "value"), [(MsgPackSerializer, MSGPACK), (JSONSerializer, JSON)])
@pytest.mark.parametrize(
    ("prefix_length", "prefix"), [(8, b"Q\x0c\xbb?Q\xbc\xe3|"), (0, b""), (-1, b"")]
)
def test_deserialize_skips_the_prefix(
    cls: type[BaseMessageSerializer], value: bytes, prefix_length: int, prefix: bytes
) -> None:
    assert cls(random_prefix_length=prefix_length).deserialize(prefix + value) == MESSAGE


@pytest.mark.parametrize(("cls", "clear"), [(MsgPackSerializer, MSGPACK), (JSONSerializer, JSON)])
def test_encrypted_round_trip(cls: type[BaseMessageSerializer], clear: bytes) -> None:
    serializer = cls(symmetric_encryption_keys=["a-test-key"], random_prefix_length=4)
    serialized = serializer.serialize(MESSAGE)
    assert clear not in serialized
    assert serializer.deserialize(serialized) == MESSAGE


def test_one_key_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="write \\[key\\]"):
        JSONSerializer(symmetric_encryption_keys="one-key")  # type: ignore[arg-type]


def test_registered_format_is_used_by_the_redis_layer_codec() -> None:
    registry.register_serializer("reversed-json-test", ReversedJson)
    try:
        codec = MessageCodec("reversed-json-test", symmetric_encryption_keys=None)
        payload = codec.dumps({"type": "x", "n": 1})
        assert payload == b'{"type": "x", "n": 1}'[::-1]
        assert codec.loads(payload) == {"type": "x", "n": 1}
        with pytest.raises(RemoteProtocolError, match="not valid reversed-json-test"):
            codec.loads(b"garbage")
    finally:
        registry._registry.pop("reversed-json-test")


def test_codec_refuses_a_serializer_that_returns_str() -> None:
    registry.register_serializer("noop-test", NoopSerializer)
    try:
        with pytest.raises(InvalidMessage, match="returned dict, not bytes"):
            MessageCodec("noop-test").dumps({"type": "x"})
    finally:
        registry._registry.pop("noop-test")


def test_codec_json_is_channels_redis_json() -> None:
    # A channels_redis process using serializer_format "json" reads what we write.
    assert MessageCodec("json").dumps(MESSAGE) == JSON
    assert MessageCodec().dumps(MESSAGE) == MSGPACK


def test_both_redis_layers_serialize_as_channels_redis() -> None:
    from gateway.layers.redis import RedisChannelLayer, RedisPubSubChannelLayer

    for layer in (RedisChannelLayer(), RedisPubSubChannelLayer()):
        assert layer.serialize(MESSAGE) == MSGPACK
        assert layer.deserialize(MSGPACK) == MESSAGE


def test_missing_serializer_placeholder_says_what_to_install() -> None:
    # channels_redis' MissingSerializer: registered for a format whose library is absent;
    # building it raises (an ImportError there too).
    try:
        import not_a_real_cbor_library  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as exc:
        missing = exc

    class CborSerializer(MissingSerializer):
        exception = missing

    registry = SerializersRegistry()
    registry.register_serializer("cbor", CborSerializer)
    with pytest.raises(ImportError) as info:
        registry.get_serializer("cbor", symmetric_encryption_keys=None)
    assert isinstance(info.value, SerializerUnavailable)
    assert isinstance(info.value, ConfigurationError)
    assert info.value.__cause__ is missing
    assert "not_a_real_cbor_library" in str(info.value)
    assert "serializer_format" in str(info.value)
