"""The bot on the chat and status pages in headless Chromium: history on join, who is online
per protocol, /help answered, scroll kept while reading history, device cards, labelled inputs,
a live log, and AA contrast of every text colour the pages use."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.test_web_pages import browser, join, screenshot, wait
from tests.integration.web.server import ROOT, WebServer

pytestmark = [pytest.mark.integration, pytest.mark.browser]
__all__ = ["browser"]  # a fixture, used by name


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    # Forty lines in a row would trip the flood controls, the bot's and the connection's
    # (both tested on their own elsewhere).
    web = WebServer(BOT_FLOOD_LIMIT="1000", BOT_FLOOD_SECONDS="1", CHAT_RATE_LIMIT="1000/1")
    yield web
    web.stop()


# WCAG 2.1 contrast of an element's text colour on the first opaque background behind it.
CONTRAST_JS = """
function rgb(s) {
  const m = s.match(/[\\d.]+/g).map(Number);
  return m.length > 3 ? m : m.concat([1]);
}
function lum(c) {
  const v = c.slice(0, 3).map((x) => {
    x /= 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function background(el) {
  for (; el; el = el.parentElement) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c[3] > 0.5) return c;
  }
  return [255, 255, 255, 1];
}
const out = [];
for (const el of document.querySelectorAll(arguments[0])) {
  if (!el.textContent.trim() || el.offsetParent === null) continue;
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
  out.push([el.className || el.tagName, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
}
return out;
"""


def say(driver: WebDriver, text: str) -> None:
    box = driver.find_element(By.ID, "text")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def test_history_who_commands_scroll_and_accessibility(
    server: WebServer, browser: WebDriver
) -> None:
    room = f"bot-{uuid.uuid4().hex[:6]}"
    join(browser, server.http + "/", "ana", room)
    for n in range(40):
        say(browser, f"line {n}")
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "messages"), "line 39"))
    first = browser.current_window_handle

    # A second reader joins: the history is there at once, and the who-list shows both.
    browser.switch_to.new_window("tab")
    join(browser, server.http + "/", "bob", room)
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "messages"), "line 39"))
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#messages li .text")]
    assert texts[:2] == ["line 0", "line 1"] and texts[-1] == "line 39"
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "who"), "ana, bob"))
    assert browser.find_element(By.CSS_SELECTOR, '#who li[data-protocol="web"]')

    # Reading history (scrolled to the top): a new message does not move the view.
    log = browser.find_element(By.ID, "messages")
    browser.execute_script("arguments[0].scrollTop = 0", log)
    second = browser.current_window_handle
    browser.switch_to.window(first)
    say(browser, "news while bob reads")
    browser.switch_to.window(second)
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "messages"), "news while bob"))
    assert browser.execute_script("return arguments[0].scrollTop", log) == 0
    # At the bottom, it follows.
    browser.execute_script("arguments[0].scrollTop = arguments[0].scrollHeight", log)
    browser.switch_to.window(first)
    say(browser, "and more")
    browser.switch_to.window(second)
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "messages"), "and more"))
    assert browser.execute_script(
        "const l = arguments[0]; return l.scrollHeight - l.scrollTop - l.clientHeight < 48", log
    )

    say(browser, "/help")
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "messages"), "/who - who is"))
    screenshot(browser, "bot-chat")

    # Accessibility: the log is a live region, every input has a label, AA contrast.
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    for field in browser.find_elements(By.CSS_SELECTOR, "input"):
        label = browser.execute_script("return arguments[0].labels.length", field)
        assert label >= 1, field.get_attribute("id")
    low = [
        (name, round(ratio, 2))
        for name, ratio in browser.execute_script(
            CONTRAST_JS, ".badge, .sender, .time, .text, .hint, .notice, .reply, button, label"
        )
        if ratio < 4.5
    ]
    assert low == []


def test_device_cards_on_the_status_page(server: WebServer, browser: WebDriver) -> None:
    device = f"dev-{uuid.uuid4().hex[:6]}"
    # Telemetry as the MQTT consumer stores it, written into the server's database.
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import time; from consumers.bot import store; "
            f"store.record_telemetry({device!r}, {{'temp': 21.5, 'hum': 40}}, time.time())",
        ],
        cwd=ROOT,
        env=server.env,
        check=True,
    )
    browser.get(server.http + "/status")
    card = f'#devices li[data-device="{device}"]'
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, card)))
    assert browser.find_element(By.CSS_SELECTOR, f"{card} .pill").text == "online"
    values = browser.find_element(By.CSS_SELECTOR, f'{card} dd[data-key="temp"]').text
    assert values.startswith("21.5 (")
    low = [
        (name, round(ratio, 2))
        for name, ratio in browser.execute_script(CONTRAST_JS, ".pill, dt, dd, h2, .hint, td, th")
        if ratio < 4.5
    ]
    assert low == []
    screenshot(browser, "bot-status")
