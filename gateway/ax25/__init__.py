"""Protocol-specific pieces of the gateway for AX.25 scopes that the application side needs
(routing by callsign); the adapter itself lives in adapters/ax25/."""
