"""The bot: one protocol-independent core (commands, rooms, identities, devices) and the thin
mixin every protocol's consumer uses (docs/bot.md)."""
