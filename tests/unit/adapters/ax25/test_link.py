"""The AX.25 v2.0 data link, fed frames with time passed in (no sockets, no sleeps)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ax25.frame import Callsign, Frame, FrameType, Hop
from adapters.ax25.link import TRANSITIONS, Link, LinkState
from adapters.ax25.link_events import (
    Connected,
    ConnectRequest,
    DataReceived,
    Disconnected,
    DisconnectReason,
    LinkConfig,
    PeerBusy,
)
from gateway.exceptions import ConfigurationError, InvalidState

from .linkpair import LinkPair, seeded_loss

BOT = Callsign("BOT", 1)
OP = Callsign("N0CALL", 5)


def peer(kind: FrameType, *, command: bool = True, pf: bool = False, **kw: object) -> Frame:
    """A frame from the operator's station to the bot."""
    return Frame(destination=BOT, source=OP, type=kind, command=command, poll_final=pf, **kw)  # type: ignore[arg-type]


def kinds(frames: list[Frame]) -> list[tuple[str, int | None, int | None, bool]]:
    return [(f.type.name, f.ns, f.nr, f.poll_final) for f in frames]


def connected_link(config: LinkConfig | None = None, now: float = 0.0) -> Link:
    link = Link(BOT, OP, config)
    link.receive_frame(peer(FrameType.SABM, pf=True), now)
    link.accept(now)
    link.frames_to_send()
    link.events()
    return link


def i_frame(ns: int, nr: int, info: bytes, pf: bool = False) -> Frame:
    return peer(FrameType.I, ns=ns, nr=nr, pid=0xF0, info=info, pf=pf)


# -- connection set-up ---------------------------------------------------------------------


def test_sabme_answered_with_dm_so_v22_stations_fall_back() -> None:
    link = Link(BOT, OP)
    link.receive_frame(peer(FrameType.SABME, pf=True), 0.0)
    [dm] = link.frames_to_send()
    assert (dm.type, dm.command, dm.poll_final) == (FrameType.DM, False, True)
    assert (dm.source, dm.destination) == (BOT, OP)
    assert link.state is LinkState.DISCONNECTED
    assert link.events() == []


def test_sabm_asks_the_consumer_then_accept_sends_ua() -> None:
    link = Link(BOT, OP)
    via = (Hop(Callsign("DIGI", 1), repeated=True), Hop(Callsign("DIGI", 2), repeated=True))
    link.receive_frame(Frame(BOT, OP, FrameType.SABM, path=via, poll_final=True), 0.0)
    assert link.frames_to_send() == []
    assert link.events() == [ConnectRequest(link.path)]
    # Replies go back through the digipeaters in reverse order, H bits clear.
    assert link.path == (Hop(Callsign("DIGI", 2)), Hop(Callsign("DIGI", 1)))
    link.receive_frame(Frame(BOT, OP, FrameType.SABM, path=via, poll_final=True), 1.0)
    assert link.frames_to_send() == []  # the peer's retry waits for the same answer
    link.accept(1.5)
    [ua] = link.frames_to_send()
    assert (ua.type, ua.command, ua.poll_final, ua.path) == (FrameType.UA, False, True, link.path)
    assert link.events() == [Connected()]
    assert link.state is LinkState.CONNECTED


def test_reject_sends_dm() -> None:
    link = Link(BOT, OP)
    link.receive_frame(peer(FrameType.SABM, pf=True), 0.0)
    link.reject(0.1)
    assert kinds(link.frames_to_send()) == [("DM", None, None, True)]
    assert link.events()[-1] == Disconnected(DisconnectReason.REFUSED)


def test_consumer_that_never_answers_refuses_at_the_deadline() -> None:
    link = Link(BOT, OP, LinkConfig(accept_timeout=10.0))
    link.receive_frame(peer(FrameType.SABM, pf=True), 0.0)
    link.events()
    assert link.get_timer() == 10.0
    link.handle_timer(9.0)
    assert link.frames_to_send() == []
    link.handle_timer(10.0)
    assert kinds(link.frames_to_send()) == [("DM", None, None, True)]
    assert link.events() == [Disconnected(DisconnectReason.REFUSED)]
    assert link.get_timer() is None


def test_our_own_connect_ua_dm_and_retries() -> None:
    link = Link(BOT, OP, LinkConfig(t1=2.0, n2=3))
    link.connect(0.0)
    [sabm] = link.frames_to_send()
    assert (sabm.type, sabm.command, sabm.poll_final) == (FrameType.SABM, True, True)
    link.receive_frame(peer(FrameType.UA, command=False, pf=True), 0.5)
    assert link.events() == [Connected()]
    assert link.state is LinkState.CONNECTED
    refused = Link(BOT, OP)
    refused.connect(0.0)
    refused.receive_frame(peer(FrameType.DM, command=False, pf=True), 0.3)
    assert refused.events() == [Disconnected(DisconnectReason.REFUSED)]


def test_connect_to_a_silent_station_fails_after_n2_retries() -> None:
    link = Link(BOT, OP, LinkConfig(t1=2.0, n2=3))
    link.connect(0.0)
    sent = link.frames_to_send()
    while (timer := link.get_timer()) is not None:
        link.handle_timer(timer)
        sent += link.frames_to_send()
    assert [f.type for f in sent] == [FrameType.SABM] * 4  # first try + N2 retries
    assert link.events() == [Disconnected(DisconnectReason.LINK_FAILURE)]


def test_local_requests_in_the_wrong_state_are_invalid() -> None:
    link = Link(BOT, OP)
    with pytest.raises(InvalidState, match="cannot accept"):
        link.accept(0.0)
    with pytest.raises(InvalidState, match="cannot send"):
        link.send_data(b"x", 0.0)


def test_bad_config_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="AX25_WINDOW"):
        LinkConfig(window=8)
    with pytest.raises(ConfigurationError, match="AX25_PACLEN"):
        LinkConfig(paclen=0)


def test_command_to_a_disconnected_link_gets_dm() -> None:
    link = Link(BOT, OP)
    link.receive_frame(i_frame(0, 0, b"hello", pf=True), 0.0)
    assert kinds(link.frames_to_send()) == [("DM", None, None, True)]
    link.receive_frame(peer(FrameType.RR, command=False, nr=0), 0.0)
    assert link.frames_to_send() == []  # responses are not answered


# -- information transfer ------------------------------------------------------------------


def test_send_is_segmented_by_paclen_and_limited_by_the_window() -> None:
    link = connected_link(LinkConfig(paclen=10, window=4))
    link.send_data(bytes(range(60)), 1.0)
    frames = link.frames_to_send()
    assert kinds(frames) == [("I", n, 0, False) for n in range(4)]  # window full
    assert [f.info for f in frames] == [bytes(range(60))[i : i + 10] for i in range(0, 40, 10)]
    assert all(f.pid == 0xF0 and f.command for f in frames)
    link.receive_frame(peer(FrameType.RR, command=False, nr=2), 2.0)
    assert kinds(link.frames_to_send()) == [("I", 4, 0, False), ("I", 5, 0, False)]
    assert link.queued == 40


def test_received_data_is_acknowledged_and_piggybacked() -> None:
    link = connected_link(LinkConfig(paclen=10))
    link.receive_frame(i_frame(0, 0, b"hi\r"), 1.0)
    assert link.events() == [DataReceived(b"hi\r")]
    assert kinds(link.frames_to_send()) == [("RR", None, 1, False)]  # a short frame: ack now
    link.receive_frame(i_frame(1, 0, b"0123456789"), 2.0)  # a full frame: more may follow
    assert link.frames_to_send() == []
    link.send_data(b"reply", 2.1)  # our I frame carries the acknowledgement
    assert kinds(link.frames_to_send()) == [("I", 0, 2, False)]
    assert link.get_timer() == pytest.approx(2.1 + link.t1)


def test_delayed_ack_goes_out_after_t2() -> None:
    link = connected_link(LinkConfig(paclen=4, t2=1.0))
    link.receive_frame(i_frame(0, 0, b"abcd"), 1.0)
    assert link.frames_to_send() == []
    assert link.get_timer() == 2.0
    link.handle_timer(2.0)
    assert kinds(link.frames_to_send()) == [("RR", None, 1, False)]


def test_t2_follows_the_spacing_of_a_burst_and_one_rr_covers_it() -> None:
    link = connected_link(LinkConfig(paclen=4, window=7, t2=2.0))
    link.receive_frame(i_frame(0, 0, b"abcd"), 10.0)
    assert link.get_timer() == 12.0  # spacing unknown yet: AX25_T2
    link.receive_frame(i_frame(1, 0, b"efgh"), 10.4)  # frames of a burst, 0.4 s apart
    assert link.get_timer() == pytest.approx(10.4 + 1.5 * 0.4)
    link.receive_frame(i_frame(2, 0, b"ijkl"), 10.8)
    assert link.frames_to_send() == []
    link.handle_timer(link.get_timer() or 0)  # the burst is over
    assert kinds(link.frames_to_send()) == [("RR", None, 3, False)]


def test_lost_i_frame_gets_rej_and_is_resent() -> None:
    receiver = connected_link()
    receiver.receive_frame(i_frame(0, 0, b"one"), 1.0)
    receiver.frames_to_send()
    receiver.receive_frame(i_frame(2, 0, b"three"), 1.2)  # N(S)=1 was lost
    assert kinds(receiver.frames_to_send()) == [("REJ", None, 1, False)]
    receiver.receive_frame(i_frame(3, 0, b"four"), 1.3)
    assert receiver.frames_to_send() == []  # one REJ per gap
    for ns, info in ((1, b"two"), (2, b"three"), (3, b"four")):
        receiver.receive_frame(i_frame(ns, 0, info), 2.0)
    assert [e.data for e in receiver.events() if isinstance(e, DataReceived)] == [
        b"one",
        b"two",
        b"three",
        b"four",
    ]
    sender = connected_link(LinkConfig(paclen=2))
    sender.send_data(b"aabbcc", 0.0)
    sender.frames_to_send()
    sender.receive_frame(peer(FrameType.REJ, command=False, nr=1), 0.5)
    assert kinds(sender.frames_to_send()) == [("I", 1, 0, False), ("I", 2, 0, False)]
    assert sender.stats["i_resent"] == 2


def test_duplicate_frames_are_delivered_once() -> None:
    link = connected_link()
    link.receive_frame(i_frame(0, 0, b"once"), 1.0)
    link.receive_frame(i_frame(0, 0, b"once"), 4.0)  # our RR was lost; the peer resent
    assert [e for e in link.events() if isinstance(e, DataReceived)] == [DataReceived(b"once")]
    # The second copy is out of sequence: REJ N(R)=1 tells the peer where we are.
    assert kinds(link.frames_to_send()) == [("RR", None, 1, False), ("REJ", None, 1, False)]
    link.receive_frame(peer(FrameType.SABM, pf=True), 5.0)  # a repeated SABM resets, no new event
    assert kinds(link.frames_to_send()) == [("UA", None, None, True)]
    assert link.events() == []


def test_lost_ack_t1_poll_and_recovery() -> None:
    link = connected_link(LinkConfig(t1=3.0))
    link.send_data(b"data", 1.0)
    assert kinds(link.frames_to_send()) == [("I", 0, 0, False)]
    assert link.get_timer() == 4.0
    link.handle_timer(4.0)  # the RR never came
    assert kinds(link.frames_to_send()) == [("RR", None, 0, True)]
    assert link.state is LinkState.TIMER_RECOVERY
    # The peer had the frame: its F answer acknowledges it; nothing to resend.
    link.receive_frame(peer(FrameType.RR, command=False, pf=True, nr=1), 4.4)
    assert link.frames_to_send() == []
    assert link.state is LinkState.CONNECTED
    assert link.queued == 0
    # Second time the frame itself was lost: the answer says N(R)=1, so N(S)=1 goes again.
    link.send_data(b"more", 5.0)
    link.frames_to_send()
    link.handle_timer(link.get_timer() or 0)
    link.frames_to_send()
    link.receive_frame(peer(FrameType.RR, command=False, pf=True, nr=1), 20.0)
    assert kinds(link.frames_to_send()) == [("I", 1, 0, False)]


def test_n2_polls_unanswered_is_link_failure() -> None:
    link = connected_link(LinkConfig(t1=1.0, n2=4, t1_max=8.0))
    link.send_data(b"lost in the noise", 0.0)
    sent = link.frames_to_send()
    while (timer := link.get_timer()) is not None:
        link.handle_timer(timer)
        sent += link.frames_to_send()
    polls = [f for f in sent if f.type is FrameType.RR and f.poll_final]
    assert len(polls) == 4
    assert sent[-1].type is FrameType.DM
    assert link.events() == [Disconnected(DisconnectReason.LINK_FAILURE, unsent=17)]
    assert link.state is LinkState.DISCONNECTED


def test_t1_backs_off_and_follows_the_round_trip() -> None:
    link = connected_link(LinkConfig(t1=4.0, t1_min=0.5))
    assert link.t1 == 4.0
    for n in range(40):
        link.send_data(b"x", float(n))
        link.receive_frame(peer(FrameType.RR, command=False, nr=(n + 1) % 8), n + 0.3)
    assert 0.6 <= link.t1 < 0.62  # 2 SRT with SRT converging on the 0.3 s measured
    adapted = link.t1
    link.send_data(b"y", 100.0)
    assert link.get_timer() == pytest.approx(100.0 + adapted)
    link.handle_timer(100.0 + adapted)  # expiry: RC = 1, T1 = 2 SRT + 0.25 s
    assert link.t1 == pytest.approx(adapted + 0.25)
    assert link.get_timer() == pytest.approx(100.0 + 2 * adapted + 0.25)
    link.handle_timer(100.0 + 2 * adapted + 0.25)  # no answer: RC = 2, linear, not doubled
    assert link.t1 == pytest.approx(adapted + 0.5)
    link.receive_frame(peer(FrameType.RR, command=False, pf=True, nr=1), 103.0)  # recovered
    assert link.t1 == pytest.approx(adapted)  # RC = 0 again: T1 = 2 SRT


def test_t1_never_adapts_below_two_seconds_by_default() -> None:
    link = connected_link(LinkConfig(t1=4.0))
    for n in range(40):
        link.send_data(b"x", float(n))
        link.receive_frame(peer(FrameType.RR, command=False, nr=(n + 1) % 8), n + 0.1)
    assert link.t1 == 2.0  # 2 SRT would be 0.2 s: Direwolf's floor


def test_round_trip_is_timed_from_the_newest_frame_acknowledged() -> None:
    # 100 bytes/s: each 100-byte I frame is 1.19 s on the air; the burst of 4 sent at 10 s
    # ends at 14.76 s.
    link = connected_link(LinkConfig(paclen=100, window=4, t1=4.0, bytes_per_second=100))
    link.send_data(bytes(400), 10.0)
    link.frames_to_send()
    # The peer answers 0.5 s after the end of the burst. From the oldest frame (on the air at
    # 11.19 s) the sample would be 4.07 s; from the newest (14.76 s) it is 0.5 s.
    link.receive_frame(peer(FrameType.RR, command=False, nr=4), 15.26)
    srt = 7 / 8 * 2.0 + 0.5 / 8  # the first SRT is T1 / 2
    assert link.t1 == pytest.approx(2 * srt)


def test_an_acknowledgement_pulls_the_departure_estimate_forward() -> None:
    link = connected_link(LinkConfig(paclen=100, window=7, t1=3.0, bytes_per_second=100))
    link.send_data(bytes(700), 10.0)
    assert len(link.frames_to_send()) == 7  # estimated on the air until 10 + 7 x 1.19 s
    # At 12.5 s the peer acknowledges 4 frames the estimate had leave by 14.76 s: the TNC is
    # 2.26 s ahead, so the 3 still queued leave 2.26 s earlier too, and T1 runs from there
    # (it restarts on progress).
    link.receive_frame(peer(FrameType.RR, command=False, nr=4), 12.5)
    assert link.get_timer() == pytest.approx(18.33 - 2.26 + link.t1)
    # An acknowledgement later than the estimate changes nothing.
    link.receive_frame(peer(FrameType.RR, command=False, nr=5), 17.0)
    assert link.get_timer() == pytest.approx(17.0 + link.t1)


def test_t1_counts_from_the_end_of_our_transmission_and_waits_while_the_peer_talks() -> None:
    # 100 bytes/s: an I frame with 100 bytes of info is 119 bytes, 1.19 s on the air.
    link = connected_link(LinkConfig(paclen=100, window=4, t1=3.0, bytes_per_second=100))
    link.send_data(bytes(400), 10.0)
    assert len(link.frames_to_send()) == 4
    assert link.get_timer() == pytest.approx(10.0 + 4 * 1.19 + 3.0)  # after the burst
    # The peer's 69-byte frame kept the channel busy 0.69 s: T1 waits that much longer.
    link.receive_frame(i_frame(0, 0, bytes(50)), 14.0)
    assert link.get_timer() == pytest.approx(10.0 + 4 * 1.19 + 3.0 + 0.69)


def test_t1_waits_for_the_drivers_reports_of_held_frames() -> None:
    # The driver's pacer holds frames back: T1 cannot expire before they are reported sent,
    # and then counts from when the TNC will have sent them.
    config = LinkConfig(paclen=100, window=4, t1=3.0, bytes_per_second=100)
    link = Link(BOT, OP, config, reports_sent=True)
    link.receive_frame(peer(FrameType.SABM, pf=True), 0.0)
    link.accept(0.0)
    assert [f.type for f in link.frames_to_send()] == [FrameType.UA]
    link.frame_sent(0.19)  # on time
    link.send_data(bytes(400), 10.0)
    assert len(link.frames_to_send()) == 4
    assert link.get_timer() is None  # all 4 held: T1 waits
    link.handle_timer(30.0)
    assert link.frames_to_send() == [] and link.state is LinkState.CONNECTED
    # The first two leave at once, the last two 20 s late (the pacer's window was used up).
    link.frame_sent(11.19)
    link.frame_sent(12.38)
    assert link.get_timer() is None
    link.frame_sent(32.0)  # written at 30.81 s: 20 s later than estimated
    assert link.get_timer() is None
    link.frame_sent(33.19)
    assert link.get_timer() == pytest.approx(33.19 + 3.0)
    # The round trip counts from the real departure of the newest frame acknowledged.
    link.receive_frame(peer(FrameType.RR, command=False, nr=4), 33.69)
    assert link.t1 == pytest.approx(2 * (7 / 8 * 1.5 + 0.5 / 8))


def test_window_full_waits_for_acks() -> None:
    link = connected_link(LinkConfig(paclen=1, window=7))
    link.send_data(b"0123456789", 0.0)
    assert len(link.frames_to_send()) == 7
    link.send_data(b"more", 0.1)
    assert link.frames_to_send() == []
    link.receive_frame(peer(FrameType.RR, command=False, nr=7), 0.5)
    assert kinds(link.frames_to_send()) == [("I", n % 8, 0, False) for n in range(7, 14)]


def test_peer_busy_stops_sending_and_polls_until_ready() -> None:
    link = connected_link(LinkConfig(paclen=4, t1=2.0))
    link.send_data(b"aaaa", 0.0)
    link.frames_to_send()
    link.receive_frame(peer(FrameType.RNR, command=False, nr=1), 0.5)
    assert link.events() == [PeerBusy(True)]
    link.send_data(b"bbbbcccc", 0.6)
    assert link.frames_to_send() == []  # held back while the peer is busy
    # T1 polls the busy peer; it stays busy for many rounds without a link failure.
    for _ in range(15):
        link.handle_timer(link.get_timer() or 0)
        assert kinds(link.frames_to_send()) == [("RR", None, 0, True)]
        link.receive_frame(peer(FrameType.RNR, command=False, pf=True, nr=1), link.get_timer() or 0)
        assert link.frames_to_send() == []
    assert link.state is LinkState.CONNECTED
    link.receive_frame(peer(FrameType.RR, command=False, nr=1), 100.0)
    assert link.events() == [PeerBusy(False)]
    assert [f.info for f in link.frames_to_send()] == [b"bbbb", b"cccc"]


def test_own_busy_sends_rnr_discards_and_resumes_with_rr() -> None:
    link = connected_link()
    link.set_busy(True, 1.0)
    assert kinds(link.frames_to_send()) == [("RNR", None, 0, False)]
    link.receive_frame(i_frame(0, 0, b"dropped", pf=True), 1.1)
    assert kinds(link.frames_to_send()) == [("RNR", None, 0, True)]
    assert link.events() == []
    link.set_busy(False, 2.0)
    assert kinds(link.frames_to_send()) == [("RR", None, 0, False)]
    link.receive_frame(i_frame(0, 0, b"again"), 2.5)
    assert link.events() == [DataReceived(b"again")]


def test_peer_disconnects_mid_transfer() -> None:
    link = connected_link(LinkConfig(paclen=8))
    link.send_data(b"x" * 100, 0.0)
    link.frames_to_send()
    link.receive_frame(peer(FrameType.RR, command=False, nr=2), 0.5)
    link.receive_frame(peer(FrameType.DISC, pf=True), 0.6)
    assert kinds(link.frames_to_send())[-1] == ("UA", None, None, True)
    assert link.events() == [Disconnected(DisconnectReason.PEER, unsent=84)]
    assert link.get_timer() is None


def test_close_waits_for_queued_data_then_disc() -> None:
    link = connected_link(LinkConfig(paclen=4))
    link.send_data(b"bye!", 0.0)
    link.close(0.0)
    assert kinds(link.frames_to_send()) == [("I", 0, 0, False)]
    with pytest.raises(InvalidState, match="closing"):
        link.send_data(b"late", 0.1)
    link.receive_frame(peer(FrameType.RR, command=False, nr=1), 0.5)
    assert kinds(link.frames_to_send()) == [("DISC", None, None, True)]
    assert link.state is LinkState.AWAITING_RELEASE
    link.receive_frame(peer(FrameType.UA, command=False, pf=True), 0.9)
    assert link.events() == [Disconnected(DisconnectReason.LOCAL)]


def test_disconnect_now_sends_disc_and_reports_what_was_unsent() -> None:
    link = connected_link(LinkConfig(paclen=4, window=1))
    link.send_data(b"12345678", 0.0)
    link.frames_to_send()
    link.disconnect(0.1)  # shutdown: no waiting for acknowledgements
    assert kinds(link.frames_to_send()) == [("DISC", None, None, True)]
    link.receive_frame(peer(FrameType.UA, command=False, pf=True), 0.4)
    assert link.events() == [Disconnected(DisconnectReason.LOCAL, unsent=8)]


def test_frmr_received_closes_and_bad_nr_is_answered_with_frmr() -> None:
    link = connected_link()
    link.receive_frame(peer(FrameType.FRMR, command=False, info=b"\x00\x00\x01"), 1.0)
    assert kinds(link.frames_to_send()) == [("DISC", None, None, True)]
    link.receive_frame(peer(FrameType.UA, command=False, pf=True), 1.5)
    assert link.events() == [Disconnected(DisconnectReason.PROTOCOL_ERROR)]
    link = connected_link()
    link.receive_frame(peer(FrameType.RR, command=False, nr=3), 1.0)  # we sent nothing
    frmr, disc = link.frames_to_send()
    assert frmr.type is FrameType.FRMR and frmr.info[2] & 0x08  # Z: invalid N(R)
    assert disc.type is FrameType.DISC


def test_t3_checks_an_idle_link() -> None:
    link = connected_link(LinkConfig(t3=60.0))
    assert link.get_timer() == 60.0
    link.handle_timer(60.0)
    assert kinds(link.frames_to_send()) == [("RR", None, 0, True)]
    link.receive_frame(peer(FrameType.RR, command=False, pf=True, nr=0), 60.5)
    assert link.state is LinkState.CONNECTED
    assert link.get_timer() == 120.5


# -- the table -----------------------------------------------------------------------------


def test_every_action_in_the_table_exists() -> None:
    for (state, inp), row in TRANSITIONS.items():
        assert callable(getattr(Link, "_" + row.action, None)), (state, inp, row.action)
        assert row.targets


def test_every_state_is_reachable_from_disconnected() -> None:
    seen = {LinkState.DISCONNECTED}
    frontier = [LinkState.DISCONNECTED]
    while frontier:
        state = frontier.pop()
        for (source, _), row in TRANSITIONS.items():
            if source is state:
                for target in row.targets - seen:
                    seen.add(target)
                    frontier.append(target)
    assert seen == set(LinkState)


# -- two links through a lossy channel -----------------------------------------------------


def transfer(pair: LinkPair, size: int) -> tuple[bytes, bytes]:
    a_data = bytes((i * 7) % 251 for i in range(size))
    b_data = bytes((i * 13 + 5) % 253 for i in range(size))
    pair.a.connect(pair.now)
    pair.run_until(lambda: any(isinstance(e, ConnectRequest) for e in pair.events["b"]))
    pair.b.accept(pair.now)
    pair.run_until(lambda: pair.a.connected)
    pair.a.send_data(a_data, pair.now)
    pair.b.send_data(b_data, pair.now)
    pair.run_until(lambda: len(pair.received("b")) >= size and len(pair.received("a")) >= size)
    pair.a.close(pair.now)
    pair.run_until(lambda: pair.a.state is LinkState.DISCONNECTED)
    return a_data, b_data


def test_clean_channel_transfers_10kb_both_ways() -> None:
    pair = LinkPair()
    a_data, b_data = transfer(pair, 10_240)
    assert pair.received("b") == a_data
    assert pair.received("a") == b_data
    assert Disconnected(DisconnectReason.LOCAL) in pair.events["a"]
    assert Disconnected(DisconnectReason.PEER) in pair.events["b"]
    assert pair.a.stats["i_resent"] == pair.b.stats["i_resent"] == 0


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rate=st.sampled_from([0.05, 0.1, 0.2, 0.3]),
    channel=st.sampled_from([None, 150.0, 1200.0]),
)
def test_lossy_channel_transfers_10kb_both_ways_intact(
    seed: int, rate: float, channel: float | None
) -> None:
    config = LinkConfig(paclen=128, window=4, n2=30, bytes_per_second=channel)
    pair = LinkPair(config=config, lose=seeded_loss(seed, rate))
    a_data, b_data = transfer(pair, 10_240)
    assert pair.received("b") == a_data
    assert pair.received("a") == b_data


@settings(max_examples=50, deadline=None)
@given(drops=st.sets(st.integers(1, 120), max_size=12), window=st.integers(1, 7))
def test_any_loss_pattern_still_delivers_in_order(drops: set[int], window: int) -> None:
    pair = LinkPair(
        config=LinkConfig(paclen=16, window=window, n2=30),
        lose=lambda frame, index: index in drops,
    )
    a_data, b_data = transfer(pair, 1000)
    assert pair.received("b") == a_data
    assert pair.received("a") == b_data
