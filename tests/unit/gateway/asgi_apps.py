"""Tiny raw ASGI applications for router and middleware tests."""

from __future__ import annotations

from typing import Any


async def scope_echo(scope: Any, receive: Any, send: Any) -> None:
    """On the first event, send back the scope the application was given."""
    await receive()
    await send({"type": "echo.scope", "scope": dict(scope)})


def named_echo(name: str) -> Any:
    """A scope_echo that also says which route ran."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "echo.scope", "name": name, "scope": dict(scope)})

    return app


class EchoConsumer:
    """A class with an ``as_asgi`` classmethod, the way routers recognise a consumer class."""

    instances = 0

    @classmethod
    def as_asgi(cls) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            cls.instances += 1
            await receive()
            await send({"type": "echo.scope", "name": cls.__name__, "scope": dict(scope)})

        return app
