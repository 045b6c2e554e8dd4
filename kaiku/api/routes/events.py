"""`POST /api/v1/events`: an event from a helpdesk or CRM that may trigger survey invitations.

The workspace's event rules (the *Event rules* page) decide: each active rule
for the event's type whose conditions hold invites the contact to its survey
after its delay, through the same throttling as every invitation. The answer
lists what happened per matched rule. Recipes: docs/integrations.md.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kaiku.api.auth import request_workspace
from kaiku.api.idempotency import IdempotencyKeyHeader, resolve_idempotency_key
from kaiku.api.schemas import MAX_IDEMPOTENCY_KEY, WRITE_ERRORS, ContactIn, Properties, UtcDatetime
from kaiku.webhooks.inbound import receive_event
from kaiku.webhooks.models import InboundEvent

router = Router(tags=["events"])


class EventIn(Schema):
    type: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="Your event's name, e.g. ticket.solved or order.delivered.",
    )
    contact: ContactIn = Field(description="Found by external_id, else email; created if new.")
    properties: Properties = Field(
        None,
        description="Tested by the rules' conditions (over the contact's properties) and "
        "stored with the invitation, so the answer carries them (e.g. ticket_channel).",
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Retries with the same key answer the first result and invite nobody twice.",
    )


class RuleOutcome(Schema):
    rule: int
    survey: int
    invitation: int | None = Field(description="The invitation's id (also when skipped).")
    status: str = Field(description="scheduled, or skipped (see reason).")
    reason: str = Field(
        description="Why it was skipped: throttled, unsubscribed, bounced, no_email, "
        "already_answered, survey_inactive; empty when scheduled."
    )
    send_at: UtcDatetime | None
    created: bool = Field(description="False when an earlier request made the invitation.")


class EventOut(Schema):
    id: int
    type: str
    contact: int | None = Field(validation_alias="contact_id")
    properties: dict[str, Any]
    idempotency_key: str | None
    matched: list[RuleOutcome] = Field(
        validation_alias="outcome", description="One item per matched rule; empty if none."
    )
    message: str
    created_at: UtcDatetime

    @staticmethod
    def resolve_message(obj: InboundEvent) -> str:
        count = len(obj.outcome)
        if count == 0:
            return "No rule matched."
        return "1 rule matched." if count == 1 else f"{count} rules matched."


@router.post(
    "",
    response={200: EventOut, 201: EventOut, **WRITE_ERRORS},
    summary="Send an event",
    operation_id="create_event",
)
def create_event(
    request: HttpRequest,
    payload: EventIn,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Status[InboundEvent]:
    """201 when received now; 200 when a retry with the same key found the first one."""
    key = resolve_idempotency_key(payload.idempotency_key, idempotency_key)
    received = receive_event(
        request_workspace(request),
        type=payload.type,
        contact=payload.contact.model_dump(exclude_none=True),
        properties=payload.properties,
        idempotency_key=key,
    )
    return Status(201 if received.created else 200, received.event)
