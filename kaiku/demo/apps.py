from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kaiku.demo"
    label = "demo"
    verbose_name = "Demo data"
