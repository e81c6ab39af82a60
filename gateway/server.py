"""The shared application runtime and adapter machinery, under the names adapters import.

docs/runtime-contract.md documents these names. They live in small modules by concern:

- :mod:`gateway.runtime`: :class:`ApplicationRuntime` and :class:`ScopeHandle` (one
  application instance per scope, queues, "handled" futures, idle timeouts, shutdown), and
  :class:`ScopeSpec` for :meth:`ApplicationRuntime.deliver_by_key`.
- :mod:`gateway.applications`: :func:`load_application`, the one application loader.
- :mod:`gateway.adapter`: the :class:`Adapter` base class, the registry and
  :func:`run_adapters`, the supervisor behind ``manage.py runadapter``.
- :mod:`gateway.shutdown`: SIGTERM/SIGINT handling and the uvloop-aware event loop runner.
"""

from __future__ import annotations

from gateway.adapter import (
    Adapter,
    get_adapter_class,
    known_adapters,
    register_adapter,
    run_adapters,
)
from gateway.applications import load_application
from gateway.runtime import ApplicationRuntime, ScopeHandle, ScopeSpec, describe_scope
from gateway.shutdown import ShutdownSignals, new_event_loop, run_until_signalled

__all__ = [
    "Adapter",
    "ApplicationRuntime",
    "ScopeHandle",
    "ScopeSpec",
    "ShutdownSignals",
    "describe_scope",
    "get_adapter_class",
    "known_adapters",
    "load_application",
    "new_event_loop",
    "register_adapter",
    "run_adapters",
    "run_until_signalled",
]
