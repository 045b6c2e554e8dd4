"""record_response(): the one path every answer takes into Kaiku.

Respondent pages, the web widget, the REST API and importers all call it, so
the guarantees hold whatever the channel:

- Input is checked here, at the edge: a bad answer raises AnswerRejected and
  stores nothing.
- The answer is committed (durable transaction) before the caller replies, so
  a respondent who saw "thank you" has an answer on disk.
- One answer per invitation, per idempotency key and per edit token, even
  under double clicks, retries and concurrent requests: the unique constraints
  decide, and a request that loses the race re-reads and updates the winner.
- Side effects (language detection now; webhooks, cases and themes later) run
  in the `process_response` job, visible to workers only once the answer is
  committed (on the database queue an outbox row commits with the answer and a
  worker turns it into the job: kaiku.responses.outbox).
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.contacts.actions import normalise_language
from kaiku.contacts.models import Contact, validate_properties
from kaiku.responses.models import MAX_COMMENT_LENGTH, Channel, Response
from kaiku.responses.outbox import queue_processing, queued_with_insert
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from kaiku.webhooks.events import emit_response_event, may_listen_for

# How long a respondent may change their score and comment after answering.
EDIT_WINDOW = timedelta(hours=24)
# A backfilled `created_at` may run this far ahead of our clock (client clock skew).
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Channels whose respondents have no login: new answers get an edit token so
# the follow-up page can add the comment and change the score.
EDITABLE_CHANNELS = frozenset({Channel.LINK, Channel.KIOSK, Channel.WIDGET})
MAX_KEY_LENGTH = 200
# Channel.values builds a new list on every call (1 % of an API answer).
_CHANNELS = frozenset(Channel.values)
# Control characters garble exports and terminals and can hide text; comments
# keep tab and newline (Cc minus \t \n), properties keep none.
_COMMENT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Translated when rendered, in the page's language, not when raised.
_interpolate = lazy(lambda template, params: str(template) % params, str)


class AnswerRejected(Exception):
    """The answer cannot be stored; nothing was written.

    `field` names the offending input (score, comment, properties, contact,
    invitation, edit_token, survey, …), `message` is translatable text for the
    respondent or API client, and `code` lets callers pick a page or status:
    `invalid` (bad input, 400), `closed` (the 24-hour edit window is over),
    `inactive` (the survey is switched off), `unknown` (no such edit token).
    """

    def __init__(self, field: str, message: StrOrPromise, code: str = "invalid") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Recorded:
    response: Response
    created: bool


@dataclass(frozen=True)
class _Answer:
    """Validated, cleaned input."""

    survey: Survey
    score: int
    channel: str
    comment: str | None
    contact: Contact | None
    invitation: Invitation | None
    language: str
    language_given: bool
    properties: dict[str, Any]
    created_at: datetime | None
    idempotency_key: str | None
    edit_token: str | None
    source_ref: str
    now: datetime = field(default_factory=timezone.now)


def record_response(
    *,
    survey: Survey,
    score: int,
    channel: str,
    comment: str | None = None,
    contact: Contact | None = None,
    invitation: Invitation | None = None,
    language: str = "",
    properties: Mapping[str, Any] | None = None,
    created_at: datetime | None = None,
    idempotency_key: str | None = None,
    edit_token: str | None = None,
    source_ref: str = "",
) -> Recorded:
    """Store an answer, or update the one it replaces. See the module docstring.

    Which row: an existing response with this `idempotency_key` is returned
    unchanged (created False), even if this payload differs — a retry must
    never rewrite an answer; else the invitation's response is updated (latest
    score wins) or created; else the response with this `edit_token` is
    updated; else a new response is created. Updates are refused with
    AnswerRejected(code="closed") 24 hours after the first answer.
    `comment=None` keeps the stored comment; `properties` are merged on top of
    the snapshot (contact's, then invitation's, then these) taken at creation.

    Must not be called inside another transaction (durable): the caller's
    reply has to wait for this commit.
    """
    answer = _Answer(
        survey=survey,
        score=_clean_score(survey, score),
        channel=_clean_channel(channel),
        comment=clean_comment(comment),
        contact=contact if contact is not None else getattr(invitation, "contact", None),
        invitation=invitation,
        language=_language(survey, language, contact, invitation),
        language_given=bool(normalise_language(language)),
        properties=clean_properties(properties),
        created_at=_clean_created_at(created_at),
        idempotency_key=_clean_key("idempotency_key", idempotency_key),
        edit_token=_clean_key("edit_token", edit_token),
        source_ref=_ANY_CONTROL.sub("", source_ref or "")[:200],
    )
    _check_ownership(answer)
    return _store(answer)


# --- Validation ------------------------------------------------------------------


def _clean_score(survey: Survey, score: Any) -> int:
    if isinstance(score, bool) or not isinstance(score, int):
        raise AnswerRejected("score", _("The score must be a whole number."))
    if not survey.scale_min <= score <= survey.scale_max:
        raise AnswerRejected(
            "score",
            _interpolate(
                _("The score must be a whole number from %(lo)d to %(hi)d."),
                {"lo": survey.scale_min, "hi": survey.scale_max},
            ),
        )
    return score


def _clean_channel(channel: str) -> str:
    if channel not in _CHANNELS:
        raise AnswerRejected("channel", _("Unknown channel."))
    return channel


def clean_comment(comment: Any) -> str | None:
    """Comment text without control characters (tab and newline kept), or None."""
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise AnswerRejected("comment", _("The comment must be text."))
    text = _COMMENT_CONTROL.sub("", comment.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(text) > MAX_COMMENT_LENGTH:
        raise AnswerRejected(
            "comment",
            _interpolate(
                _("The comment is too long: at most %(max)d characters."),
                {"max": MAX_COMMENT_LENGTH},
            ),
        )
    return text


def clean_properties(properties: Any) -> dict[str, Any]:
    """Properties without control characters, within the contact bounds."""
    if properties is None:
        return {}
    if not isinstance(properties, Mapping):
        raise AnswerRejected("properties", _("Properties must be an object of names to values."))
    cleaned = {
        (_ANY_CONTROL.sub("", key).strip() if isinstance(key, str) else key): (
            _ANY_CONTROL.sub("", value) if isinstance(value, str) else value
        )
        for key, value in properties.items()
    }
    try:
        validate_properties(cleaned)
    except ValidationError as exc:
        raise AnswerRejected("properties", exc.messages[0]) from None
    if any(isinstance(v, float) and not math.isfinite(v) for v in cleaned.values()):
        # NaN and infinity are not JSON: PostgreSQL's jsonb would refuse them.
        raise AnswerRejected("properties", _("Property values must be finite numbers."))
    return cleaned


def _clean_created_at(created_at: datetime | None) -> datetime | None:
    if created_at is None:
        return None
    if not isinstance(created_at, datetime) or timezone.is_naive(created_at):
        raise AnswerRejected("created_at", _("The answer time must include a time zone."))
    if created_at > timezone.now() + MAX_CLOCK_SKEW:
        raise AnswerRejected("created_at", _("The answer time is in the future."))
    return created_at


def _clean_key(name: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_KEY_LENGTH or _ANY_CONTROL.search(value):
        raise AnswerRejected(name, _("This key is not valid."))
    return value


def _language(
    survey: Survey, language: str, contact: Contact | None, invitation: Invitation | None
) -> str:
    """The language asked in: the given one, else the invitation's, contact's, survey's."""
    candidates = [
        language,
        invitation.language if invitation is not None else "",
        contact.language if contact is not None else "",
    ]
    for candidate in candidates:
        if code := normalise_language(candidate):
            return code
    return survey.default_language


def _check_ownership(answer: _Answer) -> None:
    survey, contact, invitation = answer.survey, answer.contact, answer.invitation
    if invitation is not None and (
        invitation.workspace_id != survey.workspace_id or invitation.survey_id != survey.pk
    ):
        raise AnswerRejected("invitation", _("Unknown invitation."))
    if contact is not None and contact.workspace_id != survey.workspace_id:
        raise AnswerRejected("contact", _("Unknown contact."))
    if invitation is not None and contact is not None and contact.pk != invitation.contact_id:
        raise AnswerRejected("contact", _("The contact does not match the invitation."))
    # Imports may bring in history of a survey that has been switched off since.
    if not survey.is_active and answer.channel != Channel.IMPORT:
        raise AnswerRejected("survey", _("This survey is closed."), code="inactive")


# --- Storage ------------------------------------------------------------------------


def _store(answer: _Answer) -> Recorded:
    first = 0
    try:
        if (recorded := _insert_alone(answer)) is not None:
            return recorded
    except IntegrityError:
        first = 1  # the key is taken: no second blind insert, read the first answer
    # A concurrent request may insert the same invitation's or idempotency
    # key's response between our read and our insert; the unique constraint
    # then fails ours, and the next round reads and updates theirs.
    for attempt in range(first, 3):
        try:
            with transaction.atomic(durable=True):
                return _record(answer, first_try=attempt == 0)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record(answer: _Answer, first_try: bool = False) -> Recorded:
    if first_try and _plain_new_answer(answer):
        # Most keyed answers are new (a form's nonce, an API retry key): insert
        # straight away and let the unique constraint catch a repeat, which then
        # takes the next round and finds the first answer below. One query less
        # on the busiest path.
        return Recorded(_create(answer), created=True)
    if answer.idempotency_key is not None:
        existing = Response.objects.filter(
            workspace_id=answer.survey.workspace_id, idempotency_key=answer.idempotency_key
        ).first()
        if existing is not None:
            return Recorded(existing, created=False)
    if answer.invitation is not None:
        return _record_for_invitation(answer, answer.invitation)
    if answer.edit_token is not None:
        return _record_edit(answer, answer.edit_token)
    return Recorded(_create(answer), created=True)


def _insert_alone(answer: _Answer) -> Recorded | None:
    """A new keyed answer and its outbox row in one statement, without a transaction.

    PostgreSQL only (a data-modifying WITH; one statement is atomic on its own),
    and only when no webhook endpoint listens, since an event has to commit with
    its answer. One round trip instead of four (BEGIN, answer, outbox row, COMMIT)
    on the busiest path (docs/performance.md). Whether one listens is read from the
    workspace row the request read with the survey (Workspace.webhook_events), not
    inside a transaction: an endpoint created at that very moment may miss this
    answer, as it would an answer committed a moment earlier.
    Outside any transaction only. None: not done here, the transaction in _store does
    it; IntegrityError: the key is taken.
    """
    using = router.db_for_write(Response)
    # Inside a caller's transaction a refused statement (a repeated key) would abort it.
    if not _plain_new_answer(answer) or not transaction.get_autocommit(using):
        return None
    also = queued_with_insert(using)
    if also is None or may_listen_for(answer.survey, "response.created"):
        return None
    response = _new_response(answer)
    response.insert(also=also)
    return Recorded(response, created=True)


def _plain_new_answer(answer: _Answer) -> bool:
    """A keyed answer that can only be a new row (no invitation or edit token to update)."""
    return (
        answer.idempotency_key is not None
        and answer.invitation is None
        and answer.edit_token is None
    )


def _record_for_invitation(answer: _Answer, invitation: Invitation) -> Recorded:
    # The row lock makes concurrent answers through one link take turns on
    # PostgreSQL (SQLite's IMMEDIATE transactions already do).
    if not Invitation.objects.select_for_update().filter(pk=invitation.pk).exists():
        raise AnswerRejected("invitation", _("Unknown invitation."), code="unknown")
    existing = Response.objects.filter(invitation_id=invitation.pk).first()
    if existing is None:
        recorded = Recorded(_create(answer), created=True)
    else:
        _check_edit_window(existing, "invitation", answer.now)
        _update(existing, answer)
        recorded = Recorded(existing, created=False)
    _mark_responded(invitation, answer.now)
    return recorded


def _record_edit(answer: _Answer, edit_token: str) -> Recorded:
    existing = (
        Response.objects.select_for_update()
        .filter(edit_token=edit_token, survey_id=answer.survey.pk)
        .first()
    )
    if existing is None:
        raise AnswerRejected("edit_token", _("This answer cannot be found."), code="unknown")
    _check_edit_window(existing, "edit_token", answer.now)
    _update(existing, answer)
    return Recorded(existing, created=False)


def _check_edit_window(response: Response, field_name: str, now: datetime) -> None:
    if now - response.created_at > EDIT_WINDOW:
        raise AnswerRejected(field_name, _("This answer can no longer be changed."), code="closed")


def _create(answer: _Answer) -> Response:
    response = _new_response(answer)
    response.insert()
    emit_response_event(response, created=True)  # webhooks: committed with the answer
    queue_processing(response.pk)
    return response


def _new_response(answer: _Answer) -> Response:
    return Response(
        workspace_id=answer.survey.workspace_id,
        survey=answer.survey,
        contact=answer.contact,
        invitation=answer.invitation,
        score=answer.score,
        comment=answer.comment or "",
        language=answer.language,
        channel=answer.channel,
        properties=_snapshot(answer),
        source_ref=answer.source_ref,
        idempotency_key=answer.idempotency_key,
        edit_token=secrets.token_urlsafe(24) if answer.channel in EDITABLE_CHANNELS else None,
        created_at=answer.created_at or answer.now,
    )


def _snapshot(answer: _Answer) -> dict[str, Any]:
    """Properties at answer time: the contact's, the invitation's, then the given ones."""
    contact_properties: dict[str, Any] = {}
    if answer.contact is not None:
        # Read inside the transaction: the caller's object may be stale.
        stored = Contact.objects.filter(pk=answer.contact.pk).values_list("properties", flat=True)
        contact_properties = dict(stored.first() or {})
    invitation_properties = dict(answer.invitation.properties or {}) if answer.invitation else {}
    return {**contact_properties, **invitation_properties, **answer.properties}


def _update(response: Response, answer: _Answer) -> None:
    before = (response.score, response.comment, response.properties, response.language)
    response.score = answer.score
    response.scale_min, response.scale_max = answer.survey.scale_min, answer.survey.scale_max
    if answer.comment is not None:
        response.comment = answer.comment
    if answer.properties:
        response.properties = {**response.properties, **answer.properties}
    if answer.language_given:
        response.language = answer.language
    if before == (response.score, response.comment, response.properties, response.language):
        return  # a double click or a resent form: nothing to write, nothing to redo
    response.save(
        update_fields=[
            "score",
            "scale_min",
            "scale_max",
            "comment",
            "properties",
            "language",
            "updated_at",
        ]
    )
    emit_response_event(response, created=False)  # webhooks: committed with the change
    queue_processing(response.pk)


def _mark_responded(invitation: Invitation, now: datetime) -> None:
    # responded_at keeps the first answer's time; later edits do not move it.
    Invitation.objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.RESPONDED,
        responded_at=Coalesce(
            "responded_at", models.Value(now, output_field=models.DateTimeField())
        ),
    )
    invitation.status = InvitationStatus.RESPONDED
    invitation.responded_at = invitation.responded_at or now
