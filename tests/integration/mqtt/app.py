"""The application the adapter subprocesses serve: DeviceConsumer under a per-test root.

The root comes from MQTT_TEST_ROOT so that tests running at the same time against the same
broker never see each other's messages. Each row records the process id, to see how two
adapter processes split a shared subscription.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
get_asgi_application()

from consumers.devices import DeviceConsumer, record_message  # noqa: E402
from gateway.mqtt.routing import TopicRouter, topic  # noqa: E402
from gateway.routing import ProtocolTypeRouter  # noqa: E402

ROOT = os.environ.get("MQTT_TEST_ROOT", "test")


class PidDeviceConsumer(DeviceConsumer):
    """DeviceConsumer that stores ``<payload>|<pid>``."""

    async def message(self, event: dict[str, Any]) -> None:
        text = f"{event['text']}|{os.getpid()}"
        await record_message(self.device_id, event["topic"], text, event["qos"])


application = ProtocolTypeRouter(
    {"mqtt": TopicRouter([topic(ROOT + "/devices/{device_id}/#", PidDeviceConsumer)])}
)
