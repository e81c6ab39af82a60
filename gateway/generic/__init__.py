"""Generic consumers: WebSocket (``gateway.generic.websocket``) and HTTP (``gateway.generic.http``).

Import them from their modules, as in Channels:
``from gateway.generic.websocket import AsyncJsonWebsocketConsumer``.
"""
