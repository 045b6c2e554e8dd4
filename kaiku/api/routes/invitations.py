"""Survey invitations: trigger one after an interaction, list them, cancel one.

POST /api/v1/surveys/{id}/invitations      trigger (read_write key)
GET  /api/v1/surveys/{id}/invitations      list, newest first, cursor pages
POST /api/v1/invitations/{id}/cancel       cancel a scheduled one (read_write key)
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kaiku.accounts.models import Workspace
from kaiku.api.access import get_survey_for_workspace
from kaiku.api.actions import _upsert_api_contact
from kaiku.api.auth import request_workspace
from kaiku.api.errors import ApiError
from kaiku.api.idempotency import IdempotencyKeyHeader, resolve_idempotency_key
from kaiku.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kaiku.api.schemas import (
    MAX_IDEMPOTENCY_KEY,
    READ_ERRORS,
    WRITE_ERRORS,
    ContactIn,
    ContactOut,
    Properties,
    UtcDatetime,
)
from kaiku.surveys.models import Invitation, InvitationStatus
from kaiku.surveys.sending import (
    IdempotencyConflict,
    SurveyInactive,
    cancel_invitation,
    create_triggered_invitation,
)

router = Router(tags=["invitations"])

MAX_DELAY_MINUTES = 60 * 24 * 30  # a month: later than that is a campaign, not a trigger
StatusName = Literal[
    "scheduled", "sending", "sent", "opened", "responded", "failed", "skipped", "cancelled"
]


class InvitationIn(Schema):
    contact: ContactIn = Field(description="Found by external_id, else email; created if new.")
    delay_minutes: int = Field(
        0, ge=0, le=MAX_DELAY_MINUTES, description="Send this many minutes from now."
    )
    properties: Properties = Field(
        None, description="Stored with the invitation and merged into its answer's properties."
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Retries with the same key return the first invitation (also a header).",
    )


class InvitationOut(Schema):
    id: int
    survey: int = Field(validation_alias="survey_id")
    contact: ContactOut
    status: StatusName
    status_reason: str = Field(
        description="Why it was skipped or failed: throttled, unsubscribed, bounced, "
        "no_email, already_answered, or the mail server's answer."
    )
    language: str
    properties: dict[str, Any]
    idempotency_key: str | None
    send_at: UtcDatetime
    sent_at: UtcDatetime | None
    opened_at: UtcDatetime | None
    responded_at: UtcDatetime | None
    reminded_at: UtcDatetime | None
    attempts: int
    created_at: UtcDatetime


class InvitationPage(Schema):
    data: list[InvitationOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def invitations_for_workspace(workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.filter(workspace=workspace).select_related("contact")


def get_invitation_for_workspace(workspace: Workspace, invitation_id: int) -> Invitation:
    invitation = invitations_for_workspace(workspace).filter(pk=invitation_id).first()
    if invitation is None:
        raise ApiError(404, _("No such invitation."))
    return invitation


@router.post(
    "/surveys/{int:survey_id}/invitations",
    response={200: InvitationOut, 201: InvitationOut, **WRITE_ERRORS},
    summary="Invite a contact (after an interaction)",
    operation_id="create_invitation",
)
def create_invitation(
    request: HttpRequest,
    survey_id: int,
    payload: InvitationIn,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Status[Invitation]:
    """Schedule an email invitation; 201 when created, 200 when a retry found it.

    The throttling rules apply: a contact who may not be asked now (recently
    invited, unsubscribed, bounced, no email, already answered) gets an
    invitation with status `skipped` and the reason in `status_reason`.
    """
    key = resolve_idempotency_key(payload.idempotency_key, idempotency_key)
    survey = get_survey_for_workspace(request_workspace(request), survey_id)
    if not survey.is_active:
        raise ApiError(422, _("This survey is not active."))
    contact = _upsert_api_contact(survey.workspace, payload.contact.model_dump(exclude_none=True))
    try:
        invitation, created = create_triggered_invitation(
            survey,
            contact,
            delay_minutes=payload.delay_minutes,
            idempotency_key=key,
            properties=payload.properties,
        )
    except SurveyInactive:
        raise ApiError(422, _("This survey is not active.")) from None
    except IdempotencyConflict:
        raise ApiError(
            409,
            _("This idempotency key was used for another survey or contact."),
            field="idempotency_key",
        ) from None
    return Status(201 if created else 200, invitation)


@router.get(
    "/surveys/{int:survey_id}/invitations",
    response={200: InvitationPage, **READ_ERRORS},
    summary="List a survey's invitations",
    operation_id="list_invitations",
)
def list_invitations(
    request: HttpRequest,
    survey_id: int,
    status: str | None = Query(None, description="Only invitations with this status."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, description="next_cursor from the previous page"),
) -> Page[Invitation]:
    """The survey's invitations, newest first."""
    workspace = request_workspace(request)
    survey = get_survey_for_workspace(workspace, survey_id)
    rows = invitations_for_workspace(workspace).filter(survey=survey)
    if status is not None:
        if status not in InvitationStatus.values:
            raise ApiError(
                422, _("Unknown status: %(status)s.") % {"status": status[:20]}, field="status"
            )
        rows = rows.filter(status=status)
    # (survey, -created_at) is the invitation_survey_log index.
    return paginate(rows, ordering=["-created_at", "-id"], cursor=cursor, limit=limit)


@router.post(
    "/invitations/{int:invitation_id}/cancel",
    response={200: InvitationOut, **WRITE_ERRORS},
    summary="Cancel a scheduled invitation",
    operation_id="cancel_invitation",
)
def cancel(request: HttpRequest, invitation_id: int) -> Invitation:
    """Only `scheduled` invitations can be cancelled; others answer 409."""
    invitation = get_invitation_for_workspace(request_workspace(request), invitation_id)
    if not cancel_invitation(invitation):
        raise ApiError(
            409,
            _("Only scheduled invitations can be cancelled; this one is %(status)s.")
            % {"status": invitation.status},
        )
    return invitation
