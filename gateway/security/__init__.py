"""Security middleware: WebSocket origin checks (``gateway.security.websocket``)."""
