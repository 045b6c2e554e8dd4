"""Outbound webhooks in Delighted's format: `{event_type, event_id, event_data}`.

kaiku.webhooks calls `build(event_type, data)` for endpoints whose payload
format is "delighted", with a Kaiku event's type and data (the REST API's
representation: ResponseOut for answers, `{"contact", "unsubscribed_at"}` for
unsubscribes). Kaiku-only events raise ValueError, and the sender falls back
to Kaiku's own format for them.

| Kaiku event          | Delighted event_type      |
|----------------------|---------------------------|
| response.created     | survey_response.created   |
| response.updated     | survey_response.updated   |
| contact.unsubscribed | unsubscribe.created       |

Delighted's own names are accepted as input too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kaiku.contacts.models import Contact
from kaiku.surveys.models import Survey

EVENT_TYPES = {
    "response.created": "survey_response.created",
    "response.updated": "survey_response.updated",
    "contact.unsubscribed": "unsubscribe.created",
    "survey_response.created": "survey_response.created",
    "survey_response.updated": "survey_response.updated",
    "unsubscribe.created": "unsubscribe.created",
}


def build(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The Delighted webhook body for one Kaiku event (the same bytes on every retry)."""
    delighted_type = EVENT_TYPES.get(event_type)
    if delighted_type is None:
        raise ValueError(f"Delighted has no webhook event for {event_type!r}")
    if delighted_type == "unsubscribe.created":
        event_data = _unsubscribe(data)
    else:
        event_data = _survey_response(data)
    return {
        "event_type": delighted_type,
        "event_id": event_id(delighted_type, data),
        "event_data": event_data,
    }


def event_id(event_type: str, data: Mapping[str, Any]) -> str:
    """A 64-hex id like Delighted's, derived from the event so that retries repeat it."""
    canonical = json.dumps(
        {"type": event_type, "data": data}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def unix(value: Any) -> int | None:
    """An ISO 8601 string (as Kaiku's payloads carry times), a datetime or seconds → seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, str):
        return int(datetime.fromisoformat(value).timestamp())
    raise ValueError(f"not a time: {value!r}")


def _person(contact: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not contact:
        return None
    contact_id = contact.get("id")
    # Kaiku's contact data carries no creation time or phone: read them if the row exists.
    row: dict[str, Any] = {}
    if isinstance(contact_id, int):
        row = dict(
            Contact.objects.filter(pk=contact_id).values("created_at", "phone").first() or {}
        )
    return {
        "id": str(contact_id) if contact_id is not None else None,
        "email": contact.get("email") or None,
        "name": contact.get("name") or None,
        "phone_number": row.get("phone") or None,
        "created_at": unix(row.get("created_at")),
    }


def _survey_response(data: Mapping[str, Any]) -> dict[str, Any]:
    if "id" not in data or "score" not in data:
        raise KeyError("a response event needs id and score")
    survey_id = data.get("survey")
    kind = (
        Survey.objects.filter(pk=survey_id).values_list("kind", flat=True).first()
        if isinstance(survey_id, int)
        else None
    )
    return {
        "id": str(data["id"]),
        "person": _person(data.get("contact")),
        "survey_type": kind or "nps",
        "score": data["score"],
        "comment": data.get("comment") or None,
        "permalink": None,
        "created_at": unix(data.get("created_at")),
        "updated_at": unix(data.get("updated_at")),
        "person_properties": dict(data.get("properties") or {}) or None,
        "notes": [],
        "tags": [str(tag) for tag in data.get("tags") or []],
        "additional_answers": [],
    }


def _unsubscribe(data: Mapping[str, Any]) -> dict[str, Any]:
    # Delighted's documentation shows no unsubscribe.created example: the person
    # and the time are what its other unsubscribe shapes (GET /unsubscribes) carry.
    person = _person(data.get("contact") or data.get("person"))
    if person is None:
        raise KeyError("an unsubscribe event needs the contact")
    return {
        "person": person,
        "person_id": person["id"],
        "email": person["email"],
        "unsubscribed_at": unix(data.get("unsubscribed_at")),
    }
