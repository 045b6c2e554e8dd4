"""Periodic jobs of webhooks, found by kaiku.lib.periodic.autodiscover."""

from __future__ import annotations

from kaiku.lib.periodic import periodic
from kaiku.webhooks.schedule import SWEEP_EVERY, retry_due_deliveries


@periodic(every=SWEEP_EVERY, name="webhooks.retry_due_deliveries")
def sweep_webhook_retries() -> None:
    """Queue the webhook attempts that are due (see kaiku.webhooks.schedule)."""
    retry_due_deliveries()
