"""The bot end to end, every part real (docs/bot.md, "End-to-end test").

A browser user (headless Chromium), Telegram users (the fake Bot API), MQTT chat users and
devices (paho, Mosquitto) and a packet station (Direwolf, connected mode) talk to one gateway
process on the Redis channel layer; /report is answered by the Procfile's Celery worker and
/watch alerts by its ``watch`` runworker, each a process of its own. The tests share the world
and run in file order: the last one stops the processes.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.browser.test_bot_page import say
from tests.browser.test_web_pages import join, wait
from tests.integration.bot.conftest import OPERATOR, OPERATOR_PASSWORD
from tests.integration.bot.world import DEADLINE, Device, MqttUser, TelegramUser, World
from tests.integration.telegram.conftest import until

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def unique(kind: str) -> str:
    return f"{kind}{uuid.uuid4().hex[:6]}"


def see_on_page(world: World, text: str) -> None:
    wait(world.browser).until(ec.text_to_be_present_in_element((By.ID, "messages"), text))


def test_one_room_across_web_telegram_mqtt_and_radio(world: World) -> None:
    room = unique("e2e")
    join(world.browser, world.gateway.http + "/", "ana", room)
    tg = TelegramUser(world.telegram, 7001, "tina")
    tg.say(f"/join {room}")
    tg.wait_for(f"You joined {room}")
    world.station.say(f"J {room}")
    world.station.wait_for(f"You joined {room}")
    device = MqttUser(world.mqtt_url, "max", room)
    try:
        device.say("hello from mqtt")  # the first message on chat/R/in puts max in the room
        said = {
            "web": "hello from the browser",
            "telegram": "hello from telegram",
            "radio": "hello from the radio",
        }
        say(world.browser, said["web"])
        tg.say(said["telegram"])
        world.station.say(said["radio"])

        # Each sees the other three.
        for text in ("hello from mqtt", said["telegram"], said["radio"]):
            see_on_page(world, text)
        tg.wait_for(f"[{room}] max@mqtt: hello from mqtt")
        tg.wait_for(f"[{room}] ana@web: {said['web']}")
        tg.wait_for(f"[{room}] N0CALL-7@radio: {said['radio']}")
        world.station.wait_for(f"[{room}] max@mqtt: hello from mqtt")
        world.station.wait_for(f"[{room}] ana@web: {said['web']}")
        world.station.wait_for(f"[{room}] tina@telegram: {said['telegram']}")
        device.wait_for(sender="ana", source="web", text=said["web"])
        device.wait_for(sender="tina", source="telegram", text=said["telegram"])
        device.wait_for(sender="N0CALL-7", source="radio", text=said["radio"])
        badges = {
            item.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class")
            for item in world.browser.find_elements(By.CSS_SELECTOR, "#messages li")
            if item.find_elements(By.CSS_SELECTOR, ".badge")
        }
        assert {"badge mqtt", "badge telegram", "badge radio"} <= badges, badges
    finally:
        device.close()


def test_report_from_the_celery_worker_on_web_telegram_and_radio(world: World) -> None:
    room = unique("rep")
    join(world.browser, world.gateway.http + "/", "ana", room)
    say(world.browser, "a message to report on")
    see_on_page(world, "a message to report on")
    title = f"Room {room}, last 1h: 1 messages"

    say(world.browser, f"/report {room} 1h")
    wait(world.browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#messages li.report img.chart"))
    )
    report = world.browser.find_elements(By.CSS_SELECTOR, "#messages li.report")[-1]
    assert title in report.text

    tg = TelegramUser(world.telegram, 7002, "rita")
    tg.say(f"/report {room} 1h")
    until(
        lambda: any(c.startswith(title) for c in tg.captions()),
        DEADLINE,
        "the report photo",
        lambda: str(tg.texts()),
    )

    world.station.say(f"/report {room} 1h")
    world.station.wait_for(title + "\r")
    # Worked by the worker process, three times, each answer sent to the asking channel.
    for protocol in ("web", "telegram", "ax25"):
        world.worker.wait_for(f"report for {room} ({protocol}) sent to")
    assert world.worker.output.count("Task bot.report[") >= 6  # received and succeeded


def test_set_is_refused_unlinked_and_reaches_the_device_after_link(world: World) -> None:
    device = Device(world.mqtt_url, unique("lamp"))
    try:
        device.report(led="red")
        until(lambda: known(world, device.device_id), DEADLINE, "the device stored")
        tg = TelegramUser(world.telegram, 7003, "olga")

        tg.say(f"/set {device.device_id} led green")
        tg.wait_for("Not allowed: /set needs an account")

        # The operator logs in on the web page, asks for a code there, and links Telegram.
        browser = world.browser
        browser.get(world.gateway.http + "/admin/login/?next=/")
        browser.find_element(By.NAME, "username").send_keys(OPERATOR)
        browser.find_element(By.NAME, "password").send_keys(OPERATOR_PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "[type=submit]").click()
        wait(browser).until(ec.url_to_be(world.gateway.http + "/"))
        join(browser, world.gateway.http + "/", "boss", unique("ops"))
        say(browser, "/link")
        see_on_page(world, "Your code: ")
        reply = browser.find_elements(By.CSS_SELECTOR, "#messages li.reply")[-1].text
        code = reply.split("Your code: ", 1)[1].split(".", 1)[0]
        tg.say(f"/link {code}")
        tg.wait_for(f"Linked: telegram:{tg.user_id} is now {OPERATOR}.")

        tg.say(f"/set {device.device_id} led green")
        tg.wait_for(f"Sent to {device.device_id}: led=green")
        until(lambda: device.commands == [{"led": "green"}], DEADLINE, "the command on MQTT")
        assert f'command {{"led":"green"}} from {OPERATOR}' in world.gateway.output
    finally:
        device.close()


def known(world: World, device_id: str) -> bool:
    """Whether the gateway stored the device (the status page's JSON lists it)."""
    with urllib.request.urlopen(world.gateway.http + "/status.json", timeout=DEADLINE) as answer:
        devices = json.load(answer)["devices"]
    return any(device["device_id"] == device_id for device in devices)


def test_watch_alerts_from_the_watch_worker_and_offline_and_back(world: World) -> None:
    device_id = unique("boiler")
    device = Device(world.mqtt_url, device_id)
    device.report(temp=20)
    tg = TelegramUser(world.telegram, 7004, "wendy")
    tg.say(f"/watch {device_id} temp > 80")
    tg.wait_for(f"Watching {device_id} temp > 80")

    device.report(temp=85)
    tg.wait_for(f"Alert: {device_id} temp=85 (> 80)")
    world.watch.wait_for(f"watch: 1 alert(s) for {device_id}")

    device.lose_connection()
    tg.wait_for(f"Alert: {device_id} went offline (its status says offline)")

    again = Device(world.mqtt_url, device_id)
    try:
        again.report(temp=21)
        tg.wait_for(f"Alert: {device_id} is back online")
        # Both alerts of readings came from the watch process.
        until(
            lambda: world.watch.output.count(f"watch: 1 alert(s) for {device_id}") == 2,
            DEADLINE,
            "the watch process logging the back-online alert",
            lambda: world.watch.output,
        )
    finally:
        again.close()


def test_every_process_exits_cleanly_on_sigterm(world: World) -> None:
    assert world.gateway.terminate() == 0, world.gateway.output
    assert "runadapter: stopped cleanly" in world.gateway.output
    # The radio link was closed from our side (DISC), as a shutdown should.
    world.station.wait_disconnected()
    for process in (world.watch, world.worker):
        assert process.terminate() == 0, process.output
    assert "worker: stopped" in world.watch.output
    for process in (world.gateway, world.watch, world.worker):
        assert "Traceback" not in process.output, process.output
