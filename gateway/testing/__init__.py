"""Drive ASGI applications in-process from tests, as with ``channels.testing``.

``WebsocketCommunicator``, ``HttpCommunicator`` and ``TelegramCommunicator`` build a full
scope for one connection (or chat) and let the test play the client;
``ApplicationCommunicator`` does the same for any scope type. When the application raises,
the awaiting test call raises that exception at once.
"""

from gateway.testing.application import ApplicationCommunicator
from gateway.testing.http import HttpCommunicator
from gateway.testing.telegram import TelegramCommunicator
from gateway.testing.websocket import WebsocketCommunicator

__all__ = [
    "ApplicationCommunicator",
    "HttpCommunicator",
    "TelegramCommunicator",
    "WebsocketCommunicator",
]
