"""Drive ASGI applications in-process from tests, as with ``channels.testing``.

``WebsocketCommunicator``, ``HttpCommunicator`` and ``TelegramCommunicator`` build a full
scope for one connection (or chat) and let the test play the client, ``Ax25Communicator`` plays
a radio station; ``ApplicationCommunicator`` does the same for any scope type. When the
application raises, the awaiting test call raises that exception at once.
"""

from gateway.testing.application import ApplicationCommunicator
from gateway.testing.ax25 import Ax25Communicator
from gateway.testing.http import HttpCommunicator
from gateway.testing.telegram import TelegramCommunicator
from gateway.testing.websocket import WebsocketCommunicator

__all__ = [
    "ApplicationCommunicator",
    "Ax25Communicator",
    "HttpCommunicator",
    "TelegramCommunicator",
    "WebsocketCommunicator",
]
