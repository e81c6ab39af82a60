"""The Procfile's `worker` against a rediss:// broker with a self-signed certificate, as Heroku
Redis gives it: with REDIS_SSL_CERT_REQS=none it connects, is ready and runs tasks."""

from __future__ import annotations

import asyncio
import ssl
import uuid

import pytest
import redis.asyncio
from celery import Celery

from tests.integration.deploy.heroku import Dyno, dyno_environment, procfile, run_once

pytestmark = pytest.mark.integration


async def test_worker_over_rediss_with_a_self_signed_certificate(
    postgres_url: str, tls_redis_url: str
) -> None:
    processes = procfile()
    env = dyno_environment(
        DATABASE_URL=postgres_url,
        REDIS_URL=tls_redis_url,
        REDIS_SSL_CERT_REQS="none",
        SECRET_KEY=uuid.uuid4().hex * 2,
        CELERY_WORKER_CONCURRENCY="1",
    )
    status, output = await run_once("release", processes["release"], env)
    assert status == 0, output

    worker = await Dyno.start(
        "worker.1", [*processes["worker"], "-I", "tests.integration.deploy.tasks"], env
    )
    try:
        await worker.wait_for(" ready.")
        assert "rediss://" in worker.output
        assert "concurrency: 1 (prefork)" in worker.output  # CELERY_WORKER_CONCURRENCY

        client = redis.asyncio.Redis.from_url(
            tls_redis_url, ssl_cert_reqs="none", socket_timeout=60
        )
        sender = Celery(broker=tls_redis_url, broker_use_ssl={"ssl_cert_reqs": ssl.CERT_NONE})
        try:
            await asyncio.to_thread(
                sender.send_task, "tests.deploy.report_migrations", args=["reply", "over-tls"]
            )
            answer = await client.blpop(["reply"], timeout=30)
        finally:
            await client.aclose()
            sender.close()
        assert answer is not None, f"no answer from the worker:\n{worker.output}"
        assert answer[1].decode().startswith("over-tls ")

        status = await worker.sigterm()
        assert status == 0, worker.output
        assert "Traceback" not in worker.output
    finally:
        worker.kill()
        await worker.process.wait()
