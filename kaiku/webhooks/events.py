"""Hooks that other apps call to emit webhook events, with the data each event carries.

The data of an event is the REST API's representation of its object (the same
schema as GET /api/v1/responses/{id} and so on), so one parser serves both.
A failure here is logged and swallowed: a webhook must never cost an answer
or an unsubscribe. The savepoint in emit_event keeps the caller's transaction
usable if a query of ours fails.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, transaction

from kaiku.webhooks.actions import create_event_for, emit_event_for, listening_endpoints
from kaiku.webhooks.models import WebhookEvent
from kaiku.webhooks.subscriptions import none_listens

if TYPE_CHECKING:
    from kaiku.contacts.models import Contact
    from kaiku.responses.models import Response
    from kaiku.surveys.models import Survey

logger = logging.getLogger(__name__)


def response_data(response: Response) -> dict[str, Any]:
    from kaiku.api.schemas import ResponseOut  # the API imports the responses app

    return ResponseOut.model_validate(response).model_dump()


def contact_data(contact: Contact) -> dict[str, Any]:
    from kaiku.api.schemas import ContactOut

    return ContactOut.model_validate(contact).model_dump()


def emit_response_event(response: Response, *, created: bool) -> WebhookEvent | None:
    """`response.created` or `response.updated`, inside the answer's transaction.

    Every answer passes here, and most workspaces have no endpoint: when the caller
    read the workspace with the survey (the answer pages and the API do), its
    webhook_events says so without a query; else the check is one plain SELECT (a
    read cannot spoil the answer's transaction unless the database itself fails, and
    then the answer fails anyway). Only when an endpoint listens is the answer
    serialised and the event written, in a savepoint.
    """
    event_type = "response.created" if created else "response.updated"
    if _known_silent(_survey_read_with(response), event_type):
        return None  # known from the workspace row the request read: no query
    try:
        endpoints = listening_endpoints(response.workspace_id, event_type)
        if not endpoints:
            return None
        # A savepoint: a failure of ours leaves the answer's transaction usable.
        with transaction.atomic():
            data = response_data(response)
            return create_event_for(response.workspace_id, event_type, data, endpoints)
    except (DatabaseError, ValueError, TypeError, AttributeError):
        logger.exception("webhooks: could not emit %s for response %s", event_type, response.pk)
        return None


def may_listen_for(survey: Survey, event_type: str) -> bool:
    """Whether an endpoint may listen for an answer's event: from the workspace row
    the caller read with the survey when it did, else one query."""
    if _known_silent(survey, event_type):
        return False
    return bool(listening_endpoints(survey.workspace_id, event_type))


def _known_silent(survey: Survey | None, event_type: str) -> bool:
    """True when the workspace the caller read with `survey` says nobody listens (no query)."""
    if survey is None or not type(survey).workspace.is_cached(survey):
        return False
    return none_listens(survey.workspace, event_type)


def _survey_read_with(response: Response) -> Survey | None:
    return response.survey if type(response).survey.is_cached(response) else None


def emit_contact_unsubscribed(contact: Contact, *, at: datetime) -> WebhookEvent | None:
    """`contact.unsubscribed`, inside the unsubscribe's transaction (`at`: when)."""
    data = {"contact": contact_data(contact), "unsubscribed_at": at}
    try:
        with transaction.atomic():
            return emit_event_for(contact.workspace_id, "contact.unsubscribed", data)
    except (DatabaseError, ValueError, TypeError, AttributeError):
        logger.exception("webhooks: could not emit contact.unsubscribed for %s", contact.pk)
        return None
