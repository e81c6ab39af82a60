"""The seed's third routing example: AuthMiddlewareStack around a URLRouter.

Only the import lines differ from the seed document.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from gateway.auth import AuthMiddlewareStack, login
from gateway.db import database_sync_to_async
from gateway.routing import ProtocolTypeRouter, URLRouter, url
from gateway.testing import WebsocketCommunicator
from tests.unit.gateway.auth_helpers import http_app, request, session_cookie
from tests.unit.gateway.compat import routing_consumers as consumers

# --- from the seed document, unchanged -----------------------------------------------------
# fmt: off

application = ProtocolTypeRouter({
    "websocket": AuthMiddlewareStack(
        URLRouter([
            url(r"^front(end)/$", consumers.AsyncChatConsumer),
        ])
    ),
})

# fmt: on

# --- tests ---------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_visitor_gets_anonymous_user_and_captured_group() -> None:
    communicator = WebsocketCommunicator(application, "/frontend/")
    assert (await communicator.connect())[0]
    assert await communicator.receive_from() == "end: hello AnonymousUser"
    await communicator.disconnect()


async def test_logged_in_visitor_is_the_scope_user() -> None:
    user = await database_sync_to_async(User.objects.create_user)("carol", password="pw-12345")

    async def do_login(scope: dict) -> None:
        await login(scope, user, backend="django.contrib.auth.backends.ModelBackend")

    cookie = session_cookie(await request(AuthMiddlewareStack(http_app(do_login))))
    communicator = WebsocketCommunicator(
        application, "/frontend/", headers=[(b"cookie", cookie.encode())]
    )
    assert (await communicator.connect())[0]
    assert await communicator.receive_from() == "end: hello carol"
    await communicator.send_to(text_data="hi")
    assert await communicator.receive_from() == "carol said hi"
    await communicator.disconnect()


async def test_path_without_the_group_has_no_route() -> None:
    communicator = WebsocketCommunicator(application, "/front/")
    with pytest.raises(ValueError, match="no route found"):
        await communicator.connect()
