from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "kaiku.insights"
    label = "insights"
