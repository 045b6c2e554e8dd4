"""Fill Workspace.webhook_events for the endpoints that exist before it was added."""

from typing import Any

from django.db import migrations


def fill(apps: Any, schema_editor: Any) -> None:
    Workspace = apps.get_model("accounts", "Workspace")
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    subscribed: dict[int, set[str]] = {}
    for workspace_id, events in WebhookEndpoint.objects.filter(is_active=True).values_list(
        "workspace_id", "events"
    ):
        subscribed.setdefault(workspace_id, set()).update(events or [])
    for workspace_id, types in subscribed.items():
        Workspace.objects.filter(pk=workspace_id).update(webhook_events=sorted(types))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_workspace_webhook_events"),
        ("webhooks", "0001_initial"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
