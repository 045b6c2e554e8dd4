"""Writes made through the Delighted-compatible API, mapped onto Kaiku's own actions.

People are contacts (upsert_contact), survey requests are invitations
(kaiku.surveys.sending), answers go through record_response; the few writes
Kaiku has no action for yet (editing an answer, a phone-only person) are
here, atomic and with conditional updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.api.models import ApiKey
from kaiku.contacts.actions import MAX_NAME, MAX_PHONE, normalise_language, upsert_contact
from kaiku.contacts.models import Contact, validate_properties
from kaiku.delighted import bridge
from kaiku.delighted.access import (
    contacts_for,
    default_survey,
    find_person,
    settings_for,
    survey_for_trend,
    target_survey,
)
from kaiku.delighted.http import DelightedError, invalid
from kaiku.delighted.models import AutopilotMembership, DelightedSettings, Platform
from kaiku.delighted.parsing import (
    ParamError,
    as_bool,
    as_dict,
    as_int,
    as_text,
    as_time,
)
from kaiku.responses.actions import AnswerRejected, clean_comment, clean_properties, record_response
from kaiku.responses.models import Channel, Response
from kaiku.responses.outbox import queue_processing
from kaiku.surveys.models import Invitation, InvitationStatus

# Delighted's special properties: they shape one survey request, not the person.
SPECIAL_PROPERTIES = frozenset(
    {
        "locale",
        "question_product_name",
        "delighted_email_subject",
        "delighted_intro_message",
        "thank_you_message",
        "thank_you_link_text",
        "thank_you_link_url",
    }
)
# Delighted's names for the fields upsert_contact reports errors on.
FIELD_NAMES = {"phone": "phone_number", "external_id": "email"}
AUTOPILOT_KEY_PREFIX = "delighted-autopilot"
AUTOPILOT_BATCH = 500


@dataclass(frozen=True)
class SentToPerson:
    contact: Contact
    invitation: Invitation | None
    properties: dict[str, Any] = field(default_factory=dict)


def _scalar_properties(name: str, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Delighted property values are text or numbers; Kaiku stores flat scalars."""
    properties = {str(key): value for key, value in (raw or {}).items()}
    for key, value in properties.items():
        if isinstance(value, dict | list):
            raise ParamError(f"{name}[{key}]", "must be text or a number")
    return properties


def send_to_person(workspace: Workspace, params: Mapping[str, Any]) -> SentToPerson:
    """POST /people: create or update a person and, unless `send=false`, schedule a survey."""
    email = as_text(params, "email")
    phone = as_text(params, "phone_number")
    channel = as_text(params, "channel") or "email"
    if channel not in ("email", "sms"):
        raise invalid("channel", "is not included in the list")
    if email is None and phone is None:
        raise invalid("email", "can't be blank")
    properties = _scalar_properties("properties", as_dict(params, "properties"))
    special = {k: v for k, v in properties.items() if k in SPECIAL_PROPERTIES}
    plain = {k: v for k, v in properties.items() if k not in SPECIAL_PROPERTIES}
    delay = as_int(params, "delay") or 0
    if delay < 0:
        raise invalid("delay", "must be greater than or equal to 0")
    send = as_bool(params, "send", True)
    # Resolved before any write, so that a 422 leaves nothing half-done.
    survey = target_survey(workspace) if send else None
    locale = special.get("locale")
    contact = _upsert_person(
        workspace,
        email=email,
        phone=phone,
        name=as_text(params, "name"),
        language=str(locale) if locale else None,
        properties=plain,
    )
    _apply_updates(contact, params)
    invitation = None
    # Kaiku sends email only: an SMS request stores the person without a send.
    if survey is not None and channel == "email" and contact.email:
        request_properties = {k: v for k, v in special.items() if k != "locale"}
        invitation = bridge.schedule_invitation(
            survey, contact, delay_seconds=delay, properties=request_properties or None
        )
    return SentToPerson(contact, invitation, properties)


def _upsert_person(
    workspace: Workspace,
    *,
    email: str | None,
    phone: str | None,
    name: str | None,
    language: str | None,
    properties: dict[str, Any],
) -> Contact:
    try:
        if email is not None:
            return upsert_contact(
                workspace,
                email=email,
                name=name,
                phone=phone,
                language=language,
                properties=properties,
            )
        assert phone is not None
        existing = contacts_for(workspace).filter(phone=phone).order_by("id").first()
        if existing is not None and (existing.email or existing.external_id):
            return upsert_contact(
                workspace,
                email=existing.email,
                external_id=existing.external_id,
                name=name,
                language=language,
                properties=properties,
            )
        return _upsert_phone_only(workspace, existing, phone, name, language, properties)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            errors = {
                FIELD_NAMES.get(name, name): [str(m) for m in messages]
                for name, messages in exc.message_dict.items()
            }
            raise DelightedError(422, errors=errors) from None
        raise DelightedError(422, errors={"properties": [str(m) for m in exc.messages]}) from None


def _upsert_phone_only(
    workspace: Workspace,
    existing: Contact | None,
    phone: str,
    name: str | None,
    language: str | None,
    properties: dict[str, Any],
) -> Contact:
    """A person known only by phone number (Delighted's SMS people).

    upsert_contact needs an email or an external id; such a contact has
    neither, so it is found by its phone number and written here.
    """
    if len(phone) > MAX_PHONE:
        raise DelightedError(422, errors={"phone_number": ["is too long"]})
    if name is not None and len(name) > MAX_NAME:
        raise DelightedError(422, errors={"name": ["is too long"]})
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update().filter(pk=existing.pk).first()
            if existing is not None
            else None
        ) or Contact(workspace=workspace, phone=phone)
        contact.properties = {**contact.properties, **properties}
        validate_properties(contact.properties)
        if name is not None:
            contact.name = name
        if language and normalise_language(language):
            contact.language = normalise_language(language)
        contact.save()
    return contact


def _apply_updates(contact: Contact, params: Mapping[str, Any]) -> None:
    """`email_update` and `phone_number_update`: change the person's identifiers."""
    new_email = as_text(params, "email_update")
    new_phone = as_text(params, "phone_number_update")
    changes: dict[str, Any] = {}
    if new_email is not None:
        new_email = new_email.lower()
        try:
            Contact._meta.get_field("email").run_validators(new_email)
        except ValidationError:
            raise invalid("email_update", "is invalid") from None
        taken = contacts_for(contact.workspace).filter(email=new_email).exclude(pk=contact.pk)
        if taken.exists():
            raise invalid("email_update", "has already been taken")
        changes["email"] = new_email
    if new_phone is not None:
        if len(new_phone) > MAX_PHONE:
            raise invalid("phone_number_update", "is too long")
        changes["phone"] = new_phone
    if changes:
        Contact.objects.filter(pk=contact.pk).update(**changes, updated_at=timezone.now())
        for name, value in changes.items():
            setattr(contact, name, value)


# --- Survey responses -------------------------------------------------------------------


def add_survey_response(workspace: Workspace, params: Mapping[str, Any]) -> Response:
    """POST /survey_responses: an answer from an existing person, through record_response."""
    person_id = _person_reference(params)
    if person_id is None:
        raise invalid("person", "can't be blank")
    contact = find_person(workspace, person_id)
    if contact is None:
        raise invalid("person", "does not exist")
    score = as_int(params, "score")
    if score is None:
        raise invalid("score", "can't be blank")
    survey = survey_for_trend(workspace, dict(params)) if params.get("trend") else None
    recorded = record_response(
        survey=survey or target_survey(workspace),
        score=score,
        channel=Channel.API,
        comment=_comment(params),
        contact=contact,
        properties=_scalar_properties("person_properties", as_dict(params, "person_properties")),
        created_at=as_time(params, "created_at"),
    )
    return recorded.response


def _person_reference(params: Mapping[str, Any]) -> str | None:
    """`person` is an id, or (when a client sends back an expanded answer) a person object."""
    value = params.get("person")
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or isinstance(value, bool | list | dict):
        return None
    return str(value).strip() or None


def _comment(params: Mapping[str, Any]) -> str | None:
    value = params.get("comment")
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("comment", "must be text")
    return value


def update_survey_response(
    workspace: Workspace, response: Response, params: Mapping[str, Any]
) -> Response:
    """PUT /survey_responses/:id: change score, comment, person_properties or person.

    Delighted's clients send the whole answer back (id, permalink, notes …):
    unknown and read-only fields are ignored, and a field sent back unchanged
    changes nothing. Unlike a respondent's own edit, an API key may change an
    answer at any time, as in Delighted.
    """
    changes: dict[str, Any] = {}
    if "score" in params:
        score = as_int(params, "score")
        survey = response.survey
        if score is None or not survey.scale_min <= score <= survey.scale_max:
            raise AnswerRejected(
                "score", f"must be a whole number from {survey.scale_min} to {survey.scale_max}"
            )
        changes["score"] = score
    if "comment" in params:
        changes["comment"] = clean_comment(_comment(params)) or ""
    if as_dict(params, "person_properties"):
        added = clean_properties(
            _scalar_properties("person_properties", as_dict(params, "person_properties"))
        )
        changes["properties"] = {**response.properties, **added}
    if params.get("person") is not None:
        person_id = _person_reference(params)
        contact = find_person(workspace, person_id) if person_id else None
        if contact is None:
            raise invalid("person", "does not exist")
        changes["contact_id"] = contact.pk
    return _store_changes(response, changes)


def _store_changes(response: Response, changes: dict[str, Any]) -> Response:
    with transaction.atomic(durable=True):
        locked = Response.objects.select_for_update().select_related("survey").get(pk=response.pk)
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, changes[name])
        locked.save(update_fields=[*changed, "updated_at"])
        bridge.emit_response_updated(locked)
        # Webhooks (survey_response.updated) and comment language follow the commit.
        queue_processing(locked.pk)
    return locked


# --- Unsubscribes, deletes, pending requests -----------------------------------------------


def unsubscribe_person(workspace: Workspace, params: Mapping[str, Any]) -> Contact:
    """POST /unsubscribes: no more survey emails to this address, known or not yet."""
    email = as_text(params, "person_email")
    if email is None:
        raise invalid("person_email", "can't be blank")
    contact = find_person(workspace, f"email:{email}")
    if contact is None:
        # Remembered even before Kaiku knows the person: a later import or
        # trigger must not email someone who asked not to be emailed.
        contact = _upsert_person(
            workspace, email=email, phone=None, name=None, language=None, properties={}
        )
    bridge.unsubscribe(contact)
    return contact


def delete_person(workspace: Workspace, key: ApiKey, contact: Contact) -> None:
    bridge.erase(contact, key)


def delete_pending(contact: Contact) -> int:
    return bridge.cancel_pending(contact)


# --- Autopilot --------------------------------------------------------------------------


def _autopilot_contact(workspace: Workspace, params: Mapping[str, Any], *, create: bool) -> Contact:
    person_id = as_text(params, "person_id")
    email = as_text(params, "person_email")
    phone = as_text(params, "person_phone_number")
    if sum(value is not None for value in (person_id, email, phone)) == 0:
        raise invalid("person_email", "can't be blank")
    if person_id is not None:
        contact = find_person(workspace, person_id)
    elif email is not None:
        contact = find_person(workspace, f"email:{email}")
        if contact is None and create:
            contact = _upsert_person(
                workspace,
                email=email,
                phone=phone,
                name=as_text(params, "person_name"),
                language=None,
                properties={},
            )
    else:
        contact = find_person(workspace, f"phone_number:{phone}")
    if contact is None:
        raise DelightedError(404, "Person not found")
    return contact


def add_autopilot_member(workspace: Workspace, params: Mapping[str, Any]) -> AutopilotMembership:
    """POST /autopilot/email/memberships: enrol a person; the first survey is scheduled now."""
    properties = _scalar_properties("properties", as_dict(params, "properties"))
    contact = _autopilot_contact(workspace, params, create=True)
    if not contact.email:
        raise invalid("person_email", "can't be blank")
    name = as_text(params, "person_name")
    if name is not None and name != contact.name:
        contact = _upsert_person(
            workspace, email=contact.email, phone=None, name=name, language=None, properties={}
        )
    with transaction.atomic():
        membership, created = AutopilotMembership.objects.get_or_create(
            workspace=workspace,
            contact=contact,
            platform=Platform.EMAIL,
            defaults={"properties": properties},
        )
        if not created and properties != membership.properties:
            membership.properties = properties
            membership.save(update_fields=["properties", "updated_at"])
    if created:
        schedule_autopilot(membership)
    return membership


def autopilot_key(membership: AutopilotMembership, period_days: int, now: datetime) -> str:
    """The idempotency key of the membership's survey in the period `now` falls in."""
    period = (now - membership.created_at).days // max(1, period_days)
    return f"{AUTOPILOT_KEY_PREFIX}:{membership.pk}:{period}"


def schedule_autopilot(
    membership: AutopilotMembership, now: datetime | None = None
) -> Invitation | None:
    """The membership's survey for the current period, when Autopilot is on.

    The idempotency key names the membership and the period, so running this
    twice (or for an already-served period) never schedules a second email.
    """
    workspace = membership.workspace
    configured = settings_for(workspace)
    survey = default_survey(workspace)
    if configured is None or not configured.autopilot_active or survey is None:
        return None
    properties = {k: v for k, v in membership.properties.items() if k != "locale"} or None
    return bridge.schedule_invitation(
        survey,
        membership.contact,
        properties=properties,
        idempotency_key=autopilot_key(
            membership, configured.autopilot_frequency_days, now or timezone.now()
        ),
    )


def run_autopilot(configured: DelightedSettings, now: datetime | None = None) -> int:
    """Schedule this period's survey for every member who has none yet; how many were asked.

    One query finds the periods already served per batch, so an hourly sweep
    over thousands of members writes only for the few whose period just began.
    """
    now = now or timezone.now()
    members = AutopilotMembership.objects.filter(
        workspace_id=configured.workspace_id, platform=Platform.EMAIL
    ).select_related("contact", "workspace")
    scheduled = 0
    batch: list[AutopilotMembership] = []
    for membership in members.order_by("id").iterator(chunk_size=AUTOPILOT_BATCH):
        batch.append(membership)
        if len(batch) == AUTOPILOT_BATCH:
            scheduled += _run_batch(configured, batch, now)
            batch = []
    if batch:
        scheduled += _run_batch(configured, batch, now)
    return scheduled


def _run_batch(
    configured: DelightedSettings, batch: list[AutopilotMembership], now: datetime
) -> int:
    days = configured.autopilot_frequency_days
    keys = {m.pk: autopilot_key(m, days, now) for m in batch}
    served = set(
        Invitation.objects.filter(
            workspace_id=configured.workspace_id, idempotency_key__in=list(keys.values())
        ).values_list("idempotency_key", flat=True)
    )
    asked = 0
    for membership in batch:
        if keys[membership.pk] not in served and schedule_autopilot(membership, now) is not None:
            asked += 1
    return asked


def remove_autopilot_member(workspace: Workspace, params: Mapping[str, Any]) -> Contact:
    """DELETE /autopilot/email/memberships: leave Autopilot; its scheduled surveys are cancelled."""
    contact = _autopilot_contact(workspace, params, create=False)
    membership = AutopilotMembership.objects.filter(
        workspace=workspace, contact=contact, platform=Platform.EMAIL
    ).first()
    if membership is None:
        raise DelightedError(404, "Person is not in Autopilot")
    with transaction.atomic():
        Invitation.objects.filter(
            contact=contact,
            status=InvitationStatus.SCHEDULED,
            idempotency_key__startswith=f"{AUTOPILOT_KEY_PREFIX}:{membership.pk}:",
        ).update(status=InvitationStatus.CANCELLED, status_reason="Removed from Autopilot")
        membership.delete()
    return contact
