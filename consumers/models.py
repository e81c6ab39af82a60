"""The bot's database models."""

from __future__ import annotations

from django.db import models


class DeviceMessage(models.Model):
    """One MQTT message a device consumer processed (at least once: redeliveries repeat it)."""

    device_id = models.CharField(max_length=200, db_index=True)
    topic = models.CharField(max_length=1024)
    #: The payload when it is UTF-8 text ("" otherwise).
    payload = models.TextField(blank=True)
    #: The payload when it is not UTF-8 (binary telemetry), as it came; None for text.
    data = models.BinaryField(null=True, blank=True)
    qos = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.topic}"


class Identity(models.Model):
    """Someone the bot talks to on one protocol: a web login, a Telegram user, a callsign-SSID,
    an MQTT client. Several identities may be linked to one Django user (``user``)."""

    protocol = models.CharField(max_length=16)
    address = models.CharField(max_length=200)
    nick = models.CharField(max_length=32)
    room = models.CharField(max_length=64, blank=True)
    #: ``room`` case-folded (consumers.rooms.room_key): the room fan-out looks members up by it.
    room_key = models.CharField(max_length=64, blank=True, db_index=True)
    #: Where the adapter can reach this identity's last conversation without a scope
    #: (``scope["reach"]``, gateway/reach.py); None: only while a scope is open.
    reach = models.JSONField(null=True, blank=True)
    #: Until when ``reach`` is good (seconds since the epoch); None: no limit.
    reach_until = models.FloatField(null=True, blank=True)
    user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="identities"
    )
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["protocol", "address"], name="identity_unique"),
        ]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.protocol}:{self.address}"


class ChatMessage(models.Model):
    """One message posted to a room, whatever protocol it came from (the room's history)."""

    room_key = models.CharField(max_length=64, db_index=True)
    room = models.CharField(max_length=64)
    sender = models.CharField(max_length=32)
    text = models.TextField()
    source = models.CharField(max_length=16)
    ts = models.FloatField(db_index=True)

    class Meta:
        ordering = ["ts", "id"]

    def __str__(self) -> str:
        return f"[{self.room}] <{self.sender}@{self.source}> {self.text[:40]}"


class LinkCode(models.Model):
    """A one-time code: typed with /link on another protocol, it links that identity to
    ``user``."""

    code = models.CharField(max_length=16, unique=True)
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="link_codes")
    expires = models.FloatField()

    def __str__(self) -> str:
        return f"link code for {self.user}"


class Device(models.Model):
    """An MQTT device seen on devices/{id}/telemetry: its last readings and whether it is on."""

    device_id = models.CharField(max_length=200, unique=True)
    values = models.JSONField(default=dict)
    last_seen = models.FloatField(default=0.0)
    online = models.BooleanField(default=True)

    class Meta:
        ordering = ["device_id"]
        permissions = [("control_device", "Can send commands to devices with /set")]

    def __str__(self) -> str:
        return self.device_id


class Telemetry(models.Model):
    """One telemetry reading (a JSON object) of a device."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="readings")
    data = models.JSONField()
    ts = models.FloatField(db_index=True)

    class Meta:
        ordering = ["ts", "id"]

    def __str__(self) -> str:
        return f"reading {self.pk} at {self.ts}"


class Watch(models.Model):
    """/watch ID KEY OP VALUE: tell ``identity`` when the reading crosses the threshold, and
    when the device goes offline."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="watches")
    device_id = models.CharField(max_length=200, db_index=True)
    key = models.CharField(max_length=64)
    op = models.CharField(max_length=2)
    value = models.FloatField()
    #: Whether the condition held at the last reading: alert on the crossing, not every reading.
    active = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.identity} watches {self.device_id}.{self.key} {self.op} {self.value}"


class Presence(models.Model):
    """One open conversation (a consumer instance) in a room: /who and the page's online list.

    Deleted when the conversation leaves or closes; rows a crashed process left behind are
    pruned by the periodic ``prune`` task once older than BOT_PRESENCE_HOURS.
    """

    channel_name = models.CharField(max_length=200, unique=True)
    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="presences")
    room_key = models.CharField(max_length=64, db_index=True)
    room = models.CharField(max_length=64)
    since = models.FloatField()

    def __str__(self) -> str:
        return f"{self.identity} in {self.room}"
