from django.apps import AppConfig


class LibConfig(AppConfig):
    """Helpers, the rate-limit counters, the operational commands (serve, worker)."""

    name = "kaiku.lib"
    label = "lib"
