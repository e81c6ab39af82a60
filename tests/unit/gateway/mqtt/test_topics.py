"""Topic names, filters and route patterns: examples from the MQTT spec, then properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.exceptions import ConfigurationError, LocalProtocolError
from gateway.mqtt.topics import (
    filter_covers,
    filter_matches,
    minimal_filters,
    parse_pattern,
    shared,
    validate_topic_filter,
    validate_topic_name,
)

# MQTT 3.1.1 4.7.1.2 / 4.7.1.3 examples.
SPEC_CASES = [
    ("sport/tennis/player1/#", "sport/tennis/player1", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
    ("sport/#", "sport", True),
    ("#", "anything/at/all", True),
    ("sport/tennis/+", "sport/tennis/player1", True),
    ("sport/tennis/+", "sport/tennis/player1/ranking", False),
    ("sport/+", "sport", False),
    ("sport/+", "sport/", True),
    ("+/+", "/finance", True),
    ("/+", "/finance", True),
    ("+", "/finance", False),
    ("#", "$SYS/broker", False),
    ("+/monitor/Clients", "$SYS/monitor/Clients", False),
    ("$SYS/#", "$SYS/broker", True),
]


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), SPEC_CASES)
def test_spec_examples(topic_filter: str, topic: str, expected: bool) -> None:
    assert filter_matches(topic_filter, topic) is expected
    assert (parse_pattern(topic_filter).match(topic) is not None) is expected


def test_named_captures() -> None:
    pattern = parse_pattern("devices/{device_id}/sensors/{sensor}/#")
    assert pattern.filter == "devices/+/sensors/+/#"
    assert pattern.names == ("device_id", "sensor")
    assert pattern.match("devices/42/sensors/t1/raw/x") == {"device_id": "42", "sensor": "t1"}
    assert pattern.match("devices/42/sensors/t1") == {"device_id": "42", "sensor": "t1"}
    assert pattern.match("devices/42/other/t1") is None
    with pytest.raises(LocalProtocolError, match="wildcards"):
        pattern.format(device_id="7", sensor="h")  # the "#" level stays a wildcard


def test_format_refuses_missing_values_and_wildcards() -> None:
    pattern = parse_pattern("devices/{device_id}/telemetry")
    assert pattern.format(device_id="9") == "devices/9/telemetry"
    with pytest.raises(LocalProtocolError, match="no value for device_id"):
        pattern.format()
    with pytest.raises(LocalProtocolError, match="wildcards"):
        pattern.format(device_id="+")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a/{x}/{x}", "twice"),
        ("a/dev{x}", "whole level"),
        ("a/#/b", "last one"),
        ("a/b+", "whole level"),
        ("", "must not be empty"),
        ("$share/g/a", "MQTT_SHARED_GROUP"),
        ("a/{1x}", "whole level"),
    ],
)
def test_bad_patterns_are_configuration_errors(pattern: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_pattern(pattern)


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("a/+/b", "wildcards"),
        ("a/#", "wildcards"),
        ("", "must not be empty"),
        ("a\x00b", "null character"),
        (b"bytes", "must be a str"),
        ("x" * 65536, "longer than"),
    ],
)
def test_invalid_topic_names(topic: object, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        validate_topic_name(topic)


def test_filters_and_shared_subscriptions() -> None:
    assert validate_topic_filter("a/+/#") == "a/+/#"
    assert validate_topic_filter("$share/grp/a/+") == "$share/grp/a/+"
    with pytest.raises(LocalProtocolError, match="GROUP"):
        validate_topic_filter("$share/grp")
    with pytest.raises(LocalProtocolError, match="# must be"):
        validate_topic_filter("a/#/b")
    assert shared("a/+", "workers") == "$share/workers/a/+"
    assert shared("a/+", None) == "a/+"


def test_minimal_filters_drop_covered_ones() -> None:
    assert minimal_filters(["devices/+/#", "devices/+/status", "x/y", "x/y"]) == [
        "devices/+/#",
        "x/y",
    ]
    assert filter_covers("#", "a/b")
    assert not filter_covers("#", "$SYS/a")
    assert not filter_covers("a/+", "a/#")


# -- properties -----------------------------------------------------------------------------

level = st.text(alphabet="ab$/", min_size=0, max_size=3).filter(lambda s: "/" not in s)
topics = st.lists(level, min_size=1, max_size=5).map("/".join).filter(bool)
filter_level = st.sampled_from(["a", "b", "", "+", "$a"])
filters = st.builds(
    lambda levels, tail: "/".join(levels + (["#"] if tail else [])),
    st.lists(filter_level, min_size=0, max_size=4),
    st.booleans(),
).filter(bool)


def reference_match(topic_filter: str, topic: str) -> bool:
    """MQTT 4.7 written out recursively, the slow obvious way."""
    if topic.startswith("$") and topic_filter[0] in "+#":
        return False

    def go(f: list[str], t: list[str]) -> bool:
        if not f:
            return not t
        if f[0] == "#":
            return True
        if not t:
            return False
        return (f[0] == "+" or f[0] == t[0]) and go(f[1:], t[1:])

    return go(topic_filter.split("/"), topic.split("/"))


@given(filters, topics)
def test_matching_agrees_with_the_reference(topic_filter: str, topic: str) -> None:
    expected = reference_match(topic_filter, topic)
    assert filter_matches(topic_filter, topic) is expected
    assert (parse_pattern(topic_filter).match(topic) is not None) is expected


@given(st.lists(filter_level, min_size=1, max_size=4).filter(lambda ls: "/".join(ls)), topics)
def test_named_pattern_matches_like_its_filter(levels: list[str], topic: str) -> None:
    named = [f"{{n{i}}}" if lvl == "+" else lvl for i, lvl in enumerate(levels)]
    pattern = parse_pattern("/".join(named))
    assert pattern.filter == "/".join(levels)
    captured = pattern.match(topic)
    assert (captured is not None) is filter_matches(pattern.filter, topic)
    if captured is not None:
        assert pattern.format(**captured) == topic


@given(st.lists(st.text(alphabet="xyz09-", min_size=1, max_size=6), min_size=1, max_size=4))
def test_format_then_match_round_trips(values: list[str]) -> None:
    pattern = parse_pattern("/".join(f"{{v{i}}}" for i in range(len(values))) + "/end")
    expected = {f"v{i}": value for i, value in enumerate(values)}
    assert pattern.match(pattern.format(**expected)) == expected


@given(filters, filters, topics)
def test_covers_implies_matches(wide: str, narrow: str, topic: str) -> None:
    if filter_covers(wide, narrow) and filter_matches(narrow, topic):
        assert filter_matches(wide, topic)


@given(st.text(max_size=20))
def test_validation_never_raises_anything_else(text: str) -> None:
    for check in (validate_topic_name, validate_topic_filter):
        try:
            assert check(text) == text
        except LocalProtocolError:
            pass
