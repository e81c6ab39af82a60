"""consumers/bot/route.py: alerts and reports go to the adapter's reach channel when the
identity (or the asking conversation) has a good address, else to the identity's group or the
asking consumer's channel; never both."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.bot import store
from consumers.bot.groups import NOTICE, REPORT, identity_group
from consumers.bot.route import reach_text, send_notice, send_report
from consumers.models import Identity, Watch
from gateway.exceptions import ChannelFull
from gateway.reach import reach_address

TG = reach_address("telegram.reach.1", "telegram.send", 42)
APRS = reach_address("ax25.reach.BOT-1", "aprs.message", "N0CALL-5", ttl=3600)
PNG = b"\x89PNG\r\n\x1a\n..."


class RecordingLayer:
    """Records what routing sends: ("send", channel, message) or ("group", group, message)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        self.sent.append(("send", channel, message))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sent.append(("group", group, message))


def alert(reach: dict[str, Any] | None, until: float | None = None) -> store.Alert:
    return store.Alert("telegram", "42", "Alert: boiler temp=81 (> 80)", reach, until)


async def test_an_identity_with_a_reach_gets_its_notice_through_the_reach_channel() -> None:
    layer = RecordingLayer()
    await send_notice(layer, alert(TG), now=1_000.0)
    assert layer.sent == [
        (
            "send",
            "telegram.reach.1",
            {"type": "telegram.send", "to": 42, "text": "Alert: boiler temp=81 (> 80)"},
        )
    ]


async def test_an_identity_without_a_reach_gets_its_notice_through_its_group() -> None:
    layer = RecordingLayer()
    await send_notice(layer, alert(None), now=1_000.0)
    assert layer.sent == [
        (
            "group",
            identity_group("telegram", "42"),
            {"type": NOTICE, "text": "Alert: boiler temp=81 (> 80)"},
        )
    ]


async def test_an_expired_aprs_reach_falls_back_to_the_group() -> None:
    layer = RecordingLayer()
    await send_notice(layer, alert(APRS, until=999.0), now=1_000.0)
    assert [(kind, name) for kind, name, _ in layer.sent] == [
        ("group", identity_group("telegram", "42"))
    ]
    layer.sent.clear()
    await send_notice(layer, alert(APRS, until=1_001.0), now=1_000.0)
    assert [(kind, name) for kind, name, _ in layer.sent] == [("send", "ax25.reach.BOT-1")]


async def test_a_report_with_a_reach_carries_the_chart_as_a_photo() -> None:
    layer = RecordingLayer()
    message = {"type": REPORT, "title": "Room r", "text": "Room r\nBy protocol: web 1", "png": PNG}
    assert await send_report(layer, message, "specific.x!1", TG) == "telegram.reach.1"
    assert layer.sent == [
        (
            "send",
            "telegram.reach.1",
            {"type": "telegram.send", "to": 42, "text": "Room r\nBy protocol: web 1", "photo": PNG},
        )
    ]


async def test_a_report_on_aprs_is_one_clean_line_without_a_picture() -> None:
    layer = RecordingLayer()
    message = {
        "type": REPORT,
        "title": "Device",
        "text": "Device b\ntemp: min 1 | max 2",
        "png": PNG,
    }
    await send_report(layer, message, "specific.x!1", APRS)
    [(_, channel, sent)] = layer.sent
    assert channel == "ax25.reach.BOT-1"
    assert sent == {
        "type": "aprs.message",
        "to": "N0CALL-5",
        "text": "Device b; temp: min 1 / max 2",
    }


async def test_a_report_without_a_reach_goes_to_the_asking_consumer() -> None:
    layer = RecordingLayer()
    message = {"type": REPORT, "title": "t", "text": "t"}
    assert await send_report(layer, message, "specific.x!1", None) == "specific.x!1"
    assert layer.sent == [("send", "specific.x!1", message)]


async def test_a_full_reach_channel_drops_the_notice_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class FullLayer(RecordingLayer):
        async def send(self, channel: str, message: dict[str, Any]) -> None:
            raise ChannelFull(channel)

    await send_notice(FullLayer(), alert(TG), now=1_000.0)
    assert "reach channel telegram.reach.1 is full" in caplog.text
    assert "runadapter telegram" in caplog.text


def test_reach_text_leaves_telegram_text_alone_and_cleans_aprs() -> None:
    assert reach_text(TG, "a\nb ~ ü") == "a\nb ~ ü"
    assert reach_text(APRS, "a\n\n b ~ ü ") == "a; b - u"


@pytest.mark.django_db(transaction=True)
def test_alerts_carry_the_watchers_stored_reach() -> None:
    reached = Identity.objects.create(protocol="telegram", address="42", nick="t")
    store.set_reach(reached.pk, TG, None)
    plain = Identity.objects.create(protocol="web", address="guest:w", nick="w")
    for identity in (reached, plain):
        Watch.objects.create(identity=identity, device_id="dev-r", key="t", op=">", value=5)
    alerts = store.record_telemetry("dev-r", {"t": 6}, 1_000.0)
    assert {(a.protocol, a.address): a.reach for a in alerts} == {
        ("telegram", "42"): TG,
        ("web", "guest:w"): None,
    }
    offline = store.mark_offline("dev-r", "silent")
    assert sorted((a.address, a.reach is not None) for a in offline) == [
        ("42", True),
        ("guest:w", False),
    ]
