from django.apps import AppConfig


class LoopConfig(AppConfig):
    name = "kaiku.loop"
    label = "loop"
    verbose_name = "Follow-up cases"

    def ready(self) -> None:
        from kaiku.loop.exports import register

        register()
