"""manage.py runworker in-process: argument and configuration errors."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


def test_unknown_layer_alias_says_what_to_configure() -> None:
    with pytest.raises(CommandError, match="CHANNEL_LAYERS has no layer 'nope'"):
        call_command("runworker", "myproject.thumbnail_notifications", "--layer", "nope")


def test_channel_names_are_required() -> None:
    with pytest.raises(CommandError, match="CHANNEL"):
        call_command("runworker")
