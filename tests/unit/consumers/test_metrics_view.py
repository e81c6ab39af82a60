"""/metrics: open in development, behind METRICS_TOKEN or off in production."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.http import Http404
from django.test import RequestFactory

from consumers.views import metrics

TOKEN = "s3cret-scrape-token"


async def scrape(authorization: str | None = None) -> tuple[int, str, dict[str, str]]:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await metrics(RequestFactory().get("/metrics", headers=headers))
    return response.status_code, response.content.decode(), dict(response.headers)


async def test_open_while_debug_is_on_and_no_token_is_set(settings: Any) -> None:
    settings.DEBUG, settings.METRICS_TOKEN = True, ""
    status, body, headers = await scrape()
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert "gateway_" in body


async def test_off_in_production_without_a_token(settings: Any) -> None:
    settings.DEBUG, settings.METRICS_TOKEN = False, ""
    with pytest.raises(Http404, match="set METRICS_TOKEN"):
        await scrape(f"Bearer {TOKEN}")


@pytest.mark.parametrize("debug", [False, True])
async def test_the_right_bearer_token_gets_the_metrics(settings: Any, debug: bool) -> None:
    settings.DEBUG, settings.METRICS_TOKEN = debug, TOKEN
    status, body, _ = await scrape(f"Bearer {TOKEN}")
    assert status == 200
    assert "gateway_" in body
    assert (await scrape(f"bearer {TOKEN}"))[0] == 200  # the scheme is case-insensitive


@pytest.mark.parametrize("debug", [False, True])
async def test_no_token_gets_401_with_what_to_send(settings: Any, debug: bool) -> None:
    settings.DEBUG, settings.METRICS_TOKEN = debug, TOKEN
    status, body, headers = await scrape()
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "Authorization: Bearer <METRICS_TOKEN>" in body
    assert "gateway_" not in body


WRONG = [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"]


@pytest.mark.parametrize("authorization", WRONG)
async def test_a_wrong_token_is_refused_and_logged(
    settings: Any, caplog: pytest.LogCaptureFixture, authorization: str
) -> None:
    settings.DEBUG, settings.METRICS_TOKEN = False, TOKEN
    with caplog.at_level(logging.WARNING, logger="consumers.views"):
        status, body, _ = await scrape(authorization)
    assert status == 401
    assert "gateway_" not in body
    assert "bearer token does not match" in caplog.text
    assert TOKEN not in caplog.text
