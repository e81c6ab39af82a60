"""Acknowledgements leave in arrival order, whatever order handlers finish in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.mqtt.acks import AckEntry, AckQueue


def test_head_of_line() -> None:
    acks = AckQueue()
    first, second, third = (acks.add(mid, 1, 1) for mid in (10, 11, 12))
    acks.done(third)
    acks.done(second)
    assert acks.ready() == []
    acks.done(first)
    assert acks.ready() == [(10, 1), (11, 1), (12, 1)]
    assert len(acks) == 0


def test_multiple_targets_wait_for_all() -> None:
    acks = AckQueue()
    entry = acks.add(5, 2, 2)
    acks.done(entry)
    assert acks.ready() == []
    acks.done(entry)
    assert acks.ready() == [(5, 2)]


def test_clear_starts_a_new_generation() -> None:
    acks = AckQueue()
    old = acks.add(1, 1, 1)
    assert acks.clear() == 1
    assert acks.generation == old.generation + 1
    acks.done(old)
    assert acks.ready() == []


@given(st.permutations(list(range(20))))
def test_any_completion_order_acks_in_arrival_order(order: list[int]) -> None:
    acks = AckQueue()
    entries = [acks.add(mid, 1, 1) for mid in range(20)]
    sent: list[int] = []
    for index in order:
        acks.done(entries[index])
        released = [mid for mid, _qos in acks.ready()]
        # Only finished messages are released, and only once all before them are.
        assert all(entries[mid].waiting == 0 for mid in released)
        sent += released
    assert sent == list(range(20))


def test_qos2_copy_resent_while_handled_waits_for_the_first() -> None:
    acks = AckQueue()
    first = acks.add_qos2(7, 1)
    assert first is not None
    acks.clear()  # connection lost while handling: the broker re-sends the PUBLISH
    assert acks.add_qos2(7, 1) is None  # not handled a second time
    assert acks.ready() == []
    acks.done(first)
    assert acks.ready() == [(7, 2)]  # PUBREC for the re-sent copy, on the new connection


def test_qos2_copy_resent_after_pubrec_is_acknowledged_again_until_pubrel() -> None:
    acks = AckQueue()
    entry = acks.add_qos2(3, 1)
    assert entry is not None
    acks.done(entry)
    assert acks.ready() == [(3, 2)]
    assert acks.add_qos2(3, 1) is None
    assert acks.ready() == [(3, 2)]
    acks.released(3)
    assert acks.add_qos2(3, 1) is not None  # the packet id now names a new message


def test_qos2_handled_on_a_lost_connection_is_handled_again() -> None:
    acks = AckQueue()
    entry = acks.add_qos2(9, 1)
    assert entry is not None
    acks.clear()
    acks.done(entry)  # finished, but its PUBREC can no longer be sent
    assert acks.add_qos2(9, 1) is not None


def test_qos2_ids_forgotten_with_the_session() -> None:
    acks = AckQueue()
    entry = acks.add_qos2(4, 1)
    assert entry is not None
    acks.done(entry)
    acks.ready()
    acks.forget_qos2()
    assert acks.add_qos2(4, 1) is not None


@given(
    st.lists(st.tuples(st.integers(1, 4), st.booleans()), min_size=1, max_size=30),
    st.randoms(use_true_random=False),
)
def test_qos2_each_message_handled_once_and_acked_in_order(
    arrivals: list[tuple[int, bool]], rnd: object
) -> None:
    """A broker's stream of QoS 2 PUBLISH (re-sent copies included) and PUBRELs, with
    handlers finishing in any order: each message is handled once while its id is held,
    and every PUBLISH gets exactly one PUBREC, in arrival order."""
    acks = AckQueue()
    handling: list[AckEntry] = []
    handled: list[int] = []
    recorded: list[int] = []
    expected: list[int] = []
    held: set[int] = set()
    for mid, release_first in arrivals:
        if release_first and mid in held and mid in recorded:
            acks.released(mid)  # PUBREL: only after its PUBREC
            held.discard(mid)
        entry = acks.add_qos2(mid, 1)
        expected.append(mid)
        if entry is None:
            assert mid in held
        else:
            assert mid not in held
            held.add(mid)
            handled.append(mid)
            handling.append(entry)
        if handling and rnd.random() < 0.5:  # type: ignore[attr-defined]
            acks.done(handling.pop(rnd.randrange(len(handling))))  # type: ignore[attr-defined]
        recorded += [mid for mid, _qos in acks.ready()]
    for entry in handling:
        acks.done(entry)
    recorded += [mid for mid, _qos in acks.ready()]
    assert recorded == expected
    assert len(handled) <= len(expected)
