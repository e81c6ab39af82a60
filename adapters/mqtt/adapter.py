"""The MQTT adapter: ``manage.py runadapter mqtt``.

Connects to the broker at MQTT_URL, subscribes to the filters of the application's
TopicRouter (plus MQTT_SUBSCRIPTIONS), and runs one application instance per device on the
shared runtime. See docs/mqtt.md for the settings and docs/specs/mqtt.md for the scope.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from adapters.mqtt.config import MqttConfig
from adapters.mqtt.dispatch import Dispatcher
from adapters.mqtt.driver import MqttDriver
from adapters.mqtt.identity import choose_client_id
from gateway.exceptions import AdapterNotConfigured
from gateway.mqtt.routing import find_topic_router
from gateway.server import Adapter, ApplicationRuntime, register_adapter

logger = logging.getLogger(__name__)


@register_adapter
class MqttAdapter(Adapter):
    """Serves ``mqtt`` scopes from an MQTT broker.

    Args:
        config: the parsed configuration.
        state_dir: where client-id slot locks live (MQTT_STATE_DIR; default the temp dir).
        shutdown_timeout: how long scopes get to finish on shutdown.
    """

    name = "mqtt"

    def __init__(
        self, config: MqttConfig, state_dir: str | None = None, shutdown_timeout: float = 25.0
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self.shutdown_timeout = shutdown_timeout
        #: The connection while serving (tests and status pages read ``driver.ready``).
        self.driver: MqttDriver | None = None

    @classmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any]) -> MqttAdapter:
        """Build from MQTT_URL and the MQTT_* settings.

        Raises:
            AdapterNotConfigured: MQTT_URL is not set.
            ConfigurationError: a setting is invalid.
        """
        if not getattr(settings, "MQTT_URL", ""):
            raise AdapterNotConfigured(
                "set MQTT_URL (e.g. mqtt://127.0.0.1:1883) to enable the mqtt adapter"
            )
        return cls(
            MqttConfig.from_settings(settings),
            state_dir=getattr(settings, "MQTT_STATE_DIR", None) or None,
            shutdown_timeout=float(getattr(settings, "GATEWAY_SHUTDOWN_TIMEOUT", 25.0)),
        )

    def describe(self) -> str:
        """The broker, the protocol version and the shared-subscription group."""
        group = f", shared group {self.config.shared_group!r}" if self.config.shared_group else ""
        return f"MQTT {self.config.protocol} broker {self.config.broker}{group}"

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        """Connect, subscribe and dispatch until ``stop`` is set; then finish the scopes
        (their last acknowledgements go out) and disconnect."""
        config = self.config
        identity = choose_client_id(config, self.state_dir)
        router = find_topic_router(application)
        if router is None:
            logger.warning(
                "no TopicRouter under 'mqtt' in the application: one scope per topic, "
                "subscribed to MQTT_SUBSCRIPTIONS only"
            )
        runtime = ApplicationRuntime(
            application,
            "mqtt",
            queue_size=config.queue_size,
            max_in_flight=config.receive_maximum,
            idle_timeout=config.idle_timeout,
            shutdown_timeout=self.shutdown_timeout,
        )
        filters = (router.filters if router is not None else []) + list(config.subscriptions)
        driver = self.driver = MqttDriver(config, identity.client_id, filters)
        dispatcher = Dispatcher(runtime, router, config, identity.client_id, driver)
        driver.on_message = dispatcher.on_message
        driver.on_connection_lost = dispatcher.connection_lost
        driver.on_release = dispatcher.released
        driver.on_session_lost = dispatcher.session_lost
        driver.extra_subscriptions = lambda: dispatcher.subscriptions
        try:
            await driver.run(stop)
        finally:
            # No new messages; let the scopes finish what they have so it gets acknowledged.
            driver.pause_reading()
            await dispatcher.close()
            await driver.close()
            identity.release()
