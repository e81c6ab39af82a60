"""The bot's database work: synchronous functions, called through ``database_sync_to_async``.

Each function is one short transaction and returns plain data (dataclasses, dicts), never
model instances, so nothing lazy crosses back into async code.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from consumers.models import ChatMessage, Device, Identity, LinkCode, Presence, Telemetry, Watch
from consumers.rooms import RoomMessage, room_key
from gateway.reach import is_good

logger = logging.getLogger(__name__)

#: How long a /link code stays valid.
LINK_CODE_SECONDS = 600.0
#: The permission /set needs (app label "consumers", model Device).
CONTROL_PERMISSION = "consumers.control_device"
OPERATORS = {"<": float.__lt__, ">": float.__gt__, "<=": float.__le__, ">=": float.__ge__}


@dataclass(frozen=True)
class IdentityInfo:
    """What a conversation knows about who it talks to."""

    id: int
    protocol: str
    address: str
    nick: str
    room: str
    user_id: int | None
    username: str | None


def _info(identity: Identity) -> IdentityInfo:
    user = identity.user
    return IdentityInfo(
        id=identity.pk,
        protocol=identity.protocol,
        address=identity.address,
        nick=identity.nick,
        room=identity.room,
        user_id=user.pk if user else None,
        username=user.get_username() if user else None,
    )


def identify(protocol: str, address: str, nick: str, user_id: int | None = None) -> IdentityInfo:
    """The identity for (protocol, address), created with ``nick`` on first contact.

    ``user_id`` (a web login) links it to that user; an identity's link is never removed here.
    """
    for _ in range(2):
        try:
            with transaction.atomic():
                identity, created = Identity.objects.select_related("user").get_or_create(
                    protocol=protocol, address=address, defaults={"nick": nick}
                )
                if user_id is not None and identity.user_id != user_id:
                    identity.user = User.objects.get(pk=user_id)
                identity.save()
                if created:
                    logger.info("new identity %s:%s (%s)", protocol, address, nick)
                return _info(identity)
        except IntegrityError:
            # Two conversations of one identity started at once: the other created it.
            continue
    raise RuntimeError(f"identity {protocol}:{address} could not be created")


def set_nick(identity_id: int, nick: str) -> None:
    """Store a new nickname."""
    Identity.objects.filter(pk=identity_id).update(nick=nick)


def set_room(identity_id: int, room: str) -> None:
    """Store the identity's room ("" when it left), so a later conversation rejoins it."""
    Identity.objects.filter(pk=identity_id).update(
        room=room, room_key=room_key(room) if room else ""
    )


def set_reach(identity_id: int, reach: dict[str, Any] | None, until: float | None) -> None:
    """Store where the adapter reaches the identity's conversation without a scope (None:
    nowhere) and until when (None: no limit)."""
    Identity.objects.filter(pk=identity_id).update(reach=reach, reach_until=until)


def reach_members(room: str, now: float, exclude_id: int | None = None) -> list[dict[str, Any]]:
    """The reach addresses of the identities in ``room`` (except ``exclude_id``) that are still
    good at ``now``, each address once (two identities may share a Telegram group chat)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    rows = (
        Identity.objects.filter(room_key=room_key(room), reach__isnull=False)
        .exclude(pk=exclude_id)
        .values_list("reach", "reach_until")
    )
    for reach, until in rows:
        if not is_good(reach, until, now):
            continue
        found.setdefault((str(reach.get("channel")), repr(reach.get("to"))), reach)
    return list(found.values())


def enter(channel_name: str, identity_id: int, room: str, now: float) -> None:
    """Record that a conversation is in ``room`` (replacing where it was)."""
    Presence.objects.update_or_create(
        channel_name=channel_name,
        defaults={
            "identity_id": identity_id,
            "room": room,
            "room_key": room_key(room),
            "since": now,
        },
    )


def exit_room(channel_name: str) -> None:
    """The conversation left its room or closed."""
    Presence.objects.filter(channel_name=channel_name).delete()


def save_message(event: RoomMessage) -> None:
    """Store a room message (history survives restarts)."""
    ChatMessage.objects.create(
        room_key=room_key(event["room"]),
        room=event["room"],
        sender=event["sender"],
        text=event["text"],
        source=event["source"],
        ts=event["ts"],
    )


def history(room: str, count: int) -> list[dict[str, Any]]:
    """The last ``count`` messages of a room, oldest first."""
    rows = ChatMessage.objects.filter(room_key=room_key(room)).order_by("-ts", "-id")[:count]
    return [
        {"room": m.room, "sender": m.sender, "text": m.text, "source": m.source, "ts": m.ts}
        for m in reversed(rows)
    ]


def rooms() -> list[tuple[str, int]]:
    """Rooms with someone present, and how many conversations are in each."""
    counts: dict[str, tuple[str, int]] = {}
    for presence in Presence.objects.order_by("since"):
        name, count = counts.get(presence.room_key, (presence.room, 0))
        counts[presence.room_key] = (name, count + 1)
    return sorted(counts.values(), key=lambda item: item[0].casefold())


def who(room: str) -> list[tuple[str, str]]:
    """(nick, protocol) of everyone present in ``room``, each identity once."""
    seen: dict[int, tuple[str, str]] = {}
    for presence in Presence.objects.filter(room_key=room_key(room)).select_related("identity"):
        seen[presence.identity_id] = (presence.identity.nick, presence.identity.protocol)
    return sorted(seen.values(), key=lambda item: (item[1], item[0].casefold()))


def _device_info(found: Device) -> dict[str, Any]:
    return {
        "device_id": found.device_id,
        "online": found.online,
        "last_seen": found.last_seen,
        "values": found.values,
    }


def devices() -> list[dict[str, Any]]:
    """Every known device: id, online, last_seen, values (key -> [value, when])."""
    return [_device_info(d) for d in Device.objects.all()]


def device(device_id: str) -> dict[str, Any] | None:
    """One device as in :func:`devices`, or None."""
    found = Device.objects.filter(device_id=device_id).first()
    return None if found is None else _device_info(found)


def may_control(user_id: int | None) -> bool:
    """Whether a linked user holds the permission /set needs."""
    if user_id is None:
        return False
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return bool(user and user.has_perm(CONTROL_PERMISSION))


def add_watch(identity_id: int, device_id: str, key: str, op: str, value: float) -> None:
    """Watch a reading (the same watch twice is stored once)."""
    Watch.objects.get_or_create(
        identity_id=identity_id, device_id=device_id, key=key, op=op, value=value
    )


def remove_watches(identity_id: int, device_id: str | None) -> int:
    """Stop watching one device or all; how many watches ended."""
    query = Watch.objects.filter(identity_id=identity_id)
    if device_id is not None:
        query = query.filter(device_id=device_id)
    deleted, _ = query.delete()
    return deleted


@dataclass(frozen=True)
class Alert:
    """A message for one identity: to the adapter's reach channel when ``reach`` (the address
    of the identity's last conversation) is still good, else to its identity group
    (consumers/bot/route.py decides when it sends)."""

    protocol: str
    address: str
    text: str
    reach: dict[str, Any] | None = None
    reach_until: float | None = None


def record_telemetry(device_id: str, data: dict[str, Any], now: float) -> list[Alert]:
    """Store a reading and evaluate the device's watches with it (:func:`store_reading`, then
    :func:`evaluate_watches`); the alerts to send."""
    was_offline = store_reading(device_id, data, now)
    return evaluate_watches(device_id, data, was_offline)


def store_reading(device_id: str, data: dict[str, Any], now: float) -> bool:
    """Store a reading and merge it into the device's last values; whether the device was
    offline until now."""
    with transaction.atomic():
        found, _ = Device.objects.select_for_update().get_or_create(device_id=device_id)
        was_offline = not found.online
        found.values = {**found.values, **{k: [v, now] for k, v in data.items()}}
        found.last_seen = now
        found.online = True
        found.save()
        Telemetry.objects.create(device=found, data=data, ts=now)
    return was_offline


def evaluate_watches(device_id: str, data: dict[str, Any], was_offline: bool) -> list[Alert]:
    """The alerts of the watches whose condition became true with this reading (each watch
    alerts on the crossing, not on every reading past it), and "back online" ones."""
    alerts: list[Alert] = []
    with transaction.atomic():
        for watch in (
            Watch.objects.select_for_update().filter(device_id=device_id).select_related("identity")
        ):
            if was_offline:
                alerts.append(_alert(watch, f"{device_id} is back online"))
            reading = data.get(watch.key)
            if not isinstance(reading, int | float) or isinstance(reading, bool):
                continue
            holds = OPERATORS[watch.op](float(reading), watch.value)
            if holds and not watch.active:
                alerts.append(
                    _alert(watch, f"{device_id} {watch.key}={reading} ({watch.op} {watch.value:g})")
                )
            if holds != watch.active:
                watch.active = holds
                watch.save(update_fields=["active"])
    return alerts


def _alert(watch: Watch, text: str) -> Alert:
    return _alert_for(watch.identity, f"Alert: {text}")


def _alert_for(identity: Identity, text: str) -> Alert:
    reach = identity.reach if isinstance(identity.reach, dict) else None
    return Alert(identity.protocol, identity.address, text, reach, identity.reach_until)


def mark_offline(device_id: str, reason: str) -> list[Alert]:
    """Mark a device offline; the alerts for its watchers (none when it was offline already)."""
    with transaction.atomic():
        updated = Device.objects.filter(device_id=device_id, online=True).update(online=False)
        if not updated:
            return []
        watchers = {
            w.identity_id: w.identity
            for w in Watch.objects.filter(device_id=device_id).select_related("identity")
        }
    text = f"Alert: {device_id} went offline ({reason})"
    return [_alert_for(identity, text) for identity in watchers.values()]


def silent_devices(before: float) -> list[str]:
    """Online devices not heard from since ``before``."""
    return list(
        Device.objects.filter(online=True, last_seen__lt=before).values_list("device_id", flat=True)
    )


def new_link_code(user_id: int, now: float) -> str:
    """A fresh one-time code for /link on another protocol."""
    LinkCode.objects.filter(expires__lt=now).delete()
    code = secrets.token_hex(3).upper()
    LinkCode.objects.create(code=code, user_id=user_id, expires=now + LINK_CODE_SECONDS)
    return code


def redeem_link_code(code: str, identity_id: int, now: float) -> str | None:
    """Link the identity to the code's user (the code is used up); the username, or None when
    the code is unknown or expired."""
    with transaction.atomic():
        found = (
            LinkCode.objects.select_for_update()
            .select_related("user")
            .filter(code=code.strip().upper(), expires__gte=now)
            .first()
        )
        if found is None:
            return None
        Identity.objects.filter(pk=identity_id).update(user=found.user)
        found.delete()
        return found.user.get_username()


def prune_history(before: float) -> int:
    """Delete room messages and telemetry older than ``before``; how many rows went."""
    messages, _ = ChatMessage.objects.filter(ts__lt=before).delete()
    readings, _ = Telemetry.objects.filter(ts__lt=before).delete()
    return messages + readings


def prune_presence(before: float) -> int:
    """Delete presences older than ``before`` (left behind by a crashed process)."""
    deleted, _ = Presence.objects.filter(since__lt=before).delete()
    return deleted
