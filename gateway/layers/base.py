"""BaseChannelLayer: the parts every channel layer shares (names, capacities, extensions).

Naming rules, as in Django Channels 4:

- a channel name is made of ASCII letters, digits, ``-``, ``_`` and ``.``, is shorter than
  :attr:`BaseChannelLayer.MAX_NAME_LENGTH` characters, and may contain one ``!``: the part up to
  and including ``!`` names a process, the rest a channel local to that process
  ("process-local" or "specific" channels, made by ``new_channel()``);
- a group name follows the same rules without ``!``.

Every broken rule raises :class:`~gateway.exceptions.InvalidChannelName` (a ``TypeError``, as
Channels raises) whose message names the rule and shows the offending name.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

from gateway.exceptions import InvalidChannelName, InvalidMessage

CapacityPattern = str | re.Pattern[str]

# Characters allowed in every name; "!" is handled separately (channels only, at most one).
_NAME_CHARS = re.compile(r"[a-zA-Z0-9\-_.]+\Z")
_BAD_CHAR = re.compile(r"[^a-zA-Z0-9\-_.!]")
# A whole valid channel name in one match: the fast path for the common, valid case.
_CHANNEL_NAME = re.compile(r"[a-zA-Z0-9\-_.]+(?:![a-zA-Z0-9\-_.]*)?\Z")


@functools.lru_cache(maxsize=8192)
def _valid_channel_name(name: str) -> bool:
    # Hot path: the same few thousand names are checked on every send and receive.
    return _CHANNEL_NAME.match(name) is not None


def _shown(name: str) -> str:
    """Show a name in an error message, shortened so a huge name does not flood the log."""
    return repr(name if len(name) <= 120 else name[:117] + "...")


class BaseChannelLayer:
    """Base class of channel layers, with Channels' constructor and validation helpers.

    Args:
        expiry: seconds a message waits in a channel before it is dropped.
        capacity: messages a channel holds before ``send`` raises ChannelFull.
        channel_capacity: per-channel capacities, ``{pattern: capacity}``; a pattern is a glob
            (``"http.response!*"``) or a compiled regex. The first matching pattern wins.
    """

    MAX_NAME_LENGTH: ClassVar[int] = 100
    #: Channels' summary of the naming rules, ``.format("Channel")`` or ``.format("Group")``;
    #: every InvalidChannelName message about a broken rule ends with it, so tests written
    #: against Channels (``pytest.raises(TypeError, match=layer.invalid_name_error...)``) pass.
    invalid_name_error: ClassVar[str] = (
        "{} name must be a valid unicode string "
        f"with length < {MAX_NAME_LENGTH} "
        "containing only ASCII alphanumerics, hyphens, underscores, or periods."
    )
    #: A whole valid channel name, matched with ``.match`` (Channels' attribute). A subclass may
    #: replace it to accept other names; the ``receive`` rule and length limit still apply.
    channel_name_regex: ClassVar[re.Pattern[str]] = _CHANNEL_NAME
    #: A whole valid group name, matched with ``.match`` (Channels' attribute); replaceable too.
    group_name_regex: ClassVar[re.Pattern[str]] = _NAME_CHARS
    #: Optional features this layer implements ("groups", "flush").
    extensions: ClassVar[list[str]] = []

    def __init__(
        self,
        expiry: float = 60,
        capacity: int = 100,
        channel_capacity: Mapping[CapacityPattern, int] | None = None,
    ) -> None:
        self.expiry = expiry
        self.capacity = capacity
        self.channel_capacity = self.compile_capacities(channel_capacity or {})

    def compile_capacities(
        self, channel_capacity: Mapping[CapacityPattern, int]
    ) -> list[tuple[re.Pattern[str], int]]:
        """Turn ``{glob or regex: capacity}`` into the list :meth:`get_capacity` searches."""
        result = []
        for pattern, value in channel_capacity.items():
            if isinstance(pattern, re.Pattern):
                result.append((pattern, value))
            else:
                result.append((re.compile(fnmatch.translate(pattern)), value))
        return result

    def get_capacity(self, channel: str) -> int:
        """Return the capacity of ``channel``: the first matching pattern's, else the default."""
        for pattern, capacity in self.channel_capacity:
            if pattern.match(channel):
                return capacity
        return self.capacity

    def match_type_and_length(self, name: object) -> bool:
        """True when ``name`` is a str shorter than MAX_NAME_LENGTH (Channels' helper)."""
        return isinstance(name, str) and len(name) < self.MAX_NAME_LENGTH

    def require_valid_channel_name(self, name: object, receive: bool = False) -> bool:
        """Check a channel name; return True or raise InvalidChannelName saying which rule broke.

        Args:
            name: the channel name.
            receive: True for layers whose ``receive`` takes only the process part of a
                process-local name: then the name must end at its ``!``.
        """
        if (
            isinstance(name, str)
            and len(name) < self.MAX_NAME_LENGTH
            # Inlined _matches_channel_regex: this runs on every send and receive.
            and (
                _valid_channel_name(name)
                if self.channel_name_regex is _CHANNEL_NAME
                else self.channel_name_regex.match(name) is not None
            )
            and (not receive or "!" not in name or name[-1] == "!")
        ):
            return True
        self._explain_bad_name("channel", name, receive=receive)
        return True  # pragma: no cover - _explain_bad_name always raises

    def _matches_channel_regex(self, name: str) -> bool:
        regex = self.channel_name_regex
        if regex is _CHANNEL_NAME:
            return _valid_channel_name(name)  # the cached hot path
        return regex.match(name) is not None

    def require_valid_group_name(self, name: object) -> bool:
        """Check a group name; return True or raise InvalidChannelName saying which rule broke."""
        if (
            isinstance(name, str)
            and len(name) < self.MAX_NAME_LENGTH
            and self.group_name_regex.match(name)
        ):
            return True
        self._explain_bad_name("group", name)
        return True  # pragma: no cover - _explain_bad_name always raises

    def valid_channel_name(self, channel_name: object, receive: bool = False) -> bool:
        """Deprecated (as in Channels 4.2.2+): use :meth:`require_valid_channel_name`."""
        warnings.warn(
            "valid_channel_name is deprecated, use require_valid_channel_name instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.require_valid_channel_name(channel_name, receive=receive)

    def valid_group_name(self, group_name: object) -> bool:
        """Deprecated (as in Channels 4.2.2+): use :meth:`require_valid_group_name`."""
        warnings.warn(
            "valid_group_name is deprecated, use require_valid_group_name instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.require_valid_group_name(group_name)

    def valid_channel_names(self, names: list[str], receive: bool = False) -> bool:
        """Check a non-empty list of channel names (Channels' helper)."""
        if not isinstance(names, list) or not names:
            raise InvalidChannelName(
                f"names must be a non-empty list of channel names, got {names!r}"
            )
        for name in names:
            self.require_valid_channel_name(name, receive=receive)
        return True

    def require_valid_message(self, message: object) -> None:
        """Check that a message is a dict, as every layer requires; raise InvalidMessage if not."""
        if not isinstance(message, dict):
            raise InvalidMessage(
                f"a channel layer message must be a dict, got {type(message).__name__}: "
                f"{_shown(repr(message))}"
            )
        if "__asgi_channel__" in message:
            raise InvalidMessage(
                "a message may not contain the key '__asgi_channel__': the layer reserves it"
            )

    def non_local_name(self, name: str) -> str:
        """Return the process part of a process-local name ("a.b!c" -> "a.b!"), else the name."""
        index = name.find("!")
        return name if index < 0 else name[: index + 1]

    def _explain_bad_name(self, kind: str, name: object, receive: bool = False) -> None:
        """Raise InvalidChannelName naming the first rule ``name`` breaks."""
        if (
            receive
            and isinstance(name, str)
            and self.match_type_and_length(name)
            and self._matches_channel_regex(name)
        ):
            # Only the receive() rule broke: Channels has its own message for it, no summary.
            raise InvalidChannelName(
                "process-local channel names given to receive() must end at the '!': "
                f"{_shown(name)}"
            )
        try:
            self._find_broken_rule(kind, name)
        except InvalidChannelName as exc:
            summary = self.invalid_name_error.format(kind.capitalize())
            raise InvalidChannelName(f"{exc}. {summary}") from None

    def _find_broken_rule(self, kind: str, name: object) -> None:
        if not isinstance(name, str):
            raise InvalidChannelName(
                f"{kind} name must be a str, got {type(name).__name__}: {_shown(repr(name))}"
            )
        if not name:
            raise InvalidChannelName(f"{kind} name must not be empty")
        if len(name) >= self.MAX_NAME_LENGTH:
            raise InvalidChannelName(
                f"{kind} name must be shorter than {self.MAX_NAME_LENGTH} characters, "
                f"got {len(name)}: {_shown(name)}"
            )
        bad = _BAD_CHAR.search(name)
        if bad:
            raise InvalidChannelName(
                f"{kind} name may contain only ASCII letters, digits, '-', '_' and '.', "
                f"got {bad.group()!r} at position {bad.start()} in {_shown(name)}"
            )
        if kind == "group" and "!" in name:
            raise InvalidChannelName(
                f"group name may not contain '!' (it marks process-local channels): {_shown(name)}"
            )
        if name.count("!") > 1:
            raise InvalidChannelName(f"channel name may contain at most one '!': {_shown(name)}")
        if name.startswith("!"):
            raise InvalidChannelName(
                f"channel name needs at least one character before its '!': {_shown(name)}"
            )
        # Only a subclass's own channel_name_regex/group_name_regex can refuse a name here.
        raise InvalidChannelName(
            f"{kind} name does not match {type(self).__name__}.{kind}_name_regex "
            f"({getattr(self, kind + '_name_regex').pattern!r}): {_shown(name)}"
        )

    # The API every layer offers; extensions ("groups", "flush") are listed in `extensions`.

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``; raise ChannelFull when it is at capacity."""
        raise NotImplementedError("a channel layer must implement send()")

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for and return the next message on ``channel``."""
        raise NotImplementedError("a channel layer must implement receive()")

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new process-local channel name that this process can receive on."""
        raise NotImplementedError("a channel layer must implement new_channel()")

    async def flush(self) -> None:
        """Drop every message and group (extension "flush")."""
        raise NotImplementedError("this channel layer does not support flush()")

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group`` (extension "groups")."""
        raise NotImplementedError("this channel layer does not support groups")

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group`` (extension "groups")."""
        raise NotImplementedError("this channel layer does not support groups")

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel of ``group`` (extension "groups")."""
        raise NotImplementedError("this channel layer does not support groups")

    async def close(self) -> None:
        """Release connections and tasks; the layer may be used again afterwards."""
