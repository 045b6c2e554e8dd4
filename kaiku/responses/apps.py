from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    name = "kaiku.responses"
    label = "responses"
