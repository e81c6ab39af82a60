"""A routing module for include("...") tests: Django reads its ``urlpatterns``."""

from __future__ import annotations

from gateway.routing import path
from tests.unit.gateway.asgi_apps import named_echo

urlpatterns = [path("ping/", named_echo("ping"))]
