"""Lookups scoped to the API key's workspace: another workspace's rows are 404s.

The only way the Delighted views reach contacts, surveys and answers.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.delighted.http import DelightedError, invalid, not_found
from kaiku.delighted.models import DelightedSettings
from kaiku.delighted.parsing import as_text
from kaiku.responses.models import Response
from kaiku.surveys.models import Kind, Survey


def settings_for(workspace: Workspace) -> DelightedSettings | None:
    return (
        DelightedSettings.objects.select_related("target_survey")
        .filter(workspace=workspace)
        .first()
    )


def default_survey(workspace: Workspace) -> Survey | None:
    """The survey Delighted clients use when they name no trend.

    The configured target survey; without one, the workspace's first NPS survey
    (oldest first), so that a workspace with one survey works with no setup.
    """
    configured = settings_for(workspace)
    if configured is not None and configured.target_survey is not None:
        return configured.target_survey
    return (
        Survey.objects.filter(workspace=workspace, kind=Kind.NPS)
        .order_by("created_at", "id")
        .first()
    )


def target_survey(workspace: Workspace) -> Survey:
    """The survey writes go to, or a 422 telling the owner what to set."""
    survey = default_survey(workspace)
    if survey is None:
        raise DelightedError(
            422,
            "No target survey: create an NPS survey or choose one on the workspace's "
            "Delighted settings page.",
        )
    return survey


def survey_for_trend(workspace: Workspace, params: dict[str, Any]) -> Survey | None:
    """`trend=<Kaiku survey id>`, else the default survey (None: no survey at all)."""
    trend = as_text(params, "trend")
    if trend is None:
        return default_survey(workspace)
    survey_id = small_id(trend)
    survey = (
        None
        if survey_id is None
        else Survey.objects.filter(workspace=workspace, pk=survey_id).first()
    )
    if survey is None:
        # The same answer for unknown ids and other workspaces' surveys.
        raise invalid("trend", "is not a survey of this workspace")
    return survey


def small_id(text: str) -> int | None:
    """A database id written as digits; None for anything else (or too long for a bigint)."""
    return int(text) if text.isdigit() and len(text) <= 18 else None


def contacts_for(workspace: Workspace) -> QuerySet[Contact]:
    return Contact.objects.filter(workspace=workspace)


def find_person(workspace: Workspace, identifier: str) -> Contact | None:
    """A person by Delighted identifier: `123`, `email:…`, `phone_number:…` or a bare email."""
    identifier = identifier.strip()
    contacts = contacts_for(workspace)
    kind, sep, value = identifier.partition(":")
    if sep and kind == "email":
        return contacts.filter(email=value.strip().lower()).first() if value.strip() else None
    if sep and kind == "phone_number":
        return (
            contacts.filter(phone=value.strip()).order_by("id").first() if value.strip() else None
        )
    if sep and kind == "id":
        identifier = value.strip()
    contact_id = small_id(identifier)
    if contact_id is not None:
        return contacts.filter(pk=contact_id).first()
    if "@" in identifier:
        return contacts.filter(email=identifier.lower()).first()
    return None


def get_person(workspace: Workspace, identifier: str) -> Contact:
    contact = find_person(workspace, identifier)
    if contact is None:
        raise not_found("Person not found")
    return contact


def responses_for(workspace: Workspace) -> QuerySet[Response]:
    return Response.objects.filter(workspace=workspace).select_related("survey")


def get_response(workspace: Workspace, response_id: int) -> Response:
    response = responses_for(workspace).filter(pk=response_id).first()
    if response is None:
        raise not_found("Survey response not found")
    return response
