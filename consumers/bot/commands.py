"""Parsing what people type into commands: pure, no I/O.

A line starting with "/" is a command (``/join lobby``); radio operators often leave the slash
out, so protocols that want it may parse with ``slash_optional=True`` and a bare known command
word counts too (``JOIN lobby``). Anything else is a chat message for the current room.
"""

from __future__ import annotations

from dataclasses import dataclass

#: name -> (arguments, one-line description); the order is the order /help lists them in.
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("", "this list"),
    "nick": ("NAME", "change your name"),
    "join": ("ROOM", "join a room (leaves the current one)"),
    "leave": ("", "leave your room"),
    "rooms": ("", "rooms with people in them"),
    "who": ("", "who is in your room, and on which protocol"),
    "history": ("[N]", "the last N messages of your room (default 10)"),
    "devices": ("", "known devices, online or not"),
    "status": ("ID", "a device's last readings and when"),
    "set": ("ID KEY VALUE", "send a command to a device (needs permission)"),
    "watch": ("ID KEY OP VALUE", "alert me when a reading crosses VALUE (OP: < > <= >=)"),
    "unwatch": ("[ID]", "stop watching (one device or all)"),
    "report": ("ROOM|DEVICE PERIOD", "a summary over PERIOD (30m, 2h, 1d)"),
    "link": ("[CODE]", "link this identity to your account (see docs)"),
}
#: Aliases radio operators and chat users expect.
ALIASES = {"h": "help", "?": "help", "start": "help", "j": "join", "w": "who", "part": "leave"}


@dataclass(frozen=True)
class Command:
    """A parsed command: its canonical name and its whitespace-separated arguments."""

    name: str
    args: tuple[str, ...]
    #: Everything after the command word, spacing kept (a room name may contain spaces).
    rest: str = ""


def parse(text: str, *, slash_optional: bool = False) -> Command | None:
    """Return the command ``text`` is, or None when it is a chat message.

    An unknown ``/word`` is still a Command (named as typed) so the bot can say it is unknown
    instead of posting it to the room. ``/cmd@botname`` (Telegram groups) is understood.
    """
    stripped = text.strip()
    if not stripped:
        return None
    has_slash = stripped.startswith("/")
    if not has_slash and not slash_optional:
        return None
    body = stripped[1:] if has_slash else stripped
    word, _, rest = body.partition(" ")
    name = word.split("@", 1)[0].lower()
    name = ALIASES.get(name, name)
    if not has_slash and name not in COMMANDS:
        return None
    rest = rest.strip()
    return Command(name=name, args=tuple(rest.split()), rest=rest)


def help_lines(*, slash: bool = True) -> list[str]:
    """One line per command, ``/join ROOM - join a room``."""
    prefix = "/" if slash else ""
    lines = []
    for name, (args, what) in COMMANDS.items():
        usage = f"{prefix}{name} {args}".rstrip()
        lines.append(f"{usage} - {what}")
    return lines


def parse_period(text: str) -> float:
    """Seconds in a period like ``30m``, ``2h``, ``1d`` or ``90s`` (a bare number: minutes).

    Raises:
        ValueError: not a period; the message says how to write one.
    """
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in units else "m"
    number = value[:-1] if value[-1:] in units else value
    try:
        amount = float(number)
    except ValueError:
        raise ValueError(f"{text!r} is not a period: write e.g. 30m, 2h or 1d") from None
    if not 0 < amount * units[unit] <= 31 * 86400:
        raise ValueError(f"{text!r}: a period is between 1 second and 31 days")
    return amount * units[unit]
