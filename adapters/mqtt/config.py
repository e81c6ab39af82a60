"""MQTT adapter configuration: MQTT_URL and the MQTT_* settings, parsed and checked (pure).

``MQTT_URL`` carries the broker and the connection options::

    mqtt://[user[:password]@]host[:port][?client_id=ID&protocol=5|3.1.1&keepalive=60
                                        &clean_start=0|1&session_expiry=SECONDS]
    mqtts://...   TLS (default port 8883), with ca_certs=/path, certfile=, keyfile=, insecure=1

The other ``MQTT_*`` settings (see :meth:`MqttConfig.from_settings`) tune subscriptions, the
shared-subscription group, idle scopes, payload limits and in-flight bounds. A query parameter
wins over the setting of the same meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from gateway.exceptions import ConfigurationError, LocalProtocolError
from gateway.mqtt.topics import validate_topic_filter

MQTT_V311 = "3.1.1"
MQTT_V5 = "5"
_PROTOCOLS = {"3.1.1": MQTT_V311, "311": MQTT_V311, "4": MQTT_V311, "5": MQTT_V5, "5.0": MQTT_V5}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# MQTT 3.1.1 3.1.3.1 allows servers to limit client ids to 23 characters; Mosquitto and every
# MQTT 5 broker accept longer ones, so we only refuse what no broker takes.
MAX_CLIENT_ID_BYTES = 65535


@dataclass(frozen=True)
class TlsOptions:
    """TLS settings for mqtts:// (None fields use the system defaults)."""

    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MqttConfig:
    """Everything the MQTT adapter needs to connect, subscribe and bound its work.

    Attributes:
        host, port: the broker.
        username, password: credentials from the URL's user-info, if any.
        tls: TLS options for mqtts://, else None.
        client_id: explicit client id (URL ``client_id`` or MQTT_CLIENT_ID); None lets the
            adapter derive one (see docs/mqtt.md, "client ids").
        protocol: "5" (default) or "3.1.1".
        keepalive: seconds between PINGREQs.
        clean_start: False (default) keeps a persistent session so the broker redelivers
            unacknowledged QoS 1/2 messages after a crash.
        session_expiry: seconds the broker keeps the session after a disconnect (MQTT 5).
        subscriptions: extra topic filters to subscribe to on top of the router's.
        subscribe_qos: the maximum QoS asked for in each SUBSCRIBE.
        shared_group: subscribe as ``$share/GROUP/filter`` so processes split the load.
        idle_timeout: seconds without messages before a device scope is closed (None: never).
        max_payload: payloads larger than this many bytes are dropped (logged, counted).
        receive_maximum: messages received but not handled yet, at most (MQTT 5 Receive
            Maximum; with 3.1.1 the adapter stops reading the socket past it).
        queue_size: per-device input queue bound in the runtime.
        offline_payloads: status payloads that mean "device offline" and close its scope.
        reconnect_min, reconnect_max: the reconnect backoff range in seconds.
        url_options: the options MQTT_URL's query set (they win over settings).
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: TlsOptions | None = None
    client_id: str | None = None
    protocol: str = MQTT_V5
    keepalive: int = 60
    clean_start: bool = False
    session_expiry: int = 3600
    subscriptions: tuple[str, ...] = ()
    subscribe_qos: int = 1
    shared_group: str | None = None
    idle_timeout: float | None = 300.0
    max_payload: int = 256 * 1024
    receive_maximum: int = 1000
    queue_size: int = 100
    offline_payloads: tuple[bytes, ...] = (b"offline",)
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    url_options: tuple[str, ...] = ()

    @property
    def broker(self) -> str:
        """``host:port`` for logs and the scope."""
        return f"{self.host}:{self.port}"

    @property
    def persistent(self) -> bool:
        """True when the broker keeps our session (and needs a stable client id)."""
        return not self.clean_start and (self.protocol == MQTT_V311 or self.session_expiry > 0)

    @classmethod
    def from_settings(cls, settings: Any) -> MqttConfig:
        """Build from Django settings (MQTT_URL plus the optional MQTT_* names).

        Raises:
            ConfigurationError: a value is invalid; the message names the setting.
        """
        config = parse_url(getattr(settings, "MQTT_URL", "") or "")
        overrides: dict[str, Any] = {}
        names = {
            "MQTT_SUBSCRIPTIONS": "subscriptions",
            "MQTT_SUBSCRIBE_QOS": "subscribe_qos",
            "MQTT_SHARED_GROUP": "shared_group",
            "MQTT_IDLE_TIMEOUT": "idle_timeout",
            "MQTT_MAX_PAYLOAD": "max_payload",
            "MQTT_RECEIVE_MAXIMUM": "receive_maximum",
            "MQTT_QUEUE_SIZE": "queue_size",
            "MQTT_OFFLINE_PAYLOADS": "offline_payloads",
            "MQTT_SESSION_EXPIRY": "session_expiry",
            "MQTT_KEEPALIVE": "keepalive",
        }
        for setting, attribute in names.items():
            value = getattr(settings, setting, None)
            if value is not None and attribute not in config.url_options:
                overrides[attribute] = value
        client_id = getattr(settings, "MQTT_CLIENT_ID", None)
        if client_id and config.client_id is None:
            overrides["client_id"] = client_id
        return config.with_options(**overrides)

    def with_options(self, **options: Any) -> MqttConfig:
        """A copy with some options changed, each checked like in :func:`parse_url`."""
        cleaned: dict[str, Any] = {}
        for name, value in options.items():
            cleaned[name] = _coerce(name, value)
        config = replace(self, **cleaned)
        _check(config)
        return config


def _coerce(name: str, value: Any) -> Any:
    """Turn a setting or query value into the type MqttConfig holds."""
    try:
        if name in {"subscriptions"}:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(validate_topic_filter(item.strip()) for item in items if item.strip())
        if name == "offline_payloads":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(item.encode() if isinstance(item, str) else bytes(item) for item in items)
        if name in {"subscribe_qos", "max_payload", "receive_maximum", "queue_size", "keepalive"}:
            return int(value)
        if name in {"session_expiry"}:
            return int(value)
        if name == "idle_timeout":
            if value in (None, "", "none", "None", 0, "0"):
                return None
            return float(value)
        if name in {"reconnect_min", "reconnect_max"}:
            return float(value)
        if name == "clean_start":
            return _bool(value, name)
        if name == "protocol":
            if str(value) not in _PROTOCOLS:
                raise ValueError(f"use 5 or 3.1.1, got {value!r}")
            return _PROTOCOLS[str(value)]
        if name in {"shared_group", "client_id"}:
            return str(value) or None
    except (TypeError, ValueError, LocalProtocolError) as exc:
        raise ConfigurationError(f"invalid MQTT {name}: {exc}") from None
    return value


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected 0 or 1, got {value!r}")


def _check(config: MqttConfig) -> None:
    if not 0 <= config.subscribe_qos <= 2:
        raise ConfigurationError(
            f"MQTT_SUBSCRIBE_QOS must be 0, 1 or 2, got {config.subscribe_qos}"
        )
    # MQTT 5 3.1.2.11.3: Receive Maximum is 1..65535.
    if not 1 <= config.receive_maximum <= 65535:
        raise ConfigurationError(
            f"MQTT_RECEIVE_MAXIMUM must be between 1 and 65535, got {config.receive_maximum}"
        )
    if config.max_payload < 0 or config.queue_size < 1 or config.keepalive < 0:
        raise ConfigurationError(
            "MQTT_MAX_PAYLOAD and MQTT_KEEPALIVE must be >= 0 and MQTT_QUEUE_SIZE >= 1"
        )
    if config.session_expiry < 0:
        raise ConfigurationError("MQTT_SESSION_EXPIRY must be >= 0 seconds")
    if config.shared_group is not None and any(c in config.shared_group for c in "/+#"):
        raise ConfigurationError(
            f"MQTT_SHARED_GROUP {config.shared_group!r} must not contain /, + or #"
        )
    if config.client_id is not None and len(config.client_id.encode()) > MAX_CLIENT_ID_BYTES:
        raise ConfigurationError("the MQTT client id is too long")


def parse_url(url: str) -> MqttConfig:
    """Parse MQTT_URL into a config (other options at their defaults).

    Raises:
        ConfigurationError: not an mqtt:// or mqtts:// URL, or a bad option; the message says
            what to write instead.
    """
    if not url:
        raise ConfigurationError("MQTT_URL is not set: set it to e.g. mqtt://127.0.0.1:1883")
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts", "tcp", "ssl"}:
        raise ConfigurationError(
            f"MQTT_URL must start with mqtt:// or mqtts://, got {parts.scheme or 'no scheme'}://"
        )
    secure = parts.scheme in {"mqtts", "ssl"}
    try:
        port = parts.port or (8883 if secure else 1883)
    except ValueError:
        raise ConfigurationError(f"MQTT_URL has an invalid port: {url!r}") from None
    if not parts.hostname:
        raise ConfigurationError(f"MQTT_URL has no host: {url!r}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    tls = None
    if secure:
        tls = TlsOptions(
            ca_certs=query.pop("ca_certs", None) or None,
            certfile=query.pop("certfile", None) or None,
            keyfile=query.pop("keyfile", None) or None,
            insecure=_coerce("clean_start", query.pop("insecure", "0")),
        )
    known = {
        "client_id",
        "protocol",
        "keepalive",
        "clean_start",
        "session_expiry",
        "shared_group",
        "receive_maximum",
        "subscribe_qos",
    }
    unknown = sorted(set(query) - known)
    if unknown:
        raise ConfigurationError(
            f"MQTT_URL has unknown option(s) {', '.join(unknown)}: use {', '.join(sorted(known))}"
        )
    base = MqttConfig(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        url_options=tuple(query),
    )
    return base.with_options(**query)
