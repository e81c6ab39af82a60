"""The bot's database models."""

from __future__ import annotations

from django.db import models


class DeviceMessage(models.Model):
    """One MQTT message a device consumer processed (at least once: redeliveries repeat it)."""

    device_id = models.CharField(max_length=200, db_index=True)
    topic = models.CharField(max_length=1024)
    payload = models.TextField(blank=True)
    qos = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.topic}"
