"""GDPR routes beside `/api/v1/contacts` (kaiku.transfer): erase with a report, export.

POST /api/v1/contacts/{id}/erase    read_write key: erase, answer what was anonymised
GET  /api/v1/contacts/{id}/export   everything Kaiku holds about the contact (JSON)

`DELETE /api/v1/contacts/{id}` (routes/contacts.py) erases the same way and
answers 204; this route is for callers who want the counts back.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from kaiku.api.auth import request_key, request_workspace
from kaiku.api.routes.contacts import get_contact_for_workspace
from kaiku.api.schemas import READ_ERRORS, WRITE_ERRORS
from kaiku.transfer.gdpr import erase_contact, export_contact

router = Router(tags=["contacts"])


class ErasureOut(Schema):
    contact_id: int
    responses_anonymised: int
    invitations_deleted: int


@router.post(
    "/{int:contact_id}/erase",
    response={200: ErasureOut, **WRITE_ERRORS},
    summary="Erase a contact and report what was anonymised",
    operation_id="erase_contact",
)
def erase(request: HttpRequest, contact_id: int) -> dict[str, int]:
    """The contact, their invitations and personal data go; their scores stay, anonymised.

    Comments, source references and identifying answer properties (email,
    name, phone, ids) are removed; segment properties such as plan or country
    stay, so statistics are unchanged. See docs/gdpr.md.
    """
    contact = get_contact_for_workspace(request_workspace(request), contact_id)
    result = erase_contact(contact, actor=request_key(request))
    return {
        "contact_id": contact_id,
        "responses_anonymised": result.responses,
        "invitations_deleted": result.invitations,
    }


@router.get(
    "/{int:contact_id}/export",
    response={200: dict[str, Any], **READ_ERRORS},
    summary="Export everything about a contact",
    operation_id="export_contact",
)
def export(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    """The contact, their answers and invitations (and cases, notes … where installed)."""
    contact = get_contact_for_workspace(request_workspace(request), contact_id)
    return export_contact(contact, actor=request_key(request))
