"""MQTT_URL and MQTT_* settings parsing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from adapters.mqtt.config import MQTT_V5, MQTT_V311, MqttConfig, parse_url
from gateway.exceptions import ConfigurationError


def test_plain_url_defaults() -> None:
    config = parse_url("mqtt://broker.example")
    assert (config.host, config.port, config.tls, config.protocol) == (
        "broker.example",
        1883,
        None,
        MQTT_V5,
    )
    assert config.persistent and not config.clean_start
    assert config.broker == "broker.example:1883"


def test_credentials_client_id_and_options() -> None:
    config = parse_url(
        "mqtt://us%40er:p%3Ass@127.0.0.1:1884/?client_id=gw-1&protocol=3.1.1&keepalive=30"
        "&clean_start=1&session_expiry=0&shared_group=workers&receive_maximum=50&subscribe_qos=2"
    )
    assert (config.username, config.password) == ("us@er", "p:ss")
    assert (config.port, config.client_id, config.protocol) == (1884, "gw-1", MQTT_V311)
    assert (config.keepalive, config.clean_start, config.session_expiry) == (30, True, 0)
    assert (config.shared_group, config.receive_maximum) == ("workers", 50)
    assert config.subscribe_qos == 2
    assert not config.persistent


def test_mqtts_url_takes_tls_options() -> None:
    config = parse_url("mqtts://host?ca_certs=/etc/ca.pem&insecure=1")
    assert config.port == 8883
    assert config.tls is not None
    assert (config.tls.ca_certs, config.tls.insecure) == ("/etc/ca.pem", True)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "MQTT_URL is not set"),
        ("http://host", "must start with mqtt://"),
        ("mqtt://", "no host"),
        ("mqtt://host:99999", "invalid port"),
        ("mqtt://host?colour=red", "unknown option"),
        ("mqtt://host?protocol=4.2", "use 5 or 3.1.1"),
        ("mqtt://host?receive_maximum=0", "between 1 and 65535"),
        ("mqtt://host?shared_group=a/b", "must not contain"),
        ("mqtt://host?clean_start=maybe", "expected 0 or 1"),
    ],
)
def test_bad_urls_say_what_to_fix(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_url(url)


def test_settings_fill_in_and_url_wins() -> None:
    settings = SimpleNamespace(
        MQTT_URL="mqtt://h?shared_group=fromurl",
        MQTT_SHARED_GROUP="fromsettings",
        MQTT_SUBSCRIPTIONS=["a/#", "b/+"],
        MQTT_IDLE_TIMEOUT="0",
        MQTT_MAX_PAYLOAD=10,
        MQTT_OFFLINE_PAYLOADS="offline,0",
        MQTT_CLIENT_ID="gw-{hostname}",
    )
    config = MqttConfig.from_settings(settings)
    assert config.shared_group == "fromurl"
    assert config.subscriptions == ("a/#", "b/+")
    assert config.idle_timeout is None
    assert config.max_payload == 10
    assert config.offline_payloads == (b"offline", b"0")
    assert config.client_id == "gw-{hostname}"


def test_bad_subscription_setting() -> None:
    settings = SimpleNamespace(MQTT_URL="mqtt://h", MQTT_SUBSCRIPTIONS=["a/#/b"])
    with pytest.raises(ConfigurationError, match="# must be"):
        MqttConfig.from_settings(settings)
