"""Redis layer codec, hash ring and host parsing: pure, no Redis needed."""

from __future__ import annotations

import logging
import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import SSLConnection

from gateway.exceptions import ConfigurationError, InvalidMessage, RemoteProtocolError
from gateway.layers.redis.codec import MessageCodec, make_item, parse_item
from gateway.layers.redis.faults import Outage
from gateway.layers.redis.hosts import parse_hosts
from gateway.layers.redis.ring import HashRing

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("serializer", ["msgpack", "json"])
@given(message=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_codec_round_trip(serializer: str, message: dict) -> None:
    codec = MessageCodec(serializer)
    assert codec.loads(codec.dumps(message)) == message


def test_msgpack_keeps_bytes() -> None:
    codec = MessageCodec()
    assert codec.loads(codec.dumps({"type": "b", "bytes": b"\x00\xff"})) == {
        "type": "b",
        "bytes": b"\x00\xff",
    }


@pytest.mark.parametrize("serializer", ["msgpack", "json"])
def test_unserializable_message_is_refused(serializer: str) -> None:
    with pytest.raises(InvalidMessage, match=f"cannot be serialized with {serializer}"):
        MessageCodec(serializer).dumps({"type": "x", "value": object()})


def test_unknown_serializer() -> None:
    with pytest.raises(ConfigurationError, match="no serializer registered for format 'pickle'"):
        MessageCodec("pickle")


def test_encryption_with_key_rotation() -> None:
    old = MessageCodec(symmetric_encryption_keys=["old-secret"])
    rotated = MessageCodec(symmetric_encryption_keys=["new-secret", "old-secret"])
    message = {"type": "secret", "text": "hello"}
    assert b"hello" not in old.dumps(message)
    assert rotated.loads(old.dumps(message)) == message  # any key decrypts
    with pytest.raises(RemoteProtocolError, match="could not be decrypted"):
        old.loads(rotated.dumps(message))  # the first key encrypts: old cannot read it


def test_encryption_keys_must_be_a_list() -> None:
    with pytest.raises(ConfigurationError, match="write \\[key\\]"):
        MessageCodec(symmetric_encryption_keys="one-key")  # type: ignore[arg-type]


def test_garbage_payload_is_a_remote_error() -> None:
    with pytest.raises(RemoteProtocolError, match="not valid json"):
        MessageCodec("json").loads(b"{nope")
    with pytest.raises(RemoteProtocolError, match="decoded to list"):
        MessageCodec("json").loads(b"[1]")


@given(
    expires=st.integers(0, 2**50),
    channel=st.text(alphabet=NAME_CHARS, max_size=99),
    payload=st.binary(max_size=200),
)
def test_item_round_trip(expires: int, channel: str, payload: bytes) -> None:
    assert parse_item(make_item(expires, channel, payload)) == (expires, channel, payload)


@given(st.binary(max_size=60))
def test_parse_item_never_raises_anything_but_remote_error(data: bytes) -> None:
    try:
        parse_item(data)
    except RemoteProtocolError:
        pass


def test_ring_is_stable_and_spreads_names() -> None:
    ring = HashRing(3)
    names = [f"chat.room.{i}" for i in range(3000)]
    shards = [ring.shard(name) for name in names]
    assert shards == [HashRing(3).shard(name) for name in names]
    assert all(shards.count(s) > 600 for s in range(3))
    # Adding a fourth host moves only the names the new host takes over.
    bigger = HashRing(4)
    moved = [n for n, s in zip(names, shards) if bigger.shard(n) not in (s, 3)]
    assert moved == []
    assert HashRing(1).shard("anything") == 0
    with pytest.raises(ValueError):
        HashRing(0)


def test_hosts_urls_pairs_and_dicts() -> None:
    specs = parse_hosts(
        [
            "redis://:pw@127.0.0.1:6380/2",
            ("10.0.0.1", "6379"),
            {"host": "h", "port": 7000, "db": 3},
            {"address": "unix:///run/redis.sock"},
            {"address": ("h2", 6390), "password": "x"},
        ]
    )
    assert [spec.label for spec in specs] == [
        "redis://:***@127.0.0.1:6380/2",
        "10.0.0.1:6379",
        "h:7000",
        "unix:///run/redis.sock",
        "h2:6390",
    ]
    pool = specs[0].make_pool()
    assert pool.connection_kwargs["port"] == 6380
    assert pool.connection_kwargs["db"] == 2
    assert specs[2].make_pool().connection_kwargs["db"] == 3
    assert parse_hosts(None)[0].label == "localhost:6379"


def test_self_signed_tls_option() -> None:
    spec = parse_hosts(["rediss://h:6380"], ssl_cert_reqs="none")[0]
    kwargs = spec.make_pool().connection_kwargs
    assert kwargs["ssl_cert_reqs"] == ssl.CERT_NONE
    assert kwargs["ssl_check_hostname"] is False
    # Plain redis:// hosts ignore the TLS option; "required" is the default.
    plain = parse_hosts(["redis://h"], "none")[0].make_pool()
    assert "ssl_cert_reqs" not in plain.connection_kwargs
    required = parse_hosts([{"host": "h", "ssl": True}], "required")[0].make_pool()
    assert required.connection_class is SSLConnection
    assert required.connection_kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    with pytest.raises(ConfigurationError, match='use "none" for a self-signed certificate'):
        parse_hosts(["rediss://h"], ssl_cert_reqs="maybe")


def test_sentinel_host() -> None:
    spec = parse_hosts([{"sentinels": [("127.0.0.1", 26379)], "master_name": "mymaster", "db": 1}])[
        0
    ]
    assert spec.label == "sentinel:mymaster@127.0.0.1:26379"
    pool = spec.make_pool()
    assert pool.service_name == "mymaster"
    with pytest.raises(ConfigurationError, match="needs both 'sentinels' and 'master_name'"):
        parse_hosts([{"master_name": "m"}])


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ("redis://h", "non-empty list"),
        ([], "non-empty list"),
        (["http://h"], "must start with redis://"),
        ([42], "cannot use 42 as a Redis host"),
    ],
)
def test_bad_hosts(hosts: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_hosts(hosts)  # type: ignore[arg-type]


async def test_outage_logs_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage("h:1", initial=0.001, cap=0.004)
    with caplog.at_level(logging.INFO, logger="gateway.layers.redis"):
        delays = [outage.failed(OSError("refused")) for _ in range(5)]
        await outage.wait(OSError("refused"))
        outage.succeeded()
        outage.succeeded()
    # Doubling up to the cap, each moved by up to 20 % (jitter), never above the cap.
    for delay, base in zip(delays, [0.001, 0.002, 0.004, 0.004, 0.004]):
        assert base * 0.8 <= delay <= min(base * 1.2, 0.004)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "redis h:1 unreachable: refused" in lines[0]
    assert "redis h:1 reachable again after 6 attempts" in lines[1]
    assert not outage.down


@pytest.mark.parametrize("length", [1, 12])
def test_random_prefix_length_puts_random_bytes_before_the_payload(length: int) -> None:
    # channels_redis: the serializer prefixes random_prefix_length random bytes and cuts
    # them off when reading.
    plain = MessageCodec().dumps({"type": "t"})
    codec = MessageCodec(random_prefix_length=length)
    first, second = codec.dumps({"type": "t"}), codec.dumps({"type": "t"})
    assert len(first) == len(plain) + length
    assert first[length:] == plain
    assert first != second or length == 1  # one byte may repeat by chance
    assert codec.loads(first) == {"type": "t"}


@pytest.mark.parametrize("length", [-1, 1.5, "12", True])
def test_random_prefix_length_must_be_a_non_negative_int(length: object) -> None:
    with pytest.raises(ConfigurationError, match="random_prefix_length must be an int >= 0"):
        MessageCodec(random_prefix_length=length)  # type: ignore[arg-type]
