"""The protocol-neutral half of MQTT: what applications and consumers use, without the adapter.

- :mod:`gateway.mqtt.topics`: topic names, filters and route patterns with ``{name}`` captures.
- :mod:`gateway.mqtt.routing`: :class:`TopicRouter` and :func:`topic` (the MQTT ``URLRouter``).
- :mod:`gateway.mqtt.consumer`: :class:`AsyncMqttConsumer`.
- :mod:`gateway.mqtt.events`: the ``mqtt.*`` event TypedDicts.

The adapter that speaks to a broker lives in ``adapters/mqtt/`` and imports these; nothing here
imports it.
"""
