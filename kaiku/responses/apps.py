from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    name = "kaiku.responses"
    label = "responses"

    def ready(self) -> None:
        from kaiku.responses import outbox  # noqa: F401 - registers the outbox with the workers
