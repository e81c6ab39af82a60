"""/status, /status.json and /metrics need a staff login or METRICS_TOKEN when DEBUG is off; the
admin login is throttled (django-axes). Through Django's full middleware stack."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

TOKEN = "operator-token-123"
PAGES = ["/status", "/status.json", "/metrics"]


@pytest.fixture
def production(settings: Any) -> Any:
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.METRICS_TOKEN = TOKEN
    return settings


def test_anonymous_gets_a_login_redirect_or_401(production: Any) -> None:
    client = Client()
    page = client.get("/status")
    assert page.status_code == 302
    assert page["Location"] == "/admin/login/?next=%2Fstatus"
    for path in ("/status.json", "/metrics"):
        response = client.get(path)
        assert response.status_code == 401
        assert "log in as a staff user at /admin/" in response.content.decode()


def test_staff_session_and_token_get_in_others_do_not(production: Any) -> None:
    staff = User.objects.create_user("ops", password="x", is_staff=True)
    plain = User.objects.create_user("ana", password="x")
    client = Client()
    client.force_login(plain)
    assert [client.get(path).status_code for path in PAGES] == [302, 401, 401]
    client.force_login(staff)
    assert [client.get(path).status_code for path in PAGES] == [200, 200, 200]
    bearer = Client(headers={"Authorization": f"Bearer {TOKEN}"})
    assert [bearer.get(path).status_code for path in PAGES] == [200, 200, 200]


def test_a_wrong_token_is_refused_with_one_warning(
    production: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(headers={"Authorization": "Bearer nope"})
    with caplog.at_level(logging.WARNING, logger="consumers.access"):
        assert client.get("/status").status_code == 401  # a script: no redirect
    assert [r.getMessage() for r in caplog.records if r.name == "consumers.access"] == [
        "/status: refused a request whose bearer token does not match"
    ]


def test_open_in_development_without_a_token(settings: Any) -> None:
    settings.DEBUG, settings.METRICS_TOKEN = True, ""
    assert [Client().get(path).status_code for path in PAGES] == [200, 200, 200]


def test_admin_login_is_throttled_after_the_failure_limit(production: Any) -> None:
    production.AXES_FAILURE_LIMIT = 3
    User.objects.create_superuser("root", password="right-password")
    client = Client()

    def login(password: str) -> Any:
        return client.post("/admin/login/?next=/admin/", {"username": "root", "password": password})

    assert login("wrong").status_code == 200  # the form again, with its error
    assert login("wrong").status_code == 200
    locked = login("wrong")
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.content.decode()
    # Locked out: even the right password is refused until the cool-off ends.
    assert login("right-password").status_code == 429
