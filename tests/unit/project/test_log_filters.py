"""project.log_filters and the LOGGING setting that uses it: a foreign Host is one WARNING line."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.test import Client

from project.log_filters import ClientErrorWithoutTraceback


def test_the_record_becomes_one_warning_line_without_traceback() -> None:
    try:
        raise DisallowedHost("Invalid HTTP_HOST header: 'evil.example'.")
    except DisallowedHost as exc:
        record = logging.LogRecord(
            "django.security.DisallowedHost", logging.ERROR, __file__, 1, str(exc), (), None
        )
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert ClientErrorWithoutTraceback().filter(record) is True
    assert (record.levelno, record.levelname) == (logging.WARNING, "WARNING")
    assert record.exc_info is None
    assert logging.Formatter().format(record) == "Invalid HTTP_HOST header: 'evil.example'."


@pytest.mark.django_db
def test_django_logs_a_foreign_host_once_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # django.setup() applied settings.LOGGING: the filter is on Django's security logger.
    assert settings.LOGGING["loggers"]["django.security.DisallowedHost"]
    response = Client(HTTP_HOST="evil.example").get("/healthz")
    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name.startswith("django")]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "evil.example" in record.getMessage()
