from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "kaiku.transfer"
    label = "transfer"
    verbose_name = "Import, export and GDPR"

    def ready(self) -> None:
        from kaiku.transfer.registry import register_contact_hooks, register_core_tables

        register_core_tables()
        register_contact_hooks()
