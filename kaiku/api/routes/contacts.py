"""`/api/v1/contacts`: list (filters, cursor pages), get, upsert by email or external id, erase.

GET    /api/v1/contacts              ?email= &external_id= &property[plan]=pro &updated_since=
GET    /api/v1/contacts/{id}
POST   /api/v1/contacts              upsert (read_write key): 201 created, 200 updated
DELETE /api/v1/contacts/{id}         GDPR erase (read_write key): 204; answers stay, anonymised
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db.models import JSONField, Q, QuerySet, Value
from django.db.models.fields.json import KeyTransform, KeyTransformExact, KeyTransformIExact
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime

from kaiku.accounts.models import Workspace
from kaiku.api.auth import request_key, request_workspace
from kaiku.api.errors import ApiError
from kaiku.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kaiku.api.schemas import READ_ERRORS, WRITE_ERRORS, ContactIn, ErrorOut, UtcDatetime
from kaiku.contacts.actions import upsert_contact
from kaiku.contacts.models import MAX_PROPERTY_KEY, MAX_PROPERTY_VALUE, Contact
from kaiku.transfer.gdpr import erase_contact

router = Router(tags=["contacts"])

# `property[plan]=pro`: the name between the brackets, the value after `=`.
PROPERTY_PARAM = re.compile(r"^property\[(.+)\]$")
MAX_PROPERTY_FILTERS = 10


class ContactDetailOut(Schema):
    id: int
    email: str | None
    external_id: str | None
    name: str
    language: str
    phone: str
    properties: dict[str, Any]
    unsubscribed_at: UtcDatetime | None
    bounced_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ContactPage(Schema):
    data: list[ContactDetailOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


# --- Property filters (shared with the responses list) ------------------------------------


def property_filters(request: HttpRequest) -> list[tuple[str, str]]:
    """The `property[name]=value` pairs of the query string, validated (422 otherwise)."""
    pairs = []
    for key, values in request.GET.lists():
        match = PROPERTY_PARAM.match(key)
        if match is None:
            continue
        name = match.group(1)
        if len(name) > MAX_PROPERTY_KEY or any(len(v) > MAX_PROPERTY_VALUE for v in values):
            raise ApiError(422, _("Property filter too long."), field=key)
        pairs += [(name, value) for value in values]
    if len(pairs) > MAX_PROPERTY_FILTERS:
        raise ApiError(
            422,
            _("At most %(count)d property filters.") % {"count": MAX_PROPERTY_FILTERS},
            field="property",
        )
    return pairs


def property_condition(field: str, name: str, value: str) -> Q:
    """The JSON property `name` equals `value` as text, case-insensitively.

    `5` matches `"5"` on both databases (LIKE compares as text on SQLite,
    `->>` is text on PostgreSQL); `true`/`false` also match JSON booleans,
    which SQLite would otherwise see as 1 and 0.
    """
    key = KeyTransform(name, field)
    condition = Q(KeyTransformIExact(key, value))
    if value.lower() in ("true", "false"):
        as_json = Value(value.lower() == "true", output_field=JSONField())
        condition |= Q(KeyTransformExact(KeyTransform(name, field), as_json))
    return condition


def filter_properties(queryset: QuerySet[Any], field: str, pairs: list[tuple[str, str]]) -> Any:
    for name, value in pairs:
        queryset = queryset.filter(property_condition(field, name, value))
    return queryset


# --- Routes ----------------------------------------------------------------------------------


def contacts_for_workspace(workspace: Workspace) -> QuerySet[Contact]:
    return Contact.objects.filter(workspace=workspace)


def get_contact_for_workspace(workspace: Workspace, contact_id: int) -> Contact:
    contact = contacts_for_workspace(workspace).filter(pk=contact_id).first()
    if contact is None:
        raise ApiError(404, _("No such contact."))
    return contact


class ContactFilters(Schema):
    email: str | None = Field(None, max_length=254, description="Exact, case-insensitive.")
    external_id: str | None = Field(None, max_length=128)
    updated_since: AwareDatetime | None = Field(
        None, description="Only contacts created or changed at or after this time."
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, description="next_cursor from the previous page")


@router.get(
    "",
    response={200: ContactPage, **READ_ERRORS, 422: ErrorOut},
    summary="List contacts",
    operation_id="list_contacts",
)
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]) -> Page[Contact]:
    """Oldest first; filter by `email`, `external_id`, `updated_since` and any number of
    `property[name]=value` (text match, case-insensitive)."""
    contacts = contacts_for_workspace(request_workspace(request))
    if filters.email:
        contacts = contacts.filter(email=filters.email.strip().lower())
    if filters.external_id:
        contacts = contacts.filter(external_id=filters.external_id)
    if filters.updated_since:
        contacts = contacts.filter(updated_at__gte=filters.updated_since)
    contacts = filter_properties(contacts, "properties", property_filters(request))
    return paginate(contacts, ordering=["id"], cursor=filters.cursor, limit=filters.limit)


@router.get(
    "/{int:contact_id}",
    response={200: ContactDetailOut, **READ_ERRORS},
    summary="Get a contact",
    operation_id="get_contact",
)
def get_contact(request: HttpRequest, contact_id: int) -> Contact:
    return get_contact_for_workspace(request_workspace(request), contact_id)


@router.post(
    "",
    response={200: ContactDetailOut, 201: ContactDetailOut, **WRITE_ERRORS},
    summary="Create or update a contact",
    operation_id="upsert_contact",
)
def upsert(request: HttpRequest, payload: ContactIn) -> Status[Contact]:
    """Found by `external_id`, else `email`; created if new (201), else updated (200).

    Given values overwrite stored ones; `properties` are merged key by key.
    """
    started = timezone.now()
    contact = upsert_contact(request_workspace(request), **payload.model_dump(exclude_none=True))
    return Status(201 if _created_since(contact, started) else 200, contact)


def _created_since(contact: Contact, started: datetime) -> bool:
    return contact.created_at >= started


@router.delete(
    "/{int:contact_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Erase a contact",
    operation_id="delete_contact",
)
def delete_contact(request: HttpRequest, contact_id: int) -> Status[None]:
    """GDPR erase: the contact and their personal data go; their scores stay, anonymised."""
    contact = get_contact_for_workspace(request_workspace(request), contact_id)
    erase_contact(contact, actor=request_key(request))
    return Status(204, None)
