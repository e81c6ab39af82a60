"""The web adapter: HTTP and WebSocket on one port (uvicorn), named in GATEWAY_ADAPTERS as
``adapters.web.WebAdapter``. See docs/web.md."""

from adapters.web.adapter import WebAdapter

__all__ = ["WebAdapter"]
