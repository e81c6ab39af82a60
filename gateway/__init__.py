"""The Channels model (consumers, routers, channel layers, middleware) for every protocol.

API-compatible with Django Channels 4: change ``channels`` to ``gateway`` in import lines.
"""

#: The alias of the channel layer consumers use unless they name another (as ``channels``).
DEFAULT_CHANNEL_LAYER = "default"
