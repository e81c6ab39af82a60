"""The seed's first routing example: a URLRouter of two consumers, with url().

Only the import lines differ from the seed document.
"""

from __future__ import annotations

import pytest

from gateway.exceptions import NoRouteFound
from gateway.routing import URLRouter, url
from gateway.testing import WebsocketCommunicator
from tests.unit.gateway.compat.routing_consumers import AdminChatConsumer, PublicChatConsumer

# --- from the seed document, unchanged -----------------------------------------------------
# fmt: off

application = URLRouter([
    url(r"^chat/admin/$", AdminChatConsumer),
    url(r"^chat/$", PublicChatConsumer),
])

# fmt: on

# --- tests ---------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("path", "greeting"), [("/chat/admin/", "admin chat"), ("/chat/", "public chat")]
)
async def test_each_url_reaches_its_consumer(path: str, greeting: str) -> None:
    communicator = WebsocketCommunicator(application, path)
    assert await communicator.connect() == (True, None)
    assert await communicator.receive_from() == greeting
    await communicator.disconnect()


async def test_other_paths_have_no_route() -> None:
    communicator = WebsocketCommunicator(application, "/chat/admin/extra/")
    with pytest.raises(NoRouteFound, match="/chat/admin/extra/"):
        await communicator.connect()
