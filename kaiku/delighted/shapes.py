"""Kaiku rows in Delighted's JSON shapes: string ids, Unix seconds, Delighted's names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from kaiku.contacts.models import Contact
from kaiku.delighted.models import AutopilotMembership
from kaiku.delighted.parsing import unix
from kaiku.responses.models import Response
from kaiku.surveys.models import Invitation, InvitationStatus


def with_activity(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Contacts annotated with the times Delighted shows on a person, in the same query.

    Correlated subqueries (one row each), not joins with aggregates: a joined
    GROUP BY would multiply a contact by its invitations times its answers.
    """
    invitations = Invitation.objects.filter(contact=OuterRef("pk")).order_by()
    last_sent = invitations.filter(sent_at__isnull=False).order_by("-sent_at")
    next_scheduled = invitations.filter(status=InvitationStatus.SCHEDULED).order_by("send_at")
    last_response = Response.objects.filter(contact=OuterRef("pk")).order_by("-created_at")
    return contacts.annotate(
        d_last_sent_at=Subquery(last_sent.values("sent_at")[:1]),
        d_next_scheduled_at=Subquery(next_scheduled.values("send_at")[:1]),
        d_last_responded_at=Subquery(last_response.values("created_at")[:1]),
    )


def person(contact: Contact) -> dict[str, Any]:
    """Delighted's person. Activity times need `with_activity` (else they are null)."""
    return {
        "id": str(contact.pk),
        "email": contact.email or None,
        "name": contact.name or None,
        "phone_number": contact.phone or None,
        "created_at": unix(contact.created_at),
        "last_sent_at": unix(getattr(contact, "d_last_sent_at", None)),
        "last_responded_at": unix(getattr(contact, "d_last_responded_at", None)),
        "next_survey_scheduled_at": unix(getattr(contact, "d_next_scheduled_at", None)),
    }


def short_person(contact: Contact) -> dict[str, Any]:
    """The person inside webhooks and Autopilot memberships."""
    return {
        "id": str(contact.pk),
        "email": contact.email or None,
        "name": contact.name or None,
        "phone_number": contact.phone or None,
        "created_at": unix(contact.created_at),
    }


def survey_response(
    response: Response,
    *,
    people: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Delighted's survey_response; `people` (contact id → person) expands `person`."""
    person_value: Any = str(response.contact_id) if response.contact_id else None
    if people is not None and response.contact_id in people:
        person_value = people[response.contact_id]
    return {
        "id": str(response.pk),
        "person": person_value,
        "survey_type": response.survey.kind,
        "score": response.score,
        "comment": response.comment or None,
        # Kaiku has no public page per answer yet; clients treat permalink as optional.
        "permalink": None,
        "created_at": unix(response.created_at),
        "updated_at": unix(response.updated_at),
        "person_properties": dict(response.properties) or None,
        # Kaiku keeps one free-text note per answer, not Delighted's list of notes.
        "notes": [],
        "tags": [str(tag) for tag in response.tags or []],
        "additional_answers": [],
        "trend": str(response.survey_id),
    }


def people_by_id(contact_ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    """Persons for `expand[]=person`: one query for a whole page of answers."""
    ids = {contact_id for contact_id in contact_ids if contact_id is not None}
    if not ids:
        return {}
    return {c.pk: person(c) for c in with_activity(Contact.objects.filter(pk__in=ids).order_by())}


def membership(item: AutopilotMembership, next_invitation: Invitation | None) -> dict[str, Any]:
    return {
        "created_at": unix(item.created_at),
        "updated_at": unix(item.updated_at),
        "person": short_person(item.contact),
        "next_survey_request": (
            None
            if next_invitation is None
            else {
                "id": str(next_invitation.pk),
                "created_at": unix(next_invitation.created_at),
                "survey_scheduled_at": unix(next_invitation.send_at),
                "properties": dict(next_invitation.properties) or {},
            }
        ),
        "properties": dict(item.properties),
    }


def next_invitations(contact_ids: Iterable[int]) -> dict[int, Invitation]:
    """Each contact's earliest scheduled invitation, in one query (a few rows per contact)."""
    found: dict[int, Invitation] = {}
    scheduled = Invitation.objects.filter(
        contact_id__in=list(contact_ids), status=InvitationStatus.SCHEDULED
    ).order_by("send_at", "id")
    for invitation in scheduled:
        found.setdefault(invitation.contact_id, invitation)
    return found
