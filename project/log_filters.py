"""Logging filters the project's LOGGING setting uses."""

from __future__ import annotations

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """Log a record as one WARNING line without its traceback.

    For loggers whose records say a client sent something wrong, such as Django's
    ``django.security.DisallowedHost`` (a Host header not in ALLOWED_HOSTS): Django logs those
    at ERROR with the traceback of the exception it turned into a 400. The client got its
    400; the operator needs one line saying which host was refused, not 30 lines of our stack.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote `record` to WARNING and drop its traceback; always keep it."""
        record.levelno = logging.WARNING
        record.levelname = logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True
