"""The retry sweeper: queue the attempts that are due.

With a job backend that can defer jobs (the database queue), each retry is
already queued for its time by the attempt before it; the sweeper only rescues
attempts overdue by SWEEP_GRACE (a lost job, a worker that died holding a
claim). With the inline backend nothing is deferred, so the sweeper queues
every due attempt. Runs every minute in `kaiku worker` (periodic_jobs.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from kaiku.webhooks.models import DeliveryStatus, WebhookDelivery
from kaiku.webhooks.tasks import deliver_webhook

SWEEP_EVERY = timedelta(minutes=1)
SWEEP_GRACE = timedelta(minutes=5)
SWEEP_BATCH = 500


def retry_due_deliveries(now: datetime | None = None, grace: timedelta | None = None) -> int:
    """Queue a deliver_webhook job for each due pending delivery; how many were queued."""
    now = now or timezone.now()
    if grace is None:
        grace = SWEEP_GRACE if deliver_webhook.get_backend().supports_defer else timedelta(0)
    # Reads the partial index webhook_delivery_due.
    due = (
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now - grace,
            endpoint__is_active=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    ids = list(due)
    for delivery_id in ids:
        deliver_webhook.enqueue(delivery_id)
    return len(ids)
