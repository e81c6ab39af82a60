"""The status page lists adapters' own metrics (the ax25 adapter's, here) in headless Chromium."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.test_web_pages import browser, screenshot, wait  # noqa: F401 (fixture)
from tests.integration.web.server import WebServer

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def web_and_ax25() -> Iterator[WebServer]:
    # The ax25 adapter with a TNC that does not answer: it keeps reconnecting, and its metrics
    # are in the web adapter's process.
    server = WebServer(
        "ax25",
        AX25_TNC="tcp://127.0.0.1:1",
        AX25_CALLSIGN="BOT-1",
        AX25_STATE_DIR=tempfile.mkdtemp(prefix="ax25-state-"),
    )
    yield server
    server.stop()


def test_status_page_shows_ax25_details(web_and_ax25: WebServer, browser: WebDriver) -> None:  # noqa: F811
    browser.get(web_and_ax25.http + "/status")
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '[data-adapter="ax25"] .pill.up'))
    )
    row = wait(browser).until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, '#details tr[data-detail="ax25.tnc_connected"]')
        )
    )
    assert row.text.split() == ["ax25", "tnc_connected", "0"]
    screenshot(browser, "status-details")
