from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "kaiku.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks and inbound events"
