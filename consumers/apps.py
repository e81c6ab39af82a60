from django.apps import AppConfig


class ConsumersConfig(AppConfig):
    """The bot's consumers, rooms and web pages (templates and static files live here)."""

    name = "consumers"
    verbose_name = "Consumers"
