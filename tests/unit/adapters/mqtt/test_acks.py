"""MQTT acknowledgements leave in arrival order, whatever order handlers finish in, and a QoS 2
message is handled once while its packet id is held (adapters.mqtt.acks over gateway.acks)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.mqtt.acks import MqttAcks, Ticket
from gateway.clock import FakeClock


class Sent(list[tuple[int, int]]):
    def __call__(self, mid: int, qos: int) -> None:
        self.append((mid, qos))

    def take(self) -> list[tuple[int, int]]:
        out = list(self)
        self.clear()
        return out


def make() -> tuple[MqttAcks, Sent]:
    sent = Sent()
    return MqttAcks(sent, clock=FakeClock(), name=""), sent


def test_head_of_line() -> None:
    acks, sent = make()
    first, second, third = (acks.add(mid, 1, 1) for mid in (10, 11, 12))
    acks.done(third)
    acks.done(second)
    assert sent == []
    acks.done(first)
    assert sent == [(10, 1), (11, 1), (12, 1)]
    assert len(acks) == 0


def test_multiple_targets_wait_for_all() -> None:
    acks, sent = make()
    ticket = acks.add(5, 1, 2)
    acks.done(ticket)
    assert sent == []
    acks.done(ticket)
    assert sent == [(5, 1)]


def test_a_message_dropped_unhandled_is_acknowledged_in_its_turn() -> None:
    acks, sent = make()
    first = acks.add(1, 1, 1)
    acks.add(2, 1, 0)
    assert sent == []
    acks.done(first)
    assert sent == [(1, 1), (2, 1)]


def test_clear_starts_a_new_generation() -> None:
    acks, sent = make()
    old = acks.add(1, 1, 1)
    assert acks.clear() == 1
    assert acks.generation == 1
    acks.done(old)
    assert sent == []


@given(st.permutations(list(range(20))))
def test_any_completion_order_acks_in_arrival_order(order: list[int]) -> None:
    acks, sent = make()
    tickets = [acks.add(mid, 1, 1) for mid in range(20)]
    finished: set[int] = set()
    for index in order:
        acks.done(tickets[index])
        finished.add(index)
        # Only finished messages are released, and only once all before them are.
        assert all(mid in finished for mid, _qos in sent)
    assert [mid for mid, _qos in sent] == list(range(20))


def test_qos2_copy_resent_while_handled_waits_for_the_first() -> None:
    acks, sent = make()
    first = acks.add_qos2(7, 1)
    assert first is not None
    acks.clear()  # connection lost while handling: the broker re-sends the PUBLISH
    assert acks.add_qos2(7, 1) is None  # not handled a second time
    assert sent == []
    acks.done(first)
    assert sent == [(7, 2)]  # PUBREC for the re-sent copy, on the new connection


def test_qos2_copy_resent_after_pubrec_is_acknowledged_again_until_pubrel() -> None:
    acks, sent = make()
    ticket = acks.add_qos2(3, 1)
    assert ticket is not None
    acks.done(ticket)
    assert sent.take() == [(3, 2)]
    assert acks.add_qos2(3, 1) is None
    assert sent.take() == [(3, 2)]
    acks.released(3)
    assert acks.add_qos2(3, 1) is not None  # the packet id now names a new message


def test_qos2_handled_on_a_lost_connection_is_handled_again() -> None:
    acks, _sent = make()
    ticket = acks.add_qos2(9, 1)
    assert ticket is not None
    acks.clear()
    acks.done(ticket)  # finished, but its PUBREC can no longer be sent
    assert acks.add_qos2(9, 1) is not None


def test_qos2_ids_forgotten_with_the_session() -> None:
    acks, _sent = make()
    ticket = acks.add_qos2(4, 1)
    assert ticket is not None
    acks.done(ticket)
    acks.forget_qos2()
    assert acks.add_qos2(4, 1) is not None


def test_stuck_acknowledgements_show_in_the_toolkit_metric() -> None:
    clock = FakeClock(start=100.0)
    acks = MqttAcks(Sent(), clock=clock, name="")
    acks.add(1, 1, 1)
    clock.set(103.0)
    assert acks._acks.oldest_age() == 3.0
    assert acks._acks.oldest() == (1, 1)


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
    acks, sent = make()
    handling: list[Ticket] = []
    handled: list[int] = []
    expected: list[int] = []
    held: set[int] = set()
    for mid, release_first in arrivals:
        if release_first and mid in held and (mid, 2) in sent:
            acks.released(mid)  # PUBREL: only after its PUBREC
            held.discard(mid)
        ticket = acks.add_qos2(mid, 1)
        expected.append(mid)
        if ticket is None:
            assert mid in held
        else:
            assert mid not in held
            held.add(mid)
            handled.append(mid)
            handling.append(ticket)
        if handling and rnd.random() < 0.5:  # type: ignore[attr-defined]
            acks.done(handling.pop(rnd.randrange(len(handling))))  # type: ignore[attr-defined]
    for ticket in handling:
        acks.done(ticket)
    assert [mid for mid, _qos in sent] == expected
    assert len(handled) <= len(expected)
