"""Settings for command subprocess tests: the project's, plus fake adapters."""

from project.settings import *  # noqa: F403

GATEWAY_ADAPTERS = {
    "waiting": "tests.integration.commands.fakes.WaitingAdapter",
    "stubborn": "tests.integration.commands.fakes.StubbornAdapter",
}
GATEWAY_SHUTDOWN_TIMEOUT = 30.0
