"""Layer names Channels 4.3 documents and its own tests use: deprecated name checks, the error
summary, and the in-memory layer's ``channels``/``groups`` mappings."""

from __future__ import annotations

import asyncio

import pytest

from gateway.exceptions import InvalidChannelName
from gateway.layers import BaseChannelLayer, InMemoryChannelLayer


@pytest.mark.parametrize("name", ["¯\\_(ツ)_/¯", "a" * 101, "room!1"])
def test_group_errors_end_with_channels_summary(name: str) -> None:
    layer = BaseChannelLayer()
    # Channels' own test: pytest.raises(TypeError, match=layer.invalid_name_error.format(...))
    with pytest.raises(TypeError, match=layer.invalid_name_error.format("Group")):
        layer.require_valid_group_name(name)


def test_channel_errors_keep_our_rule_and_add_channels_summary() -> None:
    layer = BaseChannelLayer()
    with pytest.raises(InvalidChannelName) as info:
        layer.require_valid_channel_name("a" * 101)
    message = str(info.value)
    assert message.startswith("channel name must be shorter than 100 characters, got 101")
    assert message.endswith(layer.invalid_name_error.format("Channel"))


def test_receive_rule_keeps_its_own_message() -> None:
    with pytest.raises(InvalidChannelName) as info:
        BaseChannelLayer().require_valid_channel_name("a!b", receive=True)
    assert "must end at the '!'" in str(info.value)
    assert "valid unicode string" not in str(info.value)


@pytest.mark.parametrize("method", ["valid_channel_name", "valid_group_name"])
def test_old_name_checks_are_deprecated_but_work(method: str) -> None:
    check = getattr(BaseChannelLayer(), method)
    with pytest.warns(DeprecationWarning, match=f"{method} is deprecated, use require_{method}"):
        assert check("valid-name")
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError):
        check("¯\\_(ツ)_/¯")


async def test_channels_mapping_holds_channels_with_messages() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("test-channel-1", {"type": "test.message"})
    await layer.send("test-channel-1", {"type": "test.message"})
    assert "test-channel-1" in layer.channels
    assert layer.channels["test-channel-1"].qsize() == 2
    assert list(layer.channels) == ["test-channel-1"]
    await layer.receive("test-channel-1")
    assert "test-channel-1" in layer.channels  # not empty yet
    await layer.receive("test-channel-1")
    assert "test-channel-1" not in layer.channels  # removed when emptied, as in Channels
    assert len(layer.channels) == 0
    with pytest.raises(KeyError):
        layer.channels["test-channel-1"]


async def test_channels_mapping_shows_a_waiting_receiver() -> None:
    layer = InMemoryChannelLayer()
    receiver = asyncio.ensure_future(layer.receive("waited"))
    await asyncio.sleep(0)
    assert "waited" in layer.channels
    assert layer.channels["waited"].empty()
    receiver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiver
    assert "waited" not in layer.channels


async def test_groups_mapping() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("test-group", "chan-1")
    await layer.group_add("test-group", "chan-2")
    assert set(layer.groups["test-group"]) == {"chan-1", "chan-2"}
    await layer.group_discard("test-group", "chan-1")
    assert list(layer.groups["test-group"]) == ["chan-2"]
    await layer.group_discard("test-group", "chan-2")
    assert "test-group" not in layer.groups
    await layer.group_add("other", "chan-3")
    await layer.flush()
    assert len(layer.groups) == 0
