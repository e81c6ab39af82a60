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
