from django.apps import AppConfig


class DelightedConfig(AppConfig):
    name = "kaiku.delighted"
    label = "delighted"
    verbose_name = "Delighted-compatible API"
