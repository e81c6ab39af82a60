"""MQTT topic names, topic filters and route patterns with named captures (pure).

Three kinds of strings, after MQTT 3.1.1 section 4.7 / MQTT 5 section 4.7:

- a *topic name* is where a message is published: ``devices/42/telemetry``. It never contains
  the wildcards ``+`` or ``#``.
- a *topic filter* is what a client subscribes to: ``devices/+/telemetry``, ``sensors/#``.
  ``+`` matches exactly one level (which may be empty), ``#`` matches any number of levels
  including the parent level itself and must be the last level.
- a *route pattern* is a topic filter whose single-level wildcards may be named:
  ``devices/{device_id}/telemetry``. A named level ``{name}`` matches like ``+`` and its value is
  captured. :func:`parse_pattern` turns a pattern into a :class:`TopicPattern` that knows both
  the filter to subscribe to and how to capture the values from a topic name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.exceptions import ConfigurationError, LocalProtocolError

# MQTT 3.1.1 1.5.3 / MQTT 5 1.5.4: UTF-8 strings are at most 65,535 bytes long.
MAX_TOPIC_BYTES = 65535
SHARE_PREFIX = "$share/"

_NAMED = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _check_string(value: object, what: str, error: type[Exception]) -> str:
    if not isinstance(value, str):
        raise error(f"{what} must be a str, got {type(value).__name__}")
    if not value:
        raise error(f"{what} must not be empty")
    # MQTT 4.7.3: topic names and filters MUST NOT include the null character (U+0000).
    if "\x00" in value:
        raise error(f"{what} {value!r} must not contain the null character")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        raise error(f"{what} is longer than {MAX_TOPIC_BYTES} bytes")
    return value


def validate_topic_name(topic: object) -> str:
    """Check a topic name to publish to and return it.

    Raises:
        LocalProtocolError: empty, too long, a null character, or a wildcard in it.
    """
    name = _check_string(topic, "topic", LocalProtocolError)
    if "+" in name or "#" in name:
        raise LocalProtocolError(
            f"invalid topic {name!r}: a topic to publish to must not contain the wildcards + or #"
        )
    return name


def validate_topic_filter(topic_filter: object) -> str:
    """Check a topic filter to subscribe to and return it.

    Shared-subscription filters (``$share/GROUP/filter``) are accepted.

    Raises:
        LocalProtocolError: the filter breaks an MQTT wildcard rule; the message says which.
    """
    value = _check_string(topic_filter, "topic filter", LocalProtocolError)
    levels = value.split("/")
    if value.startswith(SHARE_PREFIX):
        # MQTT 5 4.8.2: $share/{ShareName}/{filter}; the share name has no wildcards.
        if len(levels) < 3 or not levels[1] or "+" in levels[1] or "#" in levels[1]:
            raise LocalProtocolError(
                f"invalid shared subscription {value!r}: use $share/GROUP/filter"
            )
        levels = levels[2:]
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise LocalProtocolError(
                f"invalid topic filter {value!r}: # must be a whole level and the last one"
            )
        if "+" in level and level != "+":
            raise LocalProtocolError(f"invalid topic filter {value!r}: + must be a whole level")
    return value


def filter_matches(topic_filter: str, topic: str) -> bool:
    """True when the topic name matches the (valid, non-shared) topic filter."""
    # MQTT 4.7.2: filters starting with a wildcard do not match topics starting with "$".
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    flevels = topic_filter.split("/")
    tlevels = topic.split("/")
    for index, flevel in enumerate(flevels):
        if flevel == "#":
            return True
        if index >= len(tlevels):
            return False
        if flevel != "+" and flevel != tlevels[index]:
            return False
    return len(flevels) == len(tlevels)


def filter_covers(wide: str, narrow: str) -> bool:
    """True when every topic matched by filter ``narrow`` is also matched by ``wide``."""
    wlevels = wide.split("/")
    nlevels = narrow.split("/")
    if wlevels[0] in ("+", "#") and nlevels[0].startswith("$"):
        return False
    for index, wlevel in enumerate(wlevels):
        if wlevel == "#":
            return True
        if index >= len(nlevels):
            return False
        nlevel = nlevels[index]
        if nlevel == "#" or (wlevel != "+" and wlevel != nlevel):
            return False
    return len(wlevels) == len(nlevels)


def minimal_filters(filters: list[str]) -> list[str]:
    """Drop the filters another one in the list covers (brokers may deliver a message once per
    matching subscription: overlapping filters would duplicate it)."""
    kept: list[str] = []
    for index, candidate in enumerate(filters):
        covered = any(
            filter_covers(other, candidate) and (other != candidate or other_index < index)
            for other_index, other in enumerate(filters)
            if other_index != index
        )
        if not covered:
            kept.append(candidate)
    return kept


def shared(topic_filter: str, group: str | None) -> str:
    """The filter to subscribe to: ``$share/GROUP/filter`` when a group is set."""
    if not group:
        return topic_filter
    return f"{SHARE_PREFIX}{group}/{topic_filter}"


@dataclass(frozen=True)
class TopicPattern:
    """A parsed route pattern. Build it with :func:`parse_pattern`.

    Attributes:
        pattern: the pattern as written, e.g. ``devices/{device_id}/#``.
        filter: the MQTT topic filter to subscribe to, e.g. ``devices/+/#``.
        names: the capture names in order of appearance.
    """

    pattern: str
    filter: str
    names: tuple[str, ...]
    _regex: re.Pattern[str] = field(repr=False, compare=False)

    def match(self, topic: str) -> dict[str, str] | None:
        """Return the captured values when the topic name matches, else None."""
        found = self._regex.fullmatch(topic)
        if found is None:
            return None
        return found.groupdict()

    def format(self, **values: str) -> str:
        """Fill in the named captures: the topic name for those values (no wildcards left).

        Raises:
            LocalProtocolError: a value is missing, or the result is not a valid topic name.
        """
        missing = [name for name in self.names if name not in values]
        if missing:
            raise LocalProtocolError(f"no value for {', '.join(missing)} in {self.pattern!r}")
        levels = []
        for level in self.pattern.split("/"):
            named = _NAMED.match(level)
            levels.append(values[named.group(1)] if named else level)
        return validate_topic_name("/".join(levels))


def parse_pattern(pattern: str) -> TopicPattern:
    """Parse a route pattern: MQTT filter syntax where a level may be ``{name}``.

    Raises:
        ConfigurationError: the pattern is not a valid filter, a name repeats, or a level mixes
            a capture with other text (``dev{id}``).
    """
    _check_string(pattern, "topic pattern", ConfigurationError)
    if pattern.startswith(SHARE_PREFIX):
        raise ConfigurationError(
            f"topic pattern {pattern!r} must not start with $share/: set MQTT_SHARED_GROUP instead"
        )
    names: list[str] = []
    filter_levels: list[str] = []
    regex_parts: list[str] = []
    for level in pattern.split("/"):
        named = _NAMED.match(level)
        if named:
            name = named.group(1)
            if name in names:
                raise ConfigurationError(f"topic pattern {pattern!r} captures {name!r} twice")
            names.append(name)
            filter_levels.append("+")
            regex_parts.append(f"(?P<{name}>[^/]*)")
        elif "{" in level or "}" in level:
            raise ConfigurationError(
                f"topic pattern {pattern!r}: a capture must be a whole level like {{name}}, "
                f"got {level!r}"
            )
        else:
            filter_levels.append(level)
            if level == "+":
                regex_parts.append("[^/]*")
            elif level == "#":
                regex_parts.append("#")
            else:
                regex_parts.append(re.escape(level))
    topic_filter = "/".join(filter_levels)
    try:
        validate_topic_filter(topic_filter)
    except LocalProtocolError as exc:
        raise ConfigurationError(str(exc).replace("topic filter", "topic pattern")) from None
    regex = "/".join(regex_parts)
    if regex.endswith("#"):
        # "a/#" also matches the parent "a" (MQTT 4.7.1.2); "#" alone matches everything.
        regex = ".*" if regex == "#" else regex[:-2] + "(?:/.*)?"
    if filter_levels[0] in ("+", "#"):
        regex = r"(?!\$)" + regex
    return TopicPattern(pattern, topic_filter, tuple(names), re.compile(regex, re.DOTALL))
