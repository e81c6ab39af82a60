"""manage.py runworker as a real process on the Redis layer: the seed's thumbnail example."""

from __future__ import annotations

import signal
import uuid

import pytest

from gateway.layers.redis import RedisChannelLayer
from tests.integration.commands.helpers import finish, start_manage, wait_for_line

pytestmark = pytest.mark.integration

THUMBNAILS = "myproject.thumbnail_notifications"


async def test_runworker_consumes_the_seed_message_from_redis(redis_url: str) -> None:
    prefix = f"test-runworker-{uuid.uuid4().hex[:12]}"
    process = await start_manage(
        "runworker",
        THUMBNAILS,
        DJANGO_SETTINGS_MODULE="tests.integration.commands.fake_settings",
        ASGI_APPLICATION="tests.integration.commands.worker_app.application",
        REDIS_URL=redis_url,
        TEST_LAYER_PREFIX=prefix,
    )
    seen: list[str] = []
    layer = RedisChannelLayer(hosts=[redis_url], prefix=prefix)
    try:
        await wait_for_line(process, "worker: listening on", seen)
        await layer.send(THUMBNAILS, {"id": 1})
        await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": 90902949})
        await wait_for_line(process, f"thumbnail 90902949 generated on {THUMBNAILS}", seen)
        process.send_signal(signal.SIGTERM)
        status = await finish(process, seen)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await layer.close()
    output = "".join(seen)
    assert status == 0, output
    assert "RedisChannelLayer" in output
    assert "without a 'type' key" in output
    assert "worker: stopped" in output
