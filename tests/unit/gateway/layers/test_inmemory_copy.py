"""InMemoryChannelLayer copies (nothing mutable shared with anyone) and the "poll" extension."""

from __future__ import annotations

import asyncio
from copy import deepcopy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.layers import InMemoryChannelLayer
from gateway.layers.inmemory import message_copier

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(), st.binary()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


class _Tagged(str):
    """A str subclass: it may carry mutable attributes, so it must not be shared."""


def test_scalar_messages_get_a_shallow_copy() -> None:
    assert message_copier({"type": "t", "text": "x", "n": 1, "b": b"", "f": 1.5, "z": None}) is dict


def test_containers_and_subclasses_get_a_deep_copy() -> None:
    assert message_copier({"type": "t", "items": [1]}) is deepcopy
    assert message_copier({"type": "t", "inner": {"a": 1}}) is deepcopy
    assert message_copier({"type": "t", "tag": _Tagged("x")}) is deepcopy


@given(st.dictionaries(st.text(max_size=5), values, max_size=5))
def test_copy_equals_the_message_and_shares_no_container(message: dict[str, Any]) -> None:
    copy = message_copier(message)(message)
    assert copy == message
    assert copy is not message
    for key, value in message.items():
        if isinstance(value, (list, dict)):
            assert copy[key] is not value


async def test_group_members_get_independent_copies() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    message = {"type": "t", "items": [1], "text": "hi"}
    await layer.group_send("g", message)
    first, second = await layer.receive("a"), await layer.receive("b")
    first["items"].append(2)
    message["items"].append(3)
    assert second == {"type": "t", "items": [1], "text": "hi"}


async def test_scalar_group_message_copies_are_separate_dicts() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    message = {"type": "t", "text": "hi"}
    await layer.group_send("g", message)
    first, second = await layer.receive("a"), await layer.receive("b")
    first["text"] = "changed"
    assert second == message == {"type": "t", "text": "hi"}
    assert first is not message and second is not message


async def test_a_watch_is_woken_and_the_message_stays_until_polled() -> None:
    layer = InMemoryChannelLayer()
    poller = layer.poller("c")
    waiter = asyncio.get_running_loop().create_future()
    poller.watch(waiter)
    assert poller.poll() == (False, None)
    await layer.send("c", {"type": "t", "n": 1})
    assert waiter.done()
    poller.unwatch(waiter)
    assert poller.poll() == (True, {"type": "t", "n": 1})
    assert layer.receive_nowait("c") == (False, None)
    assert len(layer._buffers) == 0  # nothing left allocated for the channel
