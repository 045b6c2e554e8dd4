"""Which event types a workspace's webhook endpoints listen to, kept on the workspace.

Every answer asks whether an endpoint listens for `response.created`, and most
workspaces have none. `Workspace.webhook_events` answers that from the workspace
row the answer path reads anyway (with the survey or the API key), so no
endpoint query runs per answer. Every write that adds, removes, switches or
re-subscribes an endpoint calls refresh() in its transaction.
"""

from __future__ import annotations

import time

from django.db import transaction

from kaiku.accounts.models import Workspace
from kaiku.webhooks.models import WebhookEndpoint

# Seconds for which a workspace row read from the database speaks for its endpoints.
READ_IS_FRESH = 2.0


def refresh(workspace_id: int) -> None:
    """Recompute the workspace's subscribed event types from its active endpoints.

    Locks the workspace row first: two endpoint writes at once then take turns,
    and the second computes over the first's committed endpoint (under READ
    COMMITTED each statement sees what committed before it), so neither
    overwrites the other's events with a stale union.
    """
    with transaction.atomic():
        if not Workspace.objects.select_for_update().filter(pk=workspace_id).exists():
            return  # the workspace is being deleted with its endpoints
        subscribed: set[str] = set()
        for events in WebhookEndpoint.objects.filter(
            workspace_id=workspace_id, is_active=True
        ).values_list("events", flat=True):
            subscribed.update(events or [])
        Workspace.objects.filter(pk=workspace_id).update(webhook_events=sorted(subscribed))


def none_listens(workspace: Workspace, type: str) -> bool:
    """True when the workspace row, read moments ago, says no active endpoint subscribes
    to `type`; False when one may, or when `workspace` is not such a read (then ask
    the endpoints table).

    Only a row read within READ_IS_FRESH counts (a request's own read, not an object
    kept since): an endpoint created after that read may miss this one event, as it
    would an event that happened a moment before it was created.
    """
    read_at = workspace.read_at
    if read_at is None or time.monotonic() - read_at > READ_IS_FRESH:
        return False
    if "webhook_events" in workspace.get_deferred_fields():
        return False
    return type not in (workspace.webhook_events or [])
