"""Deliver one webhook attempt: claim, sign, POST, record, schedule the next one.

The unit of work of the `deliver_webhook` job (kaiku.webhooks.tasks), and what
the tests call. Every attempt is recorded (WebhookAttempt) with its status
code, duration and error, and summarised on the delivery for the log page.

Outcomes of one attempt:

- 2xx: delivered.
- 3xx (redirects are never followed), other 4xx, a refused URL (private
  address, bad scheme): a permanent failure, not retried.
- 408, 425, 429, 5xx, timeouts and network errors: retried with exponential
  backoff and jitter (RETRY_SCHEDULE in docs/webhooks.md) for up to 24 hours
  after the event, then given up.

A delivery that fails permanently or is given up counts against its endpoint;
DISABLE_AFTER_FAILURES of them in a row switch the endpoint off and email the
workspace's owners and admins. A success resets the count.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kaiku.webhooks import subscriptions, transport
from kaiku.webhooks.crypto import SecretUnreadable
from kaiku.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    PayloadFormat,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from kaiku.webhooks.signing import HEADER, signature_header

logger = logging.getLogger(__name__)

# Retry schedule: 1 min after the first failure, doubling up to 6 h apart, each
# delay ±25 % (jitter spreads a receiver's recovery load), until 24 h after the
# event; the last try is made at the 24 h mark.
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)
JITTER = 0.25
RETRY_WINDOW = timedelta(hours=24)
# A safety cap on top of the window (the schedule makes about 12 attempts).
MAX_ATTEMPTS = 16
# A Retry-After from the receiver (429/503) is honoured up to this long.
MAX_RETRY_AFTER = timedelta(hours=1)
# How far a claim pushes next_attempt_at: a worker that dies mid-attempt is
# retried once this has passed. Longer than the longest attempt (timeout ≤ 30 s).
CLAIM_LEASE = timedelta(minutes=2)
DISABLE_AFTER_FAILURES = 5
TRANSIENT_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Verdict:
    outcome: str  # AttemptOutcome of this attempt
    status: str  # DeliveryStatus of the delivery after it
    error: str = ""
    next_attempt_at: datetime | None = None


def _failed(error: str) -> Verdict:
    return Verdict(AttemptOutcome.FAILED, DeliveryStatus.FAILED, error)


# --- Payloads ---------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """Plain JSON values (datetimes as ISO 8601 UTC strings, like the API's output)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def kaiku_payload(event: WebhookEvent) -> dict[str, Any]:
    return {
        "id": str(event.event_id),
        "type": event.type,
        "created_at": to_json(event.created_at),
        "data": event.payload,
    }


def delighted_payload(event: WebhookEvent) -> dict[str, Any] | None:
    """Delighted's `{event_type, event_id, event_data}`, or None where it has no equivalent.

    kaiku.delighted (the Delighted-compatible API) owns the mapping; until it is
    installed, and for Kaiku-only events (case.*, webhook.test), the Kaiku
    format is sent instead.
    """
    try:
        from kaiku.delighted.payloads import build  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        payload = build(event.type, event.payload)
    except (KeyError, ValueError, NotImplementedError):
        return None
    return dict(payload) if payload else None


def body_for(endpoint: WebhookEndpoint, event: WebhookEvent) -> bytes:
    """The exact bytes POSTed (and signed); the same on every retry."""
    payload = None
    if endpoint.payload_format == PayloadFormat.DELIGHTED:
        payload = delighted_payload(event)
    if payload is None:
        payload = kaiku_payload(event)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# --- One attempt ------------------------------------------------------------------------


def claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take the delivery's due attempt, or None if it is not due, done or someone has it.

    A conditional update: among any number of workers exactly one moves
    next_attempt_at forward and counts the attempt; the others update nothing.
    """
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        endpoint__is_active=True,
    ).update(next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1, last_attempt_at=now)
    if claimed != 1:
        return None
    return (
        WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
    )


def attempt(delivery_id: int) -> str | None:
    """Make the due attempt of one delivery; the attempt's outcome, or None if nothing was due."""
    now = timezone.now()
    delivery = claim(delivery_id, now)
    if delivery is None:
        return None
    if now - delivery.created_at > RETRY_WINDOW + timedelta(hours=1):
        # Its endpoint was off for longer than the window (then re-enabled).
        result = transport.HttpResult(None, 0, "The 24-hour retry window had closed.")
        verdict = Verdict(AttemptOutcome.FAILED, DeliveryStatus.GAVE_UP, result.error)
        return record(delivery, result, verdict)
    result = send(delivery)
    return record(delivery, result, judge(delivery, result, timezone.now()))


def send(delivery: WebhookDelivery) -> transport.HttpResult:
    """POST the event to the endpoint; slow network I/O, so never inside a transaction."""
    endpoint, event = delivery.endpoint, delivery.event
    body = body_for(endpoint, event)
    try:
        secret = endpoint.secret
    except SecretUnreadable as exc:
        return transport.HttpResult(None, 0, str(exc), refused=True)
    headers = {
        HEADER: signature_header(secret, body),
        "Kaiku-Event-Id": str(event.event_id),
        "Kaiku-Event-Type": event.type,
        "Kaiku-Delivery-Attempt": str(delivery.attempts),
    }
    return transport.post(endpoint.url, body, headers, settings.WEBHOOK_TIMEOUT_SECONDS)


def judge(delivery: WebhookDelivery, result: transport.HttpResult, now: datetime) -> Verdict:
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return Verdict(AttemptOutcome.SUCCEEDED, DeliveryStatus.SUCCEEDED)
    if result.refused:
        return _failed(result.error)
    if code is not None and 300 <= code < 400:
        return _failed(f"HTTP {code}: redirects are not followed.")
    if code is not None and code < 500 and code not in TRANSIENT_STATUSES:
        return _failed(f"HTTP {code}.")
    error = result.error or f"HTTP {code}."
    next_at = next_attempt_at(delivery, now, result.retry_after)
    if next_at is None:
        return Verdict(AttemptOutcome.FAILED, DeliveryStatus.GAVE_UP, error)
    return Verdict(AttemptOutcome.RETRY, DeliveryStatus.PENDING, error, next_at)


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4 … minutes up to 6 h, ±25 %."""
    base = min(MAX_RETRY_DELAY, FIRST_RETRY * 2 ** max(0, attempts - 1))
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)


def next_attempt_at(
    delivery: WebhookDelivery, now: datetime, retry_after: int | None = None
) -> datetime | None:
    """When to try again, or None when the retry window (or the attempt cap) is used up."""
    if delivery.attempts >= MAX_ATTEMPTS:
        return None
    delay = retry_delay(delivery.attempts)
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    window_end = delivery.created_at + RETRY_WINDOW
    if now + delay <= window_end:
        return now + delay
    # One last try at the end of the window, if there is room for it.
    return window_end if window_end - now >= FIRST_RETRY else None


def record(delivery: WebhookDelivery, result: transport.HttpResult, verdict: Verdict) -> str:
    """Store the attempt and its consequences in one transaction; returns the outcome."""
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            outcome=verdict.outcome,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=verdict.error[:300],
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=verdict.status,
            next_attempt_at=verdict.next_attempt_at,
            last_status_code=result.status_code,
            last_duration_ms=result.duration_ms,
            last_error=verdict.error[:300],
        )
        _count_for_endpoint(delivery, verdict)
        if verdict.next_attempt_at is not None:
            transaction.on_commit(
                partial(schedule_retry, delivery.pk, verdict.next_attempt_at), robust=True
            )
    return verdict.outcome


def _count_for_endpoint(delivery: WebhookDelivery, verdict: Verdict) -> None:
    endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    if verdict.outcome == AttemptOutcome.SUCCEEDED:
        endpoints.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
    elif verdict.outcome == AttemptOutcome.FAILED:
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
        disable_if_failing(delivery.endpoint_id, verdict.error)


def disable_if_failing(endpoint_id: int, last_error: str) -> bool:
    """Switch the endpoint off at DISABLE_AFTER_FAILURES failures in a row; email once."""
    from kaiku.webhooks.tasks import send_endpoint_disabled_email

    reason = f"{DISABLE_AFTER_FAILURES} deliveries in a row failed. Last error: {last_error}"
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, is_active=True, consecutive_failures__gte=DISABLE_AFTER_FAILURES
    ).update(is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:300])
    if disabled:
        workspace_id = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list(
            "workspace_id", flat=True
        )
        subscriptions.refresh(workspace_id.get())
        logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
        transaction.on_commit(
            partial(send_endpoint_disabled_email.enqueue, endpoint_id), robust=True
        )
    return bool(disabled)


def schedule_retry(delivery_id: int, when: datetime) -> None:
    """Queue the next attempt for `when` where the job backend can defer jobs.

    Where it cannot (the inline backend), the retry sweeper picks the delivery
    up once it is due; it also rescues attempts whose job got lost.
    """
    from kaiku.webhooks.tasks import deliver_webhook

    if deliver_webhook.get_backend().supports_defer:
        deliver_webhook.using(run_after=when).enqueue(delivery_id)
