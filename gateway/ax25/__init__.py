"""The protocol-neutral half of AX.25: what applications and consumers use, without the adapter.

- :mod:`gateway.ax25.routing`: :class:`CallsignRouter` (re-exported by ``gateway.routing``).
- :mod:`gateway.ax25.consumer`: :class:`AsyncAx25Consumer`.
- :mod:`gateway.ax25.scope`: the ``ax25`` scope dict, shared by the adapter and
  ``gateway.testing.Ax25Communicator``.

The adapter that speaks KISS to a TNC lives in ``adapters/ax25/`` and imports these; nothing
here imports it.
"""
