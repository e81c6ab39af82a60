"""adapters.web.limits: the limits' validation, their settings, and the descriptor warning."""

from __future__ import annotations

import logging
import resource
from types import SimpleNamespace

import pytest

from adapters.web.limits import WebLimits
from gateway.exceptions import ConfigurationError


def test_defaults_are_those_of_other_servers() -> None:
    limits = WebLimits()
    assert (limits.max_header_line, limits.max_headers, limits.max_header_bytes) == (
        8192,
        100,
        65536,
    )
    assert limits.header_timeout == 30.0
    assert limits.max_connections == 10_000


def test_settings_are_read_and_zero_turns_timeout_and_connection_limit_off() -> None:
    settings = SimpleNamespace(
        WEB_MAX_HEADER_LINE="4096",
        WEB_MAX_HEADERS=50,
        WEB_MAX_HEADER_BYTES=32768,
        WEB_HEADER_TIMEOUT=0.0,
        WEB_MAX_CONNECTIONS=0,
    )
    assert WebLimits.from_settings(settings) == WebLimits(
        max_header_line=4096,
        max_headers=50,
        max_header_bytes=32768,
        header_timeout=None,
        max_connections=None,
    )
    assert WebLimits.from_settings(SimpleNamespace()) == WebLimits()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_header_line": 0}, "WEB_MAX_HEADER_LINE must be a positive whole number"),
        ({"max_headers": -1}, "WEB_MAX_HEADERS must be a positive whole number"),
        ({"max_header_bytes": 100}, "raise WEB_MAX_HEADER_BYTES"),
        ({"header_timeout": -5.0}, "WEB_HEADER_TIMEOUT must be a positive number"),
        ({"max_connections": -1}, "WEB_MAX_CONNECTIONS must be a positive whole number"),
    ],
)
def test_bad_limits_say_which_setting_to_fix(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        WebLimits(**kwargs)  # type: ignore[arg-type]


def test_a_connection_limit_above_the_descriptor_limit_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        pytest.skip("no descriptor limit in this process")
    with caplog.at_level(logging.WARNING):
        WebLimits(max_connections=soft - 10).check_descriptors()
        WebLimits(max_connections=max(1, soft - 100)).check_descriptors()
        WebLimits(max_connections=None).check_descriptors()
    [line] = [r.getMessage() for r in caplog.records]
    assert f"WEB_MAX_CONNECTIONS={soft - 10} but this process may open only {soft} files" in line
