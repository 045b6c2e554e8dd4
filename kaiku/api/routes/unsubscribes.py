"""`/api/v1/unsubscribes`: who asked not to be surveyed, and unsubscribing someone by email.

GET  /api/v1/unsubscribes     ?since=  oldest unsubscribe first, cursor pages
POST /api/v1/unsubscribes     {"email": ...} (read_write key): 201 unsubscribed now, 200 already
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime, field_validator
from pydantic_core import PydanticCustomError

from kaiku.api.auth import request_workspace
from kaiku.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kaiku.api.routes.contacts import contacts_for_workspace
from kaiku.api.schemas import READ_ERRORS, WRITE_ERRORS, ContactOut, ErrorOut, UtcDatetime
from kaiku.contacts.actions import upsert_contact
from kaiku.contacts.models import Contact
from kaiku.surveys.sending import unsubscribe_contact

router = Router(tags=["unsubscribes"])


class UnsubscribeOut(Schema):
    contact: ContactOut
    unsubscribed_at: UtcDatetime

    @staticmethod
    def resolve_contact(obj: Contact) -> Contact:
        return obj


class UnsubscribePage(Schema):
    data: list[UnsubscribeOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class UnsubscribeFilters(Schema):
    since: AwareDatetime | None = Field(None, description="Unsubscribed at or after this time.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, description="next_cursor from the previous page")


class UnsubscribeIn(Schema):
    email: str = Field(max_length=254, description="Created as a contact if unknown.")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            validate_email(value.strip())
        except ValidationError:
            raise PydanticCustomError("invalid", "Enter a valid email address.") from None
        return value.strip().lower()


@router.get(
    "",
    response={200: UnsubscribePage, **READ_ERRORS, 422: ErrorOut},
    summary="List unsubscribes",
    operation_id="list_unsubscribes",
)
def list_unsubscribes(request: HttpRequest, filters: Query[UnsubscribeFilters]) -> Page[Contact]:
    """Contacts who unsubscribed (from every survey: it is per contact), oldest first."""
    contacts = contacts_for_workspace(request_workspace(request)).filter(
        unsubscribed_at__isnull=False
    )
    if filters.since is not None:
        contacts = contacts.filter(unsubscribed_at__gte=filters.since)
    return paginate(
        contacts, ordering=["unsubscribed_at", "id"], cursor=filters.cursor, limit=filters.limit
    )


@router.post(
    "",
    response={200: UnsubscribeOut, 201: UnsubscribeOut, **WRITE_ERRORS},
    summary="Unsubscribe a contact",
    operation_id="create_unsubscribe",
)
def create_unsubscribe(request: HttpRequest, payload: UnsubscribeIn) -> Status[Contact]:
    """Stop every survey email to this address: 201 if unsubscribed now, 200 if already.

    Scheduled invitations are skipped, and a `contact.unsubscribed` webhook event is sent.
    """
    workspace = request_workspace(request)
    with transaction.atomic(durable=True):
        contact = upsert_contact(workspace, email=payload.email)
        changed = unsubscribe_contact(contact)
    return Status(201 if changed else 200, contact)
