"""The chat and status pages in headless Chromium (Debian's chromium and chromedriver)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import missing
from tests.integration.web.server import WebServer

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# Set WEB_SCREENSHOTS=/some/dir to keep a screenshot of each page (to look at, not to commit).
SCREENSHOTS = os.environ.get("WEB_SCREENSHOTS")


def find_chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        missing("chromium and chromedriver are missing: `make test` installs them (apt-get)")
    return browser, driver


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    web = WebServer()
    yield web
    web.stop()


@contextlib.contextmanager
def chromium() -> Iterator[WebDriver]:
    """Headless Chromium through chromedriver, with a profile of its own; quit at the end."""
    binary, driver_path = find_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1100,800",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, 15)


def join(driver: WebDriver, url: str, nick: str, room: str) -> None:
    driver.get(url)
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "conn-text"), "connected"))
    for field, value in (("nick", nick), ("room", room)):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    driver.find_element(By.ID, "join").click()
    wait(driver).until(ec.element_to_be_clickable((By.ID, "send")))


def screenshot(driver: WebDriver, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))
        size = driver.get_window_size()
        driver.set_window_size(390, 844)  # a phone
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"{name}-phone.png"))
        driver.set_window_size(size["width"], size["height"])


def test_a_message_sent_in_one_tab_appears_in_the_other(
    server: WebServer, browser: WebDriver
) -> None:
    room = f"lobby-{uuid.uuid4().hex[:6]}"
    join(browser, server.http + "/", "ana", room)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    join(browser, server.http + "/", "bob", room)
    second = browser.current_window_handle

    browser.switch_to.window(first)
    text = browser.find_element(By.ID, "text")
    text.send_keys("hello from the first tab")
    browser.find_element(By.ID, "send").click()

    browser.switch_to.window(second)
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, "messages"), "hello from the first tab")
    )
    item = browser.find_elements(By.CSS_SELECTOR, "#messages li:not(.notice)")[-1]
    assert item.find_element(By.CSS_SELECTOR, ".sender").text == "ana"
    assert item.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class") == "badge web"
    browser.find_element(By.ID, "text").send_keys("hi ana, bob here")
    browser.find_element(By.ID, "send").click()
    browser.switch_to.window(first)
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "messages"), "bob here"))
    screenshot(browser, "chat")


def test_the_status_page_shows_the_web_adapter_up(server: WebServer, browser: WebDriver) -> None:
    browser.get(server.http + "/status")
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '[data-adapter="web"] .pill.up'))
    )
    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '#protocols tr[data-protocol="http"]'))
    )
    assert "updated" in browser.find_element(By.ID, "updated").text
    screenshot(browser, "status")
