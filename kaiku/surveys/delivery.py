"""Dispatching due invitations and reminders, and delivering them over SMTP.

Exactly once, with any number of workers:

1. The dispatcher (a periodic job, and enqueued after each send) claims due
   rows per workspace with a conditional UPDATE (`scheduled → sending`,
   `claimed_at = now`; reminders: `remind_at → NULL`, `claimed_at = now`),
   picking ids with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL and under
   the workspace row's lock, which also makes the rate budget exact.
2. It enqueues `send_invitations(ids)` / `send_reminders(ids)` after commit.
3. The job sends the batch over one SMTP connection and marks each row right
   after its SMTP transaction, with a conditional UPDATE on the claim.

A worker killed mid-batch leaves `claimed_at` set; after STALE_CLAIM the
dispatcher puts those rows back (release_stale_claims). The one window for a
duplicate is a crash after the SMTP server accepted a message and before the
row was marked (milliseconds per message): that message is sent again.

SMTP outcomes: 2xx → sent. 4xx, refused connections and timeouts → retried with
backoff and jitter (RETRY_DELAYS), failed after MAX_ATTEMPTS. 5xx → failed with
the server's reason; a rejected mailbox (550/551/553, or 5.1.x) also marks the
contact bounced, and no survey emails it again. Every try is a DeliveryAttempt.
"""

from __future__ import annotations

import logging
import random
import re
import secrets
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.surveys.emails import EmailRenderer, RenderedEmail
from kaiku.surveys.models import (
    REMINDABLE_STATUSES,
    DeliveryAttempt,
    DeliveryKind,
    DeliveryOutcome,
    Invitation,
    InvitationStatus,
)
from kaiku.surveys.throttling import can_email

logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # invitations per send job: one SMTP connection each
MAX_CLAIM_PER_RUN = 10_000  # per workspace and dispatcher run
STALE_CLAIM = timedelta(minutes=15)  # far longer than a batch of 100 takes
RATE_WINDOW = timedelta(seconds=60)
MAX_ATTEMPTS = 6
# Delays after the 1st … 5th transient failure: six tries over about a day.
RETRY_DELAYS = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
JITTER = 0.2  # ±20 %, so a provider's outage does not bring every retry back at once
# Mailbox-level rejections: the address does not exist or is disabled.
BOUNCE_CODES = frozenset({550, 551, 553})
_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


# --- Dispatching --------------------------------------------------------------------


@dataclass
class Dispatched:
    invitations: list[list[int]] = field(default_factory=list)
    reminders: list[list[int]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(map(len, self.invitations)) + sum(map(len, self.reminders))


def dispatch_due(now: datetime | None = None) -> Dispatched:
    """Claim what is due in every workspace (within its rate) and enqueue the send jobs."""
    now = now or timezone.now()
    release_stale_claims(now)
    drop_void_reminders(now)
    result = Dispatched()
    for workspace_id in _workspaces_with_due_rows(now):
        invitations, reminders = claim_for_workspace(workspace_id, now)
        result.invitations += _chunks(invitations)
        result.reminders += _chunks(reminders)
    _enqueue_on_commit(result)
    return result


def _workspaces_with_due_rows(now: datetime) -> list[int]:
    due = Invitation.objects.filter(status=InvitationStatus.SCHEDULED, send_at__lte=now)
    reminders = Invitation.objects.filter(remind_at__lte=now)
    ids = set(due.values_list("workspace_id", flat=True).distinct())
    ids |= set(reminders.values_list("workspace_id", flat=True).distinct())
    return sorted(ids)


def claim_for_workspace(workspace_id: int, now: datetime) -> tuple[list[int], list[int]]:
    """(invitation ids, reminder ids) claimed for sending, within the workspace's rate."""
    with transaction.atomic():
        rate = (
            Workspace.objects.select_for_update()
            .filter(pk=workspace_id)
            .values_list("email_rate_per_minute", flat=True)
            .first()
        )
        if rate is None:
            return [], []
        budget = min(MAX_CLAIM_PER_RUN, rate - sent_recently(workspace_id, now))
        invitations = _claim_invitations(workspace_id, now, budget)
        reminders = _claim_reminders(workspace_id, now, budget - len(invitations))
    return invitations, reminders


def sent_recently(workspace_id: int, now: datetime) -> int:
    """Emails sent in the last minute plus those claimed and on their way, all workers."""
    since = now - RATE_WINDOW
    rows = Invitation.objects.filter(workspace_id=workspace_id)
    return (
        rows.filter(sent_at__gte=since).count()
        + rows.filter(reminded_at__gte=since).count()
        + rows.filter(claimed_at__isnull=False).count()
    )


def _pick(rows: QuerySet[Invitation], budget: int) -> list[int]:
    if budget <= 0:
        return []
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    return list(rows.values_list("pk", flat=True)[:budget])


def _claim_invitations(workspace_id: int, now: datetime, budget: int) -> list[int]:
    due = Invitation.objects.filter(
        workspace_id=workspace_id, status=InvitationStatus.SCHEDULED, send_at__lte=now
    ).order_by("send_at", "pk")
    ids = _pick(due, budget)
    if ids:
        # Conditional: only rows still scheduled; the row locks make this all of `ids`.
        Invitation.objects.filter(pk__in=ids, status=InvitationStatus.SCHEDULED).update(
            status=InvitationStatus.SENDING, claimed_at=now
        )
    return ids


def _claim_reminders(workspace_id: int, now: datetime, budget: int) -> list[int]:
    due = Invitation.objects.filter(
        workspace_id=workspace_id,
        remind_at__lte=now,
        reminded_at=None,
        claimed_at=None,
        status__in=REMINDABLE_STATUSES,
    ).order_by("remind_at", "pk")
    ids = _pick(due, budget)
    if ids:
        Invitation.objects.filter(pk__in=ids, claimed_at=None).update(
            remind_at=None, claimed_at=now
        )
    return ids


def release_stale_claims(now: datetime) -> int:
    """Put back what a dead worker held: first sends to scheduled, reminders to due."""
    stale = Invitation.objects.filter(claimed_at__lt=now - STALE_CLAIM)
    released = stale.filter(status=InvitationStatus.SENDING).update(
        status=InvitationStatus.SCHEDULED, claimed_at=None, send_at=now
    )
    released += stale.filter(status__in=REMINDABLE_STATUSES, reminded_at=None).update(
        claimed_at=None, remind_at=now
    )
    # Answered (or reminded) while claimed: nothing left to send.
    stale.update(claimed_at=None)
    if released:
        logger.warning("released %d stale invitation claims", released)
    return released


def drop_void_reminders(now: datetime) -> int:
    """Due reminders that must not go out: answered, unsubscribed, bounced, reminders off."""
    void = Invitation.objects.filter(remind_at__lte=now).filter(
        ~Q(status__in=REMINDABLE_STATUSES)
        | Q(reminded_at__isnull=False)
        | Q(contact__unsubscribed_at__isnull=False)
        | Q(contact__bounced_at__isnull=False)
        | Q(survey__reminder_days__isnull=True)
        | Q(survey__is_active=False)
    )
    return void.update(remind_at=None)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]


def _enqueue_on_commit(result: Dispatched) -> None:
    from kaiku.surveys.tasks import send_invitations, send_reminders  # tasks imports us

    for batch in result.invitations:
        transaction.on_commit(partial(send_invitations.enqueue, batch))
    for batch in result.reminders:
        transaction.on_commit(partial(send_reminders.enqueue, batch))


# --- SMTP outcomes ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    outcome: str  # DeliveryOutcome
    code: int | None = None
    error: str = ""
    bounce: bool = False
    # The connection is unusable after this error and must be reopened.
    broken: bool = False


SENT = Outcome(DeliveryOutcome.SENT)


def _text(message: Any) -> str:
    raw = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return " ".join(raw.split())[:250]


def _is_bounce(code: int, message: str) -> bool:
    enhanced = _ENHANCED.match(message)
    if enhanced:
        status = enhanced.group(1)
        return status.startswith("5.1.") or status == "5.2.1"
    return code in BOUNCE_CODES


def _response(code: int, message: str, *, recipient_level: bool) -> Outcome:
    if 400 <= code < 500:
        return Outcome(DeliveryOutcome.RETRY, code, f"{code} {message}")
    if 500 <= code < 600 and recipient_level:
        return Outcome(DeliveryOutcome.FAILED, code, f"{code} {message}", _is_bounce(code, message))
    # Our sender or credentials were refused, or an odd code: a configuration
    # problem, not the message's. Retrying gives the operator time to fix it.
    return Outcome(DeliveryOutcome.RETRY, code, f"{code} {message}")


def classify(exc: BaseException) -> Outcome:
    """What an exception from sending one message means for that message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (0, b""))
        return _response(code, _text(message), recipient_level=True)
    if isinstance(exc, smtplib.SMTPDataError):
        return _response(exc.smtp_code, _text(exc.smtp_error), recipient_level=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | OSError):
        return Outcome(
            DeliveryOutcome.RETRY, None, _text(f"{type(exc).__name__}: {exc}"), broken=True
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return _response(exc.smtp_code, _text(exc.smtp_error), recipient_level=False)
    # Not an SMTP answer (a bug, a bad template): retried, so a fix can still send it.
    return Outcome(DeliveryOutcome.RETRY, None, _text(f"{type(exc).__name__}: {exc}"), broken=True)


def retry_delay(failures: int) -> timedelta:
    """The wait after the `failures`-th transient failure, with jitter."""
    base = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


# --- Delivering ---------------------------------------------------------------------


@dataclass
class DeliveryStats:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "retry": self.retry,
            "failed": self.failed,
            "skipped": self.skipped,
        }


class InvitationMessage(EmailMultiAlternatives):
    """Django's text + HTML email with its MIME boundary chosen up front.

    Without one, the email package invents a boundary and compiles a regex
    per message to check that the body does not contain it: ~1 ms each, a
    third of the CPU a send costs. 128 random bits cannot collide with a body.
    """

    def message(self) -> Any:
        msg = super().message()
        if msg.is_multipart():
            msg.set_boundary(f"=_kaiku_{secrets.token_hex(16)}")
        return msg


class _Batch:
    """One send job: one SMTP connection, one renderer, attempts written at the end."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.renderer = EmailRenderer()
        self.connection = get_connection(fail_silently=False)
        self.connected = False
        self.connect_error: Outcome | None = None
        self.attempts: list[DeliveryAttempt] = []
        self.bounced: set[int] = set()
        self.stats = DeliveryStats()
        _async_commits(True)

    def open(self) -> None:
        try:
            self.connection.open()
            self.connected = True
            self.connect_error = None
        except Exception as exc:  # every failure to connect is worth a retry later
            self.connect_error = classify(exc)
            logger.warning("SMTP connection failed: %s", self.connect_error.error)

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # closing a broken connection may raise; nothing to save
            logger.debug("SMTP close failed", exc_info=True)
        self.connected = False

    def send(self, email: RenderedEmail, to: str) -> Outcome:
        # A server that could not be reached once is not retried within the
        # batch: with a 10 s timeout, 100 tries would hold the job for minutes.
        if self.connect_error is not None:
            return self.connect_error
        if not self.connected:
            self.open()
            if self.connect_error is not None:
                return self.connect_error
        message = InvitationMessage(
            subject=email.subject,
            body=email.text,
            from_email=email.from_email or None,
            to=[to],
            headers=email.headers,
            connection=self.connection,
        )
        message.attach_alternative(email.html, "text/html")
        try:
            message.send()
        except Exception as exc:
            outcome = classify(exc)
            if outcome.broken:
                self.close()
            return outcome
        return SENT

    def record(self, invitation: Invitation, outcome: Outcome, started: float) -> None:
        self.attempts.append(
            DeliveryAttempt(
                invitation_id=invitation.pk,
                kind=self.kind,
                outcome=outcome.outcome,
                smtp_code=outcome.code,
                error=outcome.error[:300],
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        )
        setattr(self.stats, str(outcome.outcome), getattr(self.stats, str(outcome.outcome)) + 1)

    def finish(self) -> None:
        if self.connected:
            self.close()
        # Written in one statement: a per-message INSERT would halve throughput.
        DeliveryAttempt.objects.bulk_create(self.attempts, batch_size=500)
        _async_commits(False)


def _async_commits(on: bool) -> None:
    """PostgreSQL: don't wait for the WAL flush of each "sent" mark.

    One UPDATE per email, each its own commit, would otherwise wait for an fsync
    (~7 ms on ordinary disks: a ceiling of ~140 emails/s per worker; async, some
    thousands). The cost: if the *database server* crashes, the marks of its
    last ~0.6 s are lost, those rows stay claimed and are sent again after
    STALE_CLAIM, the same at-least-once window as a worker crash. Only this
    connection and only during the batch; claims keep synchronous commits.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF" if on else "RESET synchronous_commit")


def _invitations(ids: Iterable[int]) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(pk__in=list(ids), claimed_at__isnull=False)
        .select_related("survey__workspace", "contact")
        .prefetch_related("survey__text_set")
        .order_by("pk")
    )


def _why_not(invitation: Invitation, bounced: set[int]) -> str | None:
    if not invitation.survey.is_active:
        return "survey_inactive"
    if invitation.contact_id in bounced:
        return "bounced"
    return can_email(invitation.contact)


def deliver_invitations(ids: Iterable[int]) -> DeliveryStats:
    """Send the claimed (`sending`) invitations among `ids`; safe to run twice."""
    batch = _Batch(DeliveryKind.INVITATION)
    try:
        for invitation in _invitations(ids).filter(status=InvitationStatus.SENDING):
            reason = _why_not(invitation, batch.bounced)
            if reason is not None:
                _mark_skipped(invitation, reason)
                batch.stats.skipped += 1
                continue
            started = time.monotonic()
            outcome = batch.send(batch.renderer.render(invitation), invitation.contact.email or "")
            _mark_invitation(invitation, outcome, batch)
            batch.record(invitation, outcome, started)
    finally:
        batch.finish()
    return batch.stats


def deliver_reminders(ids: Iterable[int]) -> DeliveryStats:
    """Send the claimed reminders among `ids`; safe to run twice."""
    batch = _Batch(DeliveryKind.REMINDER)
    try:
        rows = _invitations(ids).filter(status__in=REMINDABLE_STATUSES, reminded_at=None)
        for invitation in rows:
            reason = _why_not(invitation, batch.bounced)
            if reason is not None or invitation.survey.reminder_days is None:
                Invitation.objects.filter(pk=invitation.pk).update(claimed_at=None)
                batch.stats.skipped += 1
                continue
            started = time.monotonic()
            email = batch.renderer.render(invitation, reminder=True)
            outcome = batch.send(email, invitation.contact.email or "")
            _mark_reminder(invitation, outcome, batch)
            batch.record(invitation, outcome, started)
    finally:
        batch.finish()
    return batch.stats


def _mark_skipped(invitation: Invitation, reason: str) -> None:
    Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.SENDING).update(
        status=InvitationStatus.SKIPPED, status_reason=reason, claimed_at=None
    )


def _mark_invitation(invitation: Invitation, outcome: Outcome, batch: _Batch) -> None:
    now = timezone.now()
    claimed = Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.SENDING)
    attempts = invitation.attempts + 1
    if outcome.outcome == DeliveryOutcome.SENT:
        days = invitation.survey.reminder_days
        updated = claimed.update(
            status=InvitationStatus.SENT,
            sent_at=now,
            claimed_at=None,
            attempts=F("attempts") + 1,
            status_reason="",
            remind_at=now + timedelta(days=days) if days is not None else None,
        )
        if not updated:  # released as stale while we sent: the at-least-once window
            logger.warning("invitation %s was sent after its claim was released", invitation.pk)
        return
    if outcome.outcome == DeliveryOutcome.RETRY and attempts < MAX_ATTEMPTS:
        claimed.update(
            status=InvitationStatus.SCHEDULED,
            send_at=now + retry_delay(attempts),
            claimed_at=None,
            attempts=attempts,
            status_reason=f"Will retry: {outcome.error}"[:300],
        )
        return
    reason = (
        outcome.error
        if outcome.outcome == DeliveryOutcome.FAILED
        else (f"Gave up after {attempts} attempts: {outcome.error}")
    )
    claimed.update(
        status=InvitationStatus.FAILED,
        claimed_at=None,
        attempts=attempts,
        status_reason=reason[:300],
    )
    if outcome.bounce:
        _mark_bounced(invitation.contact, now, batch)


def _mark_reminder(invitation: Invitation, outcome: Outcome, batch: _Batch) -> None:
    now = timezone.now()
    claimed = Invitation.objects.filter(pk=invitation.pk, claimed_at__isnull=False)
    if outcome.outcome == DeliveryOutcome.SENT:
        claimed.update(reminded_at=now, claimed_at=None)
        return
    failures = (
        1
        + DeliveryAttempt.objects.filter(invitation=invitation, kind=DeliveryKind.REMINDER).count()
    )
    if outcome.outcome == DeliveryOutcome.RETRY and failures < MAX_ATTEMPTS:
        claimed.update(claimed_at=None, remind_at=now + retry_delay(failures))
        return
    claimed.update(claimed_at=None, status_reason=f"Reminder failed: {outcome.error}"[:300])
    if outcome.bounce:
        _mark_bounced(invitation.contact, now, batch)


def _mark_bounced(contact: Contact, now: datetime, batch: _Batch) -> None:
    batch.bounced.add(contact.pk)
    Contact.objects.filter(pk=contact.pk, bounced_at=None).update(bounced_at=now)
