"""The ASGI types every module of the gateway uses: one definition, imported from here.

ASGI (https://asgi.readthedocs.io/) passes plain dicts; these aliases name them. A *scope*
describes one connection, chat, device or link; a *message* (an event in, or a message out) is
a dict with a ``"type"`` key such as ``"mqtt.message"``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

#: The scope of one application instance: ``{"type": "mqtt", ...}``.
Scope = MutableMapping[str, Any]
#: An event given to an application, or a message it sends: ``{"type": "a.b", ...}``.
Message = dict[str, Any]
#: The application's ``receive()``: the next event.
Receive = Callable[[], Awaitable[Message]]
#: The application's ``send(message)``.
Send = Callable[[Message], Awaitable[None]]
#: An ASGI 3 application: ``await application(scope, receive, send)``.
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]
