"""The webhook ASGI app: secret -> 403, not an update -> 400, oversized -> 413, stored -> 200."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.telegram.webhook import TelegramWebhook, mount_webhook
from gateway.testing import HttpCommunicator

SECRET = "s3cret_token"
UPDATE = {
    "update_id": 7,
    "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"},
}


class Store:
    """Stands in for the database insert: remembers update ids, counts new ones."""

    def __init__(self, fail: bool = False) -> None:
        self.ids: list[int] = []
        self.fail = fail

    def __call__(self, updates: list[dict[str, Any]]) -> int:
        if self.fail:
            raise ConnectionError("database down")
        new = [u["update_id"] for u in updates if u["update_id"] not in self.ids]
        self.ids += new
        return len(new)


async def post(
    app: Any, body: bytes, secret: str | None = SECRET, method: str = "POST", path: str = "/tg/"
) -> tuple[int, bytes]:
    headers = [(b"content-type", b"application/json")]
    if secret is not None:
        headers.append((b"x-telegram-bot-api-secret-token", secret.encode()))
    communicator = HttpCommunicator(app, method, path, body=body, headers=headers)
    response = await communicator.get_response()
    return response["status"], response["body"]


async def test_update_is_stored_before_200_and_a_retry_is_not_stored_twice() -> None:
    store = Store()
    app = TelegramWebhook(SECRET, store=store)
    assert (await post(app, json.dumps(UPDATE).encode()))[0] == 200
    assert (await post(app, json.dumps(UPDATE).encode()))[0] == 200  # Telegram's retry
    assert store.ids == [7]


@pytest.mark.parametrize("secret", [None, "", "wrong"])
async def test_wrong_or_missing_secret_is_403(secret: str | None) -> None:
    store = Store()
    status, _ = await post(
        TelegramWebhook(SECRET, store=store), json.dumps(UPDATE).encode(), secret
    )
    assert status == 403 and store.ids == []


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}', b""]
)
async def test_body_that_is_not_an_update_is_400(body: bytes) -> None:
    store = Store()
    status, text = await post(TelegramWebhook(SECRET, store=store), body)
    assert status == 400 and b"not a Telegram update" in text and store.ids == []


async def test_oversized_body_is_413() -> None:
    store = Store()
    big = json.dumps({**UPDATE, "padding": "x" * 2000}).encode()
    status, _ = await post(TelegramWebhook(SECRET, max_body=1000, store=store), big)
    assert status == 413 and store.ids == []


async def test_get_is_405_and_database_down_is_503() -> None:
    assert (await post(TelegramWebhook(SECRET, store=Store()), b"", method="GET"))[0] == 405
    status, _ = await post(
        TelegramWebhook(SECRET, store=Store(fail=True)), json.dumps(UPDATE).encode()
    )
    assert status == 503  # Telegram retries later; nothing was confirmed


class Settings:
    TELEGRAM_BOT_TOKEN = "123:" + "a" * 35
    TELEGRAM_MODE = "webhook"
    TELEGRAM_WEBHOOK_URL = "https://example.org/tg/"
    TELEGRAM_WEBHOOK_SECRET = SECRET


async def test_mounted_only_on_its_path_in_webhook_mode() -> None:
    async def django(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    assert mount_webhook(django, object()) is django  # no token: nothing mounted
    polling = type("Polling", (Settings,), {"TELEGRAM_MODE": "polling"})
    assert mount_webhook(django, polling) is django
    app = mount_webhook(django, Settings)
    assert (await post(app, b"{}", path="/other/"))[0] == 204
    assert (await post(app, b"{}", secret="bad"))[0] == 403
