"""Settings for command subprocess tests: the project's, plus fake adapters."""

import os

from project.settings import *  # noqa: F403

GATEWAY_ADAPTERS = {
    "waiting": "tests.integration.commands.fakes.WaitingAdapter",
    "stubborn": "tests.integration.commands.fakes.StubbornAdapter",
}
GATEWAY_SHUTDOWN_TIMEOUT = 30.0

# Subprocess tests share the real Redis with other tests: isolate this run's channels.
if REDIS_URL and os.environ.get("TEST_LAYER_PREFIX"):  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["TEST_LAYER_PREFIX"]  # noqa: F405
