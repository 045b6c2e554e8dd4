"""Webhooks out (endpoints, events, deliveries, attempts) and events in (rules, inbound log)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Workspace
from kaiku.surveys.models import Survey
from kaiku.webhooks.crypto import decrypt_secret, encrypt_secret
from kaiku.webhooks.rules import check_conditions

# The events an endpoint may subscribe to. case.* are emitted by the cases
# feature (kaiku.webhooks.actions.emit_event); the types are fixed here so that
# receivers can rely on them before that lands.
EVENT_TYPES = (
    "response.created",
    "response.updated",
    "case.opened",
    "case.updated",
    "contact.unsubscribed",
)
# Sent by the "Send a test event" button to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"


def validate_event_types(value: Any) -> None:
    if (
        not isinstance(value, list)
        or not value
        or any(item not in EVENT_TYPES for item in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError(
            _("Choose one or more of: %(types)s."), params={"types": ", ".join(EVENT_TYPES)}
        )


class PayloadFormat(models.TextChoices):
    KAIKU = "kaiku", _("Kaiku")
    DELIGHTED = "delighted", _("Delighted-compatible")


class WebhookEndpoint(models.Model):
    """A URL that receives a workspace's events, signed with its own secret."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Fernet token (AES-128-CBC + HMAC) under a key derived from SECRET_KEY: the
    # secret has to be readable to sign, so it cannot be hashed like API keys;
    # a database dump alone does not reveal it (see kaiku.webhooks.crypto).
    secret_encrypted = models.TextField(editable=False)
    events = models.JSONField(_("events"), default=list, validators=[validate_event_types])
    payload_format = models.CharField(
        _("payload format"),
        max_length=10,
        choices=PayloadFormat.choices,
        default=PayloadFormat.KAIKU,
    )
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Deliveries in a row that ended in failure (permanent error or gave up
    # after the retry window); a success resets it. At DISABLE_AFTER_FAILURES
    # the endpoint is switched off and the workspace's owners and admins emailed.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["workspace", "is_active"], name="webhook_endpoint_ws")]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return decrypt_secret(self.secret_encrypted)

    def set_secret(self, plaintext: str) -> None:
        self.secret_encrypted = encrypt_secret(plaintext)

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in (self.events or [])


class WebhookEvent(models.Model):
    """Something that happened, stored once and delivered to each subscribed endpoint.

    `event_id` travels in the body (`id`) and never changes across retries, so
    a receiver deduplicates by it. Stored only when at least one endpoint listens.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "created_at"], name="webhook_event_ws_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    # A permanent error (4xx, redirect, refused address): not retried.
    FAILED = "failed", _("Failed")
    # Transient errors until the retry window closed.
    GAVE_UP = "gave_up", _("Gave up")


class WebhookDelivery(models.Model):
    """One event to one endpoint: pending until delivered, failed or given up.

    Scheduled work as a row: `next_attempt_at` is when the next attempt is due;
    a worker claims an attempt with a conditional update that moves it forward
    by a lease (kaiku.webhooks.delivery.claim), so two workers never send the
    same attempt, and a worker that dies mid-attempt is retried after the lease.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_unique"),
        ]
        indexes = [
            # The retry sweeper (kaiku.webhooks.schedule.retry_due_deliveries,
            # every minute): pending deliveries whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
            # The delivery log of one endpoint, newest first (keyset by id).
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", _("Delivered")
    RETRY = "retry", _("Will retry")
    FAILED = "failed", _("Failed")


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, whatever came of it (the delivery log's detail)."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [models.Index(fields=["delivery", "number"], name="webhook_attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number} {self.outcome}"


# --- Events in ------------------------------------------------------------------------

MAX_DELAY_MINUTES = 60 * 24 * 30


def validate_conditions(value: Any) -> None:
    """A list of at most 10 `{property, op, value}`; see kaiku.webhooks.rules."""
    check_conditions(value)


class EventRule(models.Model):
    """When an event of `event_type` comes in and its conditions hold, invite to `survey`."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(_("event type"), max_length=100)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    delay_minutes = models.PositiveIntegerField(_("delay (minutes)"), default=0)
    conditions = models.JSONField(
        _("conditions"), default=list, blank=True, validators=[validate_conditions]
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event_type", "id"]
        indexes = [models.Index(fields=["workspace", "event_type"], name="event_rule_type")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.survey_id}"


class InboundEvent(models.Model):
    """An event received through POST /api/v1/events, with what it led to.

    `outcome` is the list the API answered (one item per matched rule); a retry
    with the same idempotency key answers it again without acting twice.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=100)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    properties = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    outcome = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="inbound_event_unique_key",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-id"], name="inbound_event_log")]

    def __str__(self) -> str:
        return f"{self.type} ({self.created_at:%Y-%m-%d %H:%M})"
