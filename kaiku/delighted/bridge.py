"""The Kaiku actions the Delighted API maps onto, owned by other apps.

Sending, cancelling and unsubscribing are kaiku.surveys.sending's. The GDPR
erase (kaiku.transfer) and webhook events (kaiku.webhooks) are found by name at
call time: those apps are optional to this one, and each has a small fallback
that does only what the Delighted contract needs.
"""

from __future__ import annotations

import importlib
import logging
import math
from typing import Any

from django.db import transaction
from django.utils import timezone

from kaiku.api.models import ApiKey
from kaiku.contacts.models import Contact
from kaiku.delighted.http import DelightedError
from kaiku.responses.models import Response
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from kaiku.surveys.sending import (
    SurveyInactive,
    cancel_invitation,
    create_triggered_invitation,
    unsubscribe_contact,
)

logger = logging.getLogger("kaiku.delighted")


def _find(module_name: str, *names: str) -> Any:
    """The first of `names` that `module_name` defines, or None."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    for name in names:
        found = getattr(module, name, None)
        if callable(found):
            return found
    return None


def delay_minutes(delay_seconds: int) -> int:
    """Delighted's `delay` is in seconds; Kaiku schedules in whole minutes (rounded up)."""
    return max(0, math.ceil(delay_seconds / 60))


def schedule_invitation(
    survey: Survey,
    contact: Contact,
    *,
    delay_seconds: int = 0,
    properties: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Invitation | None:
    """Schedule one survey email; None when Kaiku decided not to send (throttled …).

    The throttling rules of kaiku.surveys.sending apply, as Delighted's survey
    throttling did: a skipped invitation is recorded with its reason.
    """
    try:
        invitation, _created = create_triggered_invitation(
            survey,
            contact,
            delay_minutes=delay_minutes(delay_seconds),
            idempotency_key=idempotency_key,
            properties=properties,
        )
    except SurveyInactive:
        raise DelightedError(422, errors={"survey": ["is inactive"]}) from None
    if invitation.status not in (InvitationStatus.SCHEDULED, InvitationStatus.SENDING):
        return None
    return invitation


def cancel_pending(contact: Contact) -> int:
    """Cancel the contact's scheduled, not yet claimed invitations; how many."""
    # Only `scheduled`: a `sending` invitation is in a worker's hands already.
    scheduled = Invitation.objects.filter(contact=contact, status=InvitationStatus.SCHEDULED)
    return sum(cancel_invitation(invitation) for invitation in scheduled)


def unsubscribe(contact: Contact) -> bool:
    """Unsubscribe the contact (Kaiku's one unsubscribe action); True if this call did it."""
    return unsubscribe_contact(contact)


def erase(contact: Contact, key: ApiKey) -> None:
    """Delighted's "delete person": remove the person's personal data.

    With kaiku.transfer's erase_contact: the contact goes and its answers keep
    their scores without comment or identifying properties (and an audit entry
    names the API key). Without it: the same in short.
    """
    erase_contact = _find("kaiku.transfer.gdpr", "erase_contact")
    if erase_contact is not None:
        erase_contact(contact, actor=key)
        return
    with transaction.atomic():
        contact.responses.update(
            contact=None,
            invitation=None,
            comment="",
            comment_language="",
            source_ref="",
            properties={},
            updated_at=timezone.now(),
        )
        contact.delete()


def emit_response_updated(response: Response) -> None:
    """The `response.updated` webhook event, inside the change's transaction (if webhooks exist)."""
    emit = _find("kaiku.webhooks.events", "emit_response_event")
    if emit is not None:
        emit(response, created=False)
