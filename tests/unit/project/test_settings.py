"""project/settings.py read under the environments a deployment gives it."""

from __future__ import annotations

import os
import runpy
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.unit.project.environment import environment_reads

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = ROOT / "project" / "settings.py"
HEROKU_HOST = "gw-test-1a2b3c4d5e6f.herokuapp.com"
# Every variable the settings read: none leaks in from the environment the tests run in.
READ_HERE = sorted(environment_reads(SETTINGS.read_text()))


def production(**extra: str) -> dict[str, str]:
    """What Heroku gives a dyno of this app: add-on URLs, app.json's values, dyno metadata."""
    return {
        "SECRET_KEY": "k" * 64,
        "DATABASE_URL": "postgres://user:secret@db.example:5432/gateway",
        "REDIS_URL": "rediss://:secret@redis.example:6380",
        "REDIS_SSL_CERT_REQS": "none",
        "HEROKU_APP_DEFAULT_DOMAIN_NAME": HEROKU_HOST,
        "DYNO": "web.1",
        **extra,
    }


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """Run the settings module with exactly these deployment variables; return its names."""
    for name in READ_HERE:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_production_security_defaults_when_debug_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, **production())
    assert settings["DEBUG"] is False
    assert settings["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] == 31536000
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert settings["SECURE_HSTS_PRELOAD"] is True
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True


def test_each_security_default_is_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(
        monkeypatch,
        **production(
            SECURE_SSL_REDIRECT="0",
            SECURE_HSTS_SECONDS="0",
            SECURE_HSTS_INCLUDE_SUBDOMAINS="off",
            SECURE_HSTS_PRELOAD="no",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="0",
        ),
    )
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    assert not settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert not settings["SECURE_HSTS_PRELOAD"]
    assert not settings["SESSION_COOKIE_SECURE"]
    assert not settings["CSRF_COOKIE_SECURE"]


def test_debug_keeps_plain_http_for_local_development(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, DEBUG="1")
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]


def test_the_apps_own_heroku_host_and_nothing_wider(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, **production())
    assert settings["ALLOWED_HOSTS"] == [HEROKU_HOST]
    assert settings["CSRF_TRUSTED_ORIGINS"] == [f"https://{HEROKU_HOST}"]

    custom = load(
        monkeypatch,
        **production(
            ALLOWED_HOSTS="chat.example.org", CSRF_TRUSTED_ORIGINS="https://chat.example.org"
        ),
    )
    assert custom["ALLOWED_HOSTS"] == ["chat.example.org", HEROKU_HOST]
    assert custom["CSRF_TRUSTED_ORIGINS"] == ["https://chat.example.org", f"https://{HEROKU_HOST}"]


def test_no_host_at_all_without_dyno_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    env = production()
    del env["HEROKU_APP_DEFAULT_DOMAIN_NAME"]
    settings = load(monkeypatch, **env)
    assert settings["ALLOWED_HOSTS"] == []  # check --deploy says so (security.W020)


def test_every_heroku_app_as_allowed_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="every Heroku app") as refused:
        load(monkeypatch, **production(ALLOWED_HOSTS=".herokuapp.com"))
    assert "runtime-dyno-metadata" in str(refused.value)


def test_postgres_is_pooled_with_a_connection_check(monkeypatch: pytest.MonkeyPatch) -> None:
    database = load(monkeypatch, **production())["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["CONN_MAX_AGE"] == 0  # Django: no persistent connections under ASGI
    assert database["CONN_HEALTH_CHECKS"] is True  # Django passes it on as the pool's check
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 4, "timeout": 10}


def test_persistent_connections_instead_of_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    database = load(monkeypatch, **production(DATABASE_POOL="0", CONN_MAX_AGE="60"))["DATABASES"]
    assert database["default"]["CONN_MAX_AGE"] == 60
    assert database["default"]["CONN_HEALTH_CHECKS"] is True
    assert "pool" not in database["default"].get("OPTIONS", {})


def test_pool_and_persistent_connections_together_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE and DATABASE_POOL"):
        load(monkeypatch, **production(CONN_MAX_AGE="600"))


def test_a_bad_number_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE='ten' is not a whole number"):
        load(monkeypatch, **production(CONN_MAX_AGE="ten"))


def test_celery_speaks_tls_to_rediss_with_the_layers_certificate_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load(monkeypatch, **production())
    assert settings["CELERY_BROKER_URL"] == "rediss://:secret@redis.example:6380"
    assert settings["CELERY_BROKER_USE_SSL"] == {"ssl_cert_reqs": ssl.CERT_NONE}
    assert settings["CHANNEL_LAYERS"]["default"]["CONFIG"]["ssl_cert_reqs"] == "none"
    assert settings["CELERY_WORKER_CONCURRENCY"] == 2

    assert settings["CELERY_REDIS_BACKEND_USE_SSL"] is None  # no result backend

    plain = load(monkeypatch, **production(REDIS_URL="redis://127.0.0.1:6379/0"))
    assert plain["CELERY_BROKER_USE_SSL"] is False
    results = load(monkeypatch, **production(CELERY_RESULT_BACKEND="rediss://:s@r.example:6380"))
    assert results["CELERY_REDIS_BACKEND_USE_SSL"] == {"ssl_cert_reqs": ssl.CERT_NONE}


def test_redis_key_prefix_separates_the_layer_and_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, **production(REDIS_KEY_PREFIX="staging:"))
    assert settings["CHANNEL_LAYERS"]["default"]["CONFIG"]["prefix"] == "staging:asgi"
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"global_keyprefix": "staging:"}


def test_unknown_certificate_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="use none, optional or required"):
        load(monkeypatch, **production(REDIS_SSL_CERT_REQS="maybe"))


def test_mqtt_client_id_follows_the_dyno_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, **production(DYNO="mqtt.1"))["MQTT_CLIENT_ID"] == "gateway-mqtt-1"
    explicit = load(monkeypatch, **production(DYNO="mqtt.1", MQTT_CLIENT_ID="mine"))
    assert explicit["MQTT_CLIENT_ID"] == "mine"
    no_dyno = production()
    del no_dyno["DYNO"]
    assert load(monkeypatch, **no_dyno)["MQTT_CLIENT_ID"] is None  # host-and-slot default


def test_check_deploy_is_clean_in_a_production_environment() -> None:
    env = {k: v for k, v in os.environ.items() if k not in READ_HERE and k != "SECRET_KEY"}
    env |= production(SECRET_KEY="production-like-" + "x7Q" * 20, METRICS_TOKEN="scrape-me")
    env["DJANGO_SETTINGS_MODULE"] = "project.settings"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
