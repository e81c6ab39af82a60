"""Admin for the bot: link identities to users, see rooms' history, devices and watches.

Linking by hand: open an Identity and pick its user. /set needs the user to hold the
permission "Can send commands to devices with /set" (consumers | device).
"""

from __future__ import annotations

from django.contrib import admin

from consumers.models import ChatMessage, Device, Identity, LinkCode, Presence, Telemetry, Watch


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ("protocol", "address", "nick", "user", "room", "last_seen")
    list_filter = ("protocol",)
    search_fields = ("address", "nick", "user__username")
    autocomplete_fields = ("user",)


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("room", "sender", "source", "text", "ts")
    list_filter = ("source",)
    search_fields = ("room", "sender", "text")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("device_id", "online", "last_seen")
    list_filter = ("online",)
    search_fields = ("device_id",)


@admin.register(Telemetry)
class TelemetryAdmin(admin.ModelAdmin):
    list_display = ("device", "ts", "data")
    list_select_related = ("device",)


@admin.register(Watch)
class WatchAdmin(admin.ModelAdmin):
    list_display = ("identity", "device_id", "key", "op", "value", "active")


@admin.register(Presence)
class PresenceAdmin(admin.ModelAdmin):
    list_display = ("identity", "room", "since")


@admin.register(LinkCode)
class LinkCodeAdmin(admin.ModelAdmin):
    list_display = ("user", "expires")
