"""The AX.25 adapter: ``manage.py runadapter ax25``.

Opens the KISS TNC named by AX25_TNC (TCP or serial), keeps it open (reconnecting with
backoff), and runs the station: UI frames and APRS messages become ``ax25`` scopes on the
shared runtime, routed by callsign (gateway.routing.CallsignRouter). docs/ax25.md tells how to
run it; docs/specs/ax25.md defines the scopes and events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from adapters.ax25 import metrics
from adapters.ax25.config import Ax25Config
from adapters.ax25.messaging import Messenger
from adapters.ax25.numbering import CounterFile
from adapters.ax25.seen import SeenMessages
from adapters.ax25.station import Station
from adapters.ax25.transport import KissTransport
from gateway.ax25.routing import find_callsign_router
from gateway.clock import Clock
from gateway.exceptions import AdapterNotConfigured
from gateway.layers import get_channel_layer
from gateway.server import Adapter, ApplicationRuntime, register_adapter

__all__ = ["Ax25Adapter"]

logger = logging.getLogger(__name__)


@register_adapter
class Ax25Adapter(Adapter):
    """Serves ``ax25`` scopes from a KISS TNC.

    Args:
        config: the parsed configuration.
        shutdown_timeout: how long scopes and the transmit queue get on shutdown.
        clock: for timers and pacing (tests pass a fake); None: the loop's.
    """

    name = "ax25"

    def __init__(
        self, config: Ax25Config, shutdown_timeout: float = 25.0, clock: Clock | None = None
    ) -> None:
        self.config = config
        self.shutdown_timeout = shutdown_timeout
        self.clock = clock
        #: While serving: the station and the transport (tests and status read them).
        self.station: Station | None = None
        self.transport: KissTransport | None = None

    @classmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any]) -> Ax25Adapter:
        """Build from AX25_TNC, AX25_CALLSIGN and the other AX25_* settings.

        Raises:
            AdapterNotConfigured: AX25_TNC is not set.
            ConfigurationError: a setting is invalid (a bad callsign, a bad TNC URL, ...).
        """
        if not getattr(settings, "AX25_TNC", ""):
            raise AdapterNotConfigured(
                "set AX25_TNC (tcp://HOST:PORT for Direwolf's KISS port, or "
                "serial:///dev/ttyUSB0?baud=9600) and AX25_CALLSIGN to enable the ax25 adapter"
            )
        return cls(
            Ax25Config.from_settings(settings),
            shutdown_timeout=float(getattr(settings, "GATEWAY_SHUTDOWN_TIMEOUT", 25.0)),
        )

    def describe(self) -> str:
        """The TNC, our callsigns and the pacing."""
        return self.config.describe()

    def _state_file(self, what: str, extension: str) -> str:
        # AX25_STATE_DIR/gateway-ax25-<what>-<first callsign>.<extension>
        directory = self.config.state_dir or tempfile.gettempdir()
        with contextlib.suppress(OSError):  # unwritable: the stores log it and work in memory
            os.makedirs(directory, exist_ok=True)
        first = str(self.config.callsigns[0])
        return os.path.join(directory, f"gateway-ax25-{what}-{first}.{extension}")

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        """Run the station on the TNC until ``stop`` is set; then close the scopes and send
        what is still queued (within the shutdown timeout)."""
        config = self.config
        router = find_callsign_router(application)
        routed = set(router.callsigns) if router is not None else set()
        ours = {str(c) for c in config.callsigns}
        if router is None:
            logger.warning(
                "no CallsignRouter under 'ax25' in the application: every scope "
                "goes to the 'ax25' application as it is"
            )
        else:
            if routed - ours:
                logger.warning(
                    "CallsignRouter routes %s but AX25_CALLSIGN does not include them: "
                    "frames to them are not handled",
                    ", ".join(sorted(routed - ours)),
                )
            if ours - routed:
                logger.warning(
                    "AX25_CALLSIGN includes %s but the CallsignRouter has no route for them: "
                    "their messages are acked, then fail with NoRouteFound; add routes",
                    ", ".join(sorted(ours - routed)),
                )
        runtime = ApplicationRuntime(
            application,
            "ax25",
            idle_timeout=config.idle_timeout,
            shutdown_timeout=self.shutdown_timeout,
            clock=self.clock,
        )
        counter = CounterFile(self._state_file("msgno", "txt"))
        station = self.station = Station(
            config,
            runtime,
            self._write,
            seen=SeenMessages(self._state_file("seen", "tsv"), config.dedupe_seconds),
            messenger=Messenger(
                config.retry,
                # After the last run's numbers (a first run starts from the clock).
                first_msgno=counter.next_start(fallback=int(time.time()) % 99_999 + 1),
                on_number=counter.save,
            ),
            monitor=router is not None and router.monitor is not None,
            clock=self.clock,
            # Room messages for APRS stations whose scope is gone (gateway/reach.py).
            layer=get_channel_layer(),
        )
        transport = self.transport = KissTransport(
            config.tnc,
            station.data_received,
            greeting=lambda: config.kiss.encode(config.kiss_port),
            on_state=lambda up: metrics.TNC_CONNECTED.set(1 if up else 0),
            clock=self.clock,
        )
        station.start()
        # The TNC stays connected until the scopes have finished and the queue has drained,
        # so the last replies and acks still go on the air.
        disconnect = asyncio.Event()
        running = asyncio.create_task(transport.run(disconnect))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if running.done():
                running.result()  # the transport never ends by itself: re-raise its error
        finally:
            stopping.cancel()
            await runtime.shutdown()
            await station.aclose(drain_timeout=min(5.0, self.shutdown_timeout))
            disconnect.set()
            await running
            metrics.TNC_CONNECTED.set(0)

    async def _write(self, data: bytes) -> None:
        assert self.transport is not None  # set before the station can send
        await self.transport.write(data)
