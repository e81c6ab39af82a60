from django.apps import AppConfig


class ConsumersConfig(AppConfig):
    """The bot's consumers, rooms and web pages (templates and static files live here)."""

    name = "consumers"
    verbose_name = "Consumers"

    def ready(self) -> None:
        """Let django-axes (admin login throttle) ignore WebSocket logins (no request)."""
        from consumers.login_throttle import skip_requestless_logins

        skip_requestless_logins()
