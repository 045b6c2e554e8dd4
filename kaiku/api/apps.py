from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kaiku.api"
    label = "api"
    verbose_name = "REST API"
