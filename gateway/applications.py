"""The one application loader: what settings name, as the ASGI application to run.

``runadapter``, ``runworker`` and Channels' ``get_default_application()`` all load the
application here, and every router turns a consumer class into ``Consumer.as_asgi()`` with
:func:`as_application`.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, cast

from gateway.exceptions import ConfigurationError
from gateway.types import ASGIApp

__all__ = ["DEFAULT_APPLICATION", "as_application", "get_default_application", "load_application"]

#: The application served when settings.ASGI_APPLICATION is not set (runadapter, runworker).
DEFAULT_APPLICATION = "project.asgi.application"

_HOW = "set ASGI_APPLICATION to the dotted path of your application, e.g. project.asgi.application"


def as_application(app: Any) -> ASGIApp:
    """Return the ASGI application to run for ``app``.

    A consumer class (any class with an ``as_asgi`` classmethod) becomes ``app.as_asgi()``; any
    other object is returned unchanged and must already be an ASGI 3 application.

    Args:
        app: an ASGI application or a consumer class.

    Returns:
        A single-callable ASGI application.
    """
    if inspect.isclass(app) and inspect.ismethod(getattr(app, "as_asgi", None)):
        return cast(ASGIApp, app.as_asgi())  # type: ignore[attr-defined]
    return cast(ASGIApp, app)


def load_application(settings: Any = None, *, required: bool = False) -> ASGIApp:
    """Import the application named by ``settings.ASGI_APPLICATION``.

    A consumer class is taken as ``Consumer.as_asgi()``.

    Args:
        settings: ``django.conf.settings`` (the default) or any object with the attribute.
        required: raise when the setting is empty instead of loading
            :data:`DEFAULT_APPLICATION` (Channels' ``get_default_application`` behaviour).

    Raises:
        ConfigurationError: the setting is missing (when required), or does not name an
            importable object; the message says what to set.
    """
    if settings is None:
        from django.conf import settings
    dotted = getattr(settings, "ASGI_APPLICATION", None)
    if not dotted and not required:
        dotted = DEFAULT_APPLICATION
    if not isinstance(dotted, str) or "." not in dotted:
        raise ConfigurationError(f"{_HOW}; got {dotted!r}")
    module_name, _, attribute = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import {module_name!r} named by ASGI_APPLICATION ({exc}): {_HOW}"
        ) from exc
    try:
        target = getattr(module, attribute)
    except AttributeError:
        raise ConfigurationError(
            f"module {module_name!r} has no {attribute!r} "
            f"(from ASGI_APPLICATION={dotted!r}): {_HOW}"
        ) from None
    return as_application(target)


def get_default_application() -> ASGIApp:
    """Import and return the application named by ``settings.ASGI_APPLICATION`` (Channels' name).

    Raises:
        ConfigurationError: the setting is missing or does not name an importable object.
    """
    return load_application(required=True)
