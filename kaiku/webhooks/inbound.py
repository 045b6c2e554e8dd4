"""Events in: `POST /api/v1/events` turns a helpdesk's or CRM's event into invitations.

receive_event() upserts the contact, finds the workspace's active rules for the
event type whose conditions hold on the properties (the event's over the
contact's), and asks kaiku.surveys.sending.create_triggered_invitation for one
invitation per matched rule, so every throttling rule applies (recontact
window, unsubscribes, bounces, already answered). Each rule's outcome is
stored with the event: a retry with the same idempotency key answers it again
and invites nobody twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from kaiku.accounts.models import Workspace
from kaiku.contacts.actions import upsert_contact
from kaiku.contacts.models import Contact
from kaiku.surveys.sending import (
    IdempotencyConflict,
    SurveyInactive,
    create_triggered_invitation,
)
from kaiku.webhooks.delivery import to_json
from kaiku.webhooks.models import EventRule, InboundEvent
from kaiku.webhooks.rules import matches

SURVEY_INACTIVE = "survey_inactive"
KEY_CONFLICT = "idempotency_conflict"
_NOT_CREATED = {"send_at": None, "created": False}


@dataclass(frozen=True)
class Received:
    event: InboundEvent
    created: bool


def receive_event(
    workspace: Workspace,
    *,
    type: str,
    contact: Mapping[str, Any],
    properties: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Received:
    """Store the event and act on its rules; an earlier event with the key is returned as is.

    `contact` holds upsert_contact's arguments (email and/or external_id, name,
    language, properties). Raises ValidationError for a bad contact. Must not
    run inside another transaction.
    """
    for attempt in range(3):
        try:
            with transaction.atomic(durable=True):
                return _receive(workspace, type, contact, dict(properties or {}), idempotency_key)
        except IntegrityError:
            # A concurrent request with the same key committed first: answer with it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _receive(
    workspace: Workspace,
    type: str,
    contact_data: Mapping[str, Any],
    properties: dict[str, Any],
    key: str | None,
) -> Received:
    if key is not None:
        earlier = InboundEvent.objects.filter(workspace=workspace, idempotency_key=key).first()
        if earlier is not None:
            return Received(earlier, created=False)
    contact = upsert_contact(workspace, **contact_data)
    merged = {**(contact.properties or {}), **properties}
    rules = EventRule.objects.select_related("survey", "survey__workspace").filter(
        workspace=workspace, event_type=type, is_active=True
    )
    outcome = [
        _invite(rule, contact, properties, key)
        for rule in rules.order_by("id")
        if matches(rule.conditions, merged)
    ]
    event = InboundEvent.objects.create(
        workspace=workspace,
        type=type,
        contact=contact,
        properties=properties,
        idempotency_key=key,
        outcome=outcome,
    )
    return Received(event, created=True)


def _rule_key(key: str | None, rule: EventRule) -> str | None:
    """The invitation's idempotency key: one per event key and rule, ≤ 200 characters."""
    if key is None:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"event-{digest}-rule-{rule.pk}"


def _invite(
    rule: EventRule, contact: Contact, properties: dict[str, Any], key: str | None
) -> dict[str, Any]:
    item: dict[str, Any] = {"rule": rule.pk, "survey": rule.survey_id, "invitation": None}
    try:
        invitation, created = create_triggered_invitation(
            rule.survey,
            contact,
            delay_minutes=rule.delay_minutes,
            idempotency_key=_rule_key(key, rule),
            properties=properties,
        )
    except SurveyInactive:
        return {**item, "status": "skipped", "reason": SURVEY_INACTIVE, **_NOT_CREATED}
    except IdempotencyConflict:
        return {**item, "status": "skipped", "reason": KEY_CONFLICT, **_NOT_CREATED}
    return {
        **item,
        "invitation": invitation.pk,
        "status": invitation.status,
        "reason": invitation.status_reason,
        "send_at": to_json(invitation.send_at),
        "created": created,
    }
