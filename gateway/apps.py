from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """The gateway core: management commands runadapter and runworker live here."""

    name = "gateway"
    verbose_name = "Gateway"
