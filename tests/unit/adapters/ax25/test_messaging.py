"""Outbound APRS messaging: numbering, parts, re-sending on a schedule, acks, giving up."""

from __future__ import annotations

from adapters.ax25.aprs import AprsMessage, parse
from adapters.ax25.messaging import Messenger, RetryPolicy

POLICY = RetryPolicy(initial=10, factor=2, maximum=30, max_tries=4)


def texts(transmissions: list) -> list[AprsMessage]:  # type: ignore[type-arg]
    out = []
    for t in transmissions:
        packet = parse(t.info)
        assert isinstance(packet, AprsMessage)
        out.append(packet)
    return out


def test_send_numbers_and_resends_until_acked() -> None:
    messenger = Messenger(POLICY, first_msgno=7)
    [first] = messenger.send("BOT-1", "N0CALL-5", "hello", now=0)
    assert first.info == b":N0CALL-5 :hello{7" and not first.retry
    assert messenger.get_timer() == 10
    assert messenger.handle_timer(9.9) == []
    [again] = messenger.handle_timer(10)
    assert again.info == first.info and again.retry
    assert messenger.get_timer() == 30  # 10 + 20
    assert messenger.acknowledged("BOT-1", "N0CALL-5", "7", now=12) == []
    assert messenger.get_timer() is None
    assert messenger.acks_received == 1 and messenger.retries == 1


def test_schedule_backs_off_to_the_maximum_then_gives_up() -> None:
    messenger = Messenger(POLICY)
    messenger.send("BOT-1", "N0CALL-5", "anyone?", now=0)
    times = []
    while (when := messenger.get_timer()) is not None:
        times.append(when)
        messenger.handle_timer(when)
    assert times == [10, 30, 60, 90]  # tries at 0, 10, 30, 60; the 4th try's wait ends at 90
    [gave_up] = messenger.take_given_up()
    assert gave_up.text == "anyone?" and not gave_up.rejected
    assert messenger.retries == 3 and messenger.outstanding == 0


def test_long_text_goes_in_parts_one_at_a_time() -> None:
    messenger = Messenger(POLICY, first_msgno=1)
    text = " ".join(f"w{i:03d}" for i in range(30))  # 149 characters: three parts
    [p1] = texts(messenger.send("BOT-1", "N0CALL-5", text, now=0))
    assert p1.msgno == "1" and len(p1.text) <= 67
    assert messenger.outstanding == 3
    [p2] = texts(messenger.acknowledged("BOT-1", "N0CALL-5", "1", now=1))
    [p3] = texts(messenger.acknowledged("BOT-1", "N0CALL-5", "2", now=2))
    assert (p2.msgno, p3.msgno) == ("2", "3")
    assert " ".join([p1.text, p2.text, p3.text]) == text
    assert messenger.acknowledged("BOT-1", "N0CALL-5", "3", now=3) == []
    assert messenger.outstanding == 0


def test_next_message_waits_for_the_previous_ack() -> None:
    messenger = Messenger(POLICY, first_msgno=1)
    assert len(messenger.send("BOT-1", "N0CALL-5", "one", now=0)) == 1
    assert messenger.send("BOT-1", "N0CALL-5", "two", now=0) == []
    # another station is not held up
    assert len(messenger.send("BOT-1", "N0CALL-6", "other", now=0)) == 1
    [two] = texts(messenger.acknowledged("BOT-1", "N0CALL-5", "1", now=1))
    assert two.text == "two"


def test_wrong_or_duplicate_ack_is_ignored() -> None:
    messenger = Messenger(POLICY, first_msgno=1)
    messenger.send("BOT-1", "N0CALL-5", "one", now=0)
    assert messenger.acknowledged("BOT-1", "N0CALL-5", "99", now=1) == []
    assert messenger.acknowledged("BOT-1", "N0CALL-9", "1", now=1) == []
    assert messenger.outstanding == 1
    messenger.acknowledged("BOT-1", "N0CALL-5", "1", now=1)
    assert messenger.acknowledged("BOT-1", "N0CALL-5", "1", now=2) == []


def test_reject_stops_resending_and_is_reported() -> None:
    messenger = Messenger(POLICY, first_msgno=1)
    messenger.send("BOT-1", "N0CALL-5", "one", now=0)
    messenger.acknowledged("BOT-1", "N0CALL-5", "1", now=1, rejected=True)
    assert messenger.get_timer() is None
    [gave_up] = messenger.take_given_up()
    assert gave_up.rejected


def test_message_numbers_wrap() -> None:
    messenger = Messenger(POLICY, first_msgno=99_999)
    [a] = texts(messenger.send("BOT-1", "A", "x", now=0))
    [b] = texts(messenger.send("BOT-1", "B", "x", now=0))
    assert (a.msgno, b.msgno) == ("99999", "1")


def test_empty_text_sends_nothing() -> None:
    assert Messenger(POLICY).send("BOT-1", "N0CALL-5", "  ", now=0) == []
