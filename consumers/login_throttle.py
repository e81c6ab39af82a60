"""django-axes (the admin login's throttle) beside logins that have no HTTP request.

``gateway.auth.login`` logs a user in from a WebSocket consumer and sends ``user_logged_in``
with ``request=None``, as Channels does. Axes' receivers assume a request (they read the client
address from it) and fail with AttributeError, after an ERROR line. Such a login is not an
attempt axes can throttle anyway (no password was checked by Django's login form), so its
receivers are re-wired to skip signals without a request: axes still records and throttles
every login made through a request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out


def skip_requestless_logins() -> None:
    """Replace axes' user_logged_in/out receivers by ones that ignore ``request=None``."""
    from axes import signals as axes_signals

    for signal, receiver in (
        (user_logged_in, axes_signals.handle_user_logged_in),
        (user_logged_out, axes_signals.handle_user_logged_out),
    ):
        if signal.disconnect(receiver):
            signal.connect(_with_request_only(receiver), weak=False, dispatch_uid=receiver)


def _with_request_only(receiver: Any) -> Any:
    def handle(*args: Any, request: Any = None, **kwargs: Any) -> None:
        if request is not None:
            receiver(*args, request=request, **kwargs)

    return handle
