"""manage.py runworker in-process: argument and configuration errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from gateway.management.commands import runworker
from gateway.worker import Worker


def test_unknown_layer_alias_says_what_to_configure() -> None:
    with pytest.raises(CommandError, match="CHANNEL_LAYERS has no layer 'nope'"):
        call_command("runworker", "myproject.thumbnail_notifications", "--layer", "nope")


def test_channel_names_are_required() -> None:
    with pytest.raises(CommandError, match="CHANNEL"):
        call_command("runworker")


class StartedWorker(Exception):
    """Raised by the test's worker class instead of running."""


class RecordingWorker(Worker):
    built: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        RecordingWorker.built = kwargs
        raise StartedWorker


def test_worker_class_is_replaceable_as_in_channels() -> None:
    # Channels' runworker builds self.worker_class(application=, channels=, channel_layer=).
    class Command(runworker.Command):
        worker_class = RecordingWorker

    command = Command()
    with pytest.raises(StartedWorker):
        call_command(command, "jobs")
    assert RecordingWorker.built["channels"] == ["jobs"]
    assert RecordingWorker.built["channel_layer"] is command.channel_layer is not None
    assert callable(RecordingWorker.built["application"])
    assert runworker.Command.worker_class is Worker
    assert runworker.Command.leave_locale_alone
