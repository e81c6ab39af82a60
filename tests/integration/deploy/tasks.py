"""A Celery task the deployment tests give a worker (`celery ... -I <this module>`).

It answers through Redis and reads the database, so one round trip proves the worker consumes
from the broker, reaches Postgres and runs code, not only that it started.
"""

from __future__ import annotations

import redis
from celery import shared_task
from django.conf import settings
from django.db.migrations.recorder import MigrationRecorder


@shared_task(name="tests.deploy.report_migrations")
def report_migrations(reply_to: str, token: str) -> None:
    """Push ``"<token> <applied migrations>"`` onto the Redis list ``reply_to``."""
    applied = MigrationRecorder.Migration.objects.count()
    tls = {"ssl_cert_reqs": settings.REDIS_SSL_CERT_REQS}
    client = redis.Redis.from_url(
        settings.REDIS_URL, **(tls if settings.REDIS_URL.startswith("rediss://") else {})
    )
    try:
        client.rpush(reply_to, f"{token} {applied}")
    finally:
        client.close()
