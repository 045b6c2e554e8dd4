"""Actions that create invitations: bulk sends, waves and API triggers.

Creating an invitation never sends anything: it is a row with a due time
(`send_at`) that the dispatcher (kaiku.surveys.delivery) claims when the time
comes. The actions enqueue the dispatcher after commit, so an invitation due
now goes out within seconds rather than at the next periodic tick.

Skipped contacts: a bulk send (UI, waves) only counts them in its SendSummary;
writing 10k `skipped` rows for every send would bloat the delivery log with
people who were never asked. An API trigger records a `skipped` invitation with
the reason, because the caller asked about one person and deserves an answer
it can look up later (and an idempotent retry must find the same row).

Concurrency: each action locks the workspace row, so two sends (or a send and
a trigger) for the same audience cannot both pass throttling and ask a
contact twice. The lock is held for milliseconds (no I/O inside).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.responses.pages import workspace_languages
from kaiku.surveys.models import Invitation, InvitationStatus, Survey, Wave
from kaiku.surveys.throttling import SKIP_REASONS, count_skip_reasons, partition, skip_reason
from kaiku.webhooks.events import emit_contact_unsubscribed

logger = logging.getLogger(__name__)

INSERT_BATCH = 1000


class SurveyInactive(Exception):
    """Invitations to a deactivated survey would lead to a closed page."""


class IdempotencyConflict(Exception):
    """The idempotency key was used for another survey or contact."""


@dataclass
class SendSummary:
    """What a send did (or would do): eligible contacts, invitations scheduled,
    and the contacts skipped, by reason (every reason present, zeros included)."""

    eligible: int
    scheduled: int
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "scheduled": self.scheduled, "skipped": self.skipped}


def preview_send(
    survey: Survey, contacts: QuerySet[Contact], *, now: datetime | None = None
) -> SendSummary:
    """What `schedule_invitations` would do now, without writing anything (two queries)."""
    eligible_qs, skipped = partition(survey, contacts, now)
    eligible, _counts = count_skip_reasons(eligible_qs)
    return SendSummary(eligible=eligible, scheduled=0, skipped=skipped)


def schedule_invitations(
    survey: Survey,
    contacts: QuerySet[Contact],
    *,
    send_at: datetime | None = None,
    spread_until: datetime | None = None,
    actor: Any = None,
    wave: Wave | None = None,
    limit: int | None = None,
) -> SendSummary:
    """Schedule one invitation per eligible contact; skipped ones are only counted.

    `send_at` (default now) is the first send time; with `spread_until`, the
    send times are spread evenly up to it. `limit` caps the invitations (a
    wave's daily cap): eligible contacts beyond it are left for a later run.
    Atomic; nests in a caller's transaction. Raises SurveyInactive.
    """
    if not survey.is_active:
        raise SurveyInactive(survey.pk)
    now = timezone.now()
    start = send_at if send_at is not None and send_at > now else now
    with transaction.atomic():
        _lock_workspace(survey.workspace_id)
        eligible_qs, skipped = partition(survey, contacts, now)
        rows = list(eligible_qs.order_by("pk").values_list("pk", "language"))
        chosen = rows if limit is None else rows[: max(0, limit)]
        times = spread_times(start, spread_until, len(chosen))
        invitations = [
            Invitation(
                workspace_id=survey.workspace_id,
                survey=survey,
                contact_id=contact_id,
                language=_language_for(survey, language),
                send_at=when,
                wave=wave,
            )
            for (contact_id, language), when in zip(chosen, times, strict=True)
        ]
        Invitation.objects.bulk_create(invitations, batch_size=INSERT_BATCH)
        if invitations and times[0] <= now + timedelta(seconds=5):
            enqueue_dispatch_on_commit()
    logger.info(
        "scheduled %d invitations for survey %s (actor %s, wave %s)",
        len(invitations),
        survey.pk,
        getattr(actor, "pk", actor),
        getattr(wave, "pk", None),
    )
    return SendSummary(eligible=len(rows), scheduled=len(invitations), skipped=skipped)


def spread_times(start: datetime, until: datetime | None, count: int) -> list[datetime]:
    """`count` send times from `start`, evenly spaced up to `until` (all `start` if none)."""
    if count == 0:
        return []
    if until is None or until <= start or count == 1:
        return [start] * count
    step = (until - start) / count
    return [start + step * i for i in range(count)]


def create_triggered_invitation(
    survey: Survey,
    contact: Contact,
    *,
    delay_minutes: int = 0,
    idempotency_key: str | None = None,
    properties: dict[str, Any] | None = None,
) -> tuple[Invitation, bool]:
    """An invitation after an interaction (API trigger): (invitation, created).

    A contact the throttling rules exclude gets a `skipped` invitation with the
    reason. A key seen before returns that invitation with created=False; a key
    used for another survey or contact raises IdempotencyConflict.
    Raises SurveyInactive for a deactivated survey.
    """
    if contact.workspace_id != survey.workspace_id:
        raise ValueError("The contact and the survey belong to different workspaces.")
    existing = _find_by_key(survey, contact, idempotency_key)
    if existing is not None:
        return existing, False
    if not survey.is_active:
        raise SurveyInactive(survey.pk)
    try:
        with transaction.atomic():
            invitation = _create_triggered(
                survey, contact, delay_minutes, idempotency_key, properties
            )
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its row.
        found = _find_by_key(survey, contact, idempotency_key)
        if found is None:
            raise
        return found, False
    return invitation, True


def _create_triggered(
    survey: Survey,
    contact: Contact,
    delay_minutes: int,
    idempotency_key: str | None,
    properties: dict[str, Any] | None,
) -> Invitation:
    _lock_workspace(survey.workspace_id)
    now = timezone.now()
    reason = skip_reason(contact, survey, now)
    invitation = Invitation.objects.create(
        workspace_id=survey.workspace_id,
        survey=survey,
        contact=contact,
        language=_language_for(survey, contact.language),
        properties=dict(properties or {}),
        idempotency_key=idempotency_key,
        send_at=now + timedelta(minutes=max(0, delay_minutes)),
        status=InvitationStatus.SKIPPED if reason else InvitationStatus.SCHEDULED,
        status_reason=reason or "",
    )
    if reason is None and delay_minutes <= 0:
        enqueue_dispatch_on_commit()
    return invitation


def _find_by_key(survey: Survey, contact: Contact, key: str | None) -> Invitation | None:
    if not key:
        return None
    found = Invitation.objects.filter(workspace_id=survey.workspace_id, idempotency_key=key).first()
    if found is not None and (found.survey_id != survey.pk or found.contact_id != contact.pk):
        raise IdempotencyConflict(key)
    return found


def cancel_invitation(invitation: Invitation) -> bool:
    """Cancel a scheduled invitation; False if it is no longer pending (being sent, sent …)."""
    cancelled = Invitation.objects.filter(
        pk=invitation.pk, status=InvitationStatus.SCHEDULED
    ).update(status=InvitationStatus.CANCELLED, status_reason="cancelled", remind_at=None)
    if cancelled:
        invitation.refresh_from_db()
    return bool(cancelled)


def unsubscribe_contact(contact: Contact) -> bool:
    """Stop every survey email to the contact; True if this call unsubscribed them.

    Idempotent: the first time is kept. Pending invitations are skipped and
    due reminders dropped now, so the delivery log says why they never went.
    """
    now = timezone.now()
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, unsubscribed_at=None).update(
            unsubscribed_at=now
        )
        if changed:  # webhooks: contact.unsubscribed, committed with the unsubscribe
            emit_contact_unsubscribed(contact, at=now)
        Invitation.objects.filter(contact=contact, status=InvitationStatus.SCHEDULED).update(
            status=InvitationStatus.SKIPPED, status_reason="unsubscribed"
        )
        Invitation.objects.filter(contact=contact, remind_at__isnull=False).update(remind_at=None)
    contact.refresh_from_db(fields=["unsubscribed_at"])
    return bool(changed)


def _lock_workspace(workspace_id: int) -> None:
    # Serialises sends per workspace on PostgreSQL (a no-op on SQLite, whose
    # IMMEDIATE transactions serialise all writers anyway).
    Workspace.objects.select_for_update().filter(pk=workspace_id).values_list("pk").first()


def _language_for(survey: Survey, contact_language: str) -> str:
    offered = workspace_languages(survey.workspace)
    if contact_language in offered:
        return contact_language
    return survey.default_language if survey.default_language in offered else offered[0]


def enqueue_dispatch_on_commit() -> None:
    """Ask a worker to dispatch due invitations once this transaction commits."""
    from kaiku.surveys.tasks import dispatch_due_invitations  # tasks imports this module

    transaction.on_commit(lambda: dispatch_due_invitations.enqueue())


def empty_skipped() -> dict[str, int]:
    return dict.fromkeys(SKIP_REASONS, 0)
