"""Deprecated: moved to :mod:`gateway.mqtt.topics` (old path kept until 0.2, with a warning)."""

from __future__ import annotations

from gateway.deprecation import moved

__getattr__ = moved(
    "adapters.mqtt.topics",
    "gateway.mqtt.topics",
    [
        "MAX_TOPIC_BYTES",
        "SHARE_PREFIX",
        "TopicPattern",
        "filter_covers",
        "filter_matches",
        "minimal_filters",
        "parse_pattern",
        "shared",
        "validate_topic_filter",
        "validate_topic_name",
    ],
)
