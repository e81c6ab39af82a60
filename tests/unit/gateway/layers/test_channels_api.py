"""Layer names Channels 4.3 documents and its own tests use: deprecated name checks, the error
summary, and the in-memory layer's ``channels``/``groups`` mappings."""

from __future__ import annotations

import asyncio
import re

import pytest

from gateway.clock import FakeClock
from gateway.exceptions import InvalidChannelName, ReadOnlyEntry
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


def test_default_channel_layer_alias_is_importable_from_the_package() -> None:
    import gateway
    from gateway.layers import DEFAULT_CHANNEL_LAYER

    assert gateway.DEFAULT_CHANNEL_LAYER == DEFAULT_CHANNEL_LAYER == "default"


# Tests written for Channels reach into layer.channels / layer.groups (plain dicts there) to
# reset state: del, pop and clear must keep the layer's own bookkeeping consistent.


async def test_deleting_a_channel_drops_its_messages() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("gone", {"type": "old"})
    await layer.send("kept", {"type": "kept"})
    del layer.channels["gone"]
    assert "gone" not in layer.channels
    assert list(layer.channels) == ["kept"]
    with pytest.raises(KeyError):
        del layer.channels["gone"]
    await layer.send("gone", {"type": "new"})
    assert await layer.receive("gone") == {"type": "new"}  # the old message is gone


async def test_pop_and_clear_channels() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("a", {"type": "m"})
    await layer.send("b", {"type": "m"})
    assert layer.channels.pop("a", None) is not None
    assert layer.channels.pop("a", None) is None
    layer.channels.clear()
    assert len(layer.channels) == 0 and layer.channels == {}
    await layer.send("b", {"type": "after"})
    assert await layer.receive("b") == {"type": "after"}


async def test_a_woken_receiver_still_gets_its_message_after_del() -> None:
    # Channels' test_race_empty: the message was sent to a waiting receiver, then the entry
    # was deleted before that receiver ran.
    layer = InMemoryChannelLayer()
    receiver = asyncio.ensure_future(layer.receive("test-channel-1"))
    await asyncio.sleep(0)
    await layer.send("test-channel-1", {"type": "test.message", "text": "Ahoy-hoy!"})
    del layer.channels["test-channel-1"]
    assert (await asyncio.wait_for(receiver, 1))["text"] == "Ahoy-hoy!"


async def test_a_receiver_waiting_on_a_deleted_channel_is_left_behind_as_in_channels() -> None:
    layer = InMemoryChannelLayer()
    receiver = asyncio.ensure_future(layer.receive("waited"))
    await asyncio.sleep(0)
    layer.channels.clear()
    await layer.send("waited", {"type": "new.buffer"})
    for _ in range(3):
        await asyncio.sleep(0)
    assert not receiver.done()  # waits on the forgotten buffer
    assert layer.channels["waited"].qsize() == 1
    assert await layer.receive("waited") == {"type": "new.buffer"}
    receiver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiver
    assert "waited" not in layer.channels


async def test_deleting_a_channel_keeps_its_groups() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("room", "member")
    await layer.send("member", {"type": "old"})
    del layer.channels["member"]
    await layer.group_send("room", {"type": "new"})
    assert await layer.receive("member") == {"type": "new"}


def test_channels_and_groups_entries_cannot_be_assigned() -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(ReadOnlyEntry, match="made by send"):
        layer.channels["x"] = None  # type: ignore[assignment]
    with pytest.raises(TypeError, match="group_add"):
        layer.groups["g"] = {}


async def test_deleting_a_group_removes_every_membership() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("room", "a")
    await layer.group_add("room", "b")
    await layer.group_add("other", "a")
    del layer.groups["room"]
    assert "room" not in layer.groups
    assert set(layer.groups) == {"other"}
    await layer.group_send("room", {"type": "nobody"})
    assert "a" not in layer.channels and "b" not in layer.channels
    await layer.group_send("other", {"type": "still"})
    assert await layer.receive("a") == {"type": "still"}
    with pytest.raises(KeyError):
        del layer.groups["room"]
    assert layer.groups.pop("room", None) is None


async def test_group_added_again_after_pop_is_fresh() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("room", "a")
    assert layer.groups.pop("room") is not None
    await layer.group_add("room", "b")
    assert list(layer.groups["room"]) == ["b"]
    await layer.group_send("room", {"type": "m"})
    assert "a" not in layer.channels


async def test_deleting_a_member_is_group_discard() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("room", "a")
    await layer.group_add("room", "b")
    del layer.groups["room"]["a"]
    assert list(layer.groups["room"]) == ["b"]
    assert layer.groups["room"].pop("b") > 0
    assert "room" not in layer.groups  # gone with its last member, as group_discard does
    with pytest.raises(KeyError):
        del layer.groups["room"]
    await layer.group_add("room", "c")
    layer.groups["room"].clear()
    assert layer.groups == {}


async def test_clearing_groups_then_expiry_stays_consistent() -> None:
    clock = FakeClock()
    layer = InMemoryChannelLayer(expiry=10, clock=clock)
    await layer.group_add("room", "a")
    layer.groups.clear()
    assert len(layer.groups) == 0
    await layer.group_add("room2", "a")
    await layer.send("a", {"type": "unread"})
    clock.advance(11)
    await layer.send("other", {"type": "x"})  # the sweep drops a's expired message
    await layer.group_send("room2", {"type": "y"})
    # a's message expired unread, so it left its groups (Channels), room2 included.
    assert "room2" not in layer.groups


@pytest.mark.parametrize(
    ("name", "valid"),
    [("chat.room-1_a", True), ("specific.x!abc", True), ("specific.x!", True), ("a b", False)],
)
def test_name_regex_attributes_as_in_channels(name: str, valid: bool) -> None:
    layer = BaseChannelLayer()
    assert bool(layer.channel_name_regex.match(name)) is valid
    assert bool(layer.group_name_regex.match(name)) is (valid and "!" not in name)


class ColonNames(BaseChannelLayer):
    """A project layer that widens the names it accepts, as Channels lets a subclass do."""

    channel_name_regex = re.compile(r"[a-zA-Z0-9\-_.:]+(?:![a-zA-Z0-9\-_.]*)?\Z")
    group_name_regex = re.compile(r"[a-z:]+\Z")


def test_a_subclass_regex_widens_the_names() -> None:
    layer = ColonNames()
    assert layer.require_valid_channel_name("tenant:chat")
    assert layer.require_valid_group_name("tenant:room")
    with pytest.raises(InvalidChannelName):
        BaseChannelLayer().require_valid_channel_name("tenant:chat")


def test_a_subclass_regex_narrows_the_names_and_says_so() -> None:
    with pytest.raises(InvalidChannelName) as info:
        ColonNames().require_valid_group_name("Room")
    assert "does not match ColonNames.group_name_regex" in str(info.value)
    # The length limit and the receive() rule still hold.
    with pytest.raises(InvalidChannelName):
        ColonNames().require_valid_channel_name("a" * 100)
    with pytest.raises(InvalidChannelName, match="must end at the '!'"):
        ColonNames().require_valid_channel_name("t:c!x", receive=True)
