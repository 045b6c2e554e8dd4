"""Every change to a case goes through these actions.

Each one locks the case row, checks the move against its current state (not a
state read earlier by a page), writes the change and a CaseEvent (who, when,
from, to), emits the `case.updated` webhook event in the same transaction, and
queues emails for after the commit. Views and API routes call exactly one.
Opening a case is in kaiku.loop.opening.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import DatabaseError, transaction
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import User
from kaiku.loop.assignment import can_work_cases, member_for
from kaiku.loop.errors import CaseError, InvalidTransition
from kaiku.loop.models import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    TRANSITIONS,
    Case,
    CaseEvent,
    CaseNote,
    CaseReply,
    CaseStatus,
    EventKind,
    LoopSettings,
    ResolutionCategory,
)
from kaiku.loop.replies import compose_reply
from kaiku.loop.rules import settings_for

logger = logging.getLogger(__name__)


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("survey", "workspace").get(pk=case.pk)


def _record(
    case: Case, kind: str, actor: User | None, via: str, old: str = "", new: str = ""
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        via=via if actor is None else "",
        kind=kind,
        from_value=old[:200],
        to_value=new[:200],
    )


def _first_action(case: Case, now: datetime) -> None:
    if case.first_action_at is None:
        case.first_action_at = now
        Case.objects.filter(pk=case.pk).update(
            first_action_at=Coalesce("first_action_at", Value(now, output_field=DateTimeField()))
        )


def emit_case_event(case: Case, event_type: str) -> None:
    """`case.opened` / `case.updated` to the workspace's webhooks, inside the transaction.

    A savepoint keeps the caller's transaction usable if the webhooks app fails:
    a webhook must never cost a case change.
    """
    from kaiku.loop.schemas import case_data
    from kaiku.webhooks.actions import emit_event

    try:
        with transaction.atomic():
            fresh = Case.objects.select_related("contact", "assignee", "category", "workspace").get(
                pk=case.pk
            )
            emit_event(fresh.workspace, event_type, case_data(fresh))
    except (DatabaseError, ValueError, TypeError, AttributeError):
        logger.exception("loop: could not emit %s for case %s", event_type, case.pk)


def assign(case: Case, assignee: User | None, *, actor: User | None, via: str = "") -> Case:
    """Give the case to a member who works cases (owner, admin, agent), or to nobody."""
    if assignee is not None:
        member = member_for(case.workspace_id, assignee.pk)
        if member is None or not can_work_cases(member):
            raise CaseError(
                _("Cases can only be assigned to owners, admins and agents."), field="assignee"
            )
    with transaction.atomic(durable=True):
        locked = _lock(case)
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        old = locked.assignee.email if locked.assignee else ""
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        _record(locked, EventKind.ASSIGNED, actor, via, old, assignee.email if assignee else "")
        _first_action(locked, timezone.now())
        emit_case_event(locked, "case.updated")
        if assignee is not None and assignee != actor:
            _after_commit_assignment_alert(locked.pk, assignee.pk)
    return locked


def _after_commit_assignment_alert(case_id: int, user_id: int) -> None:
    from kaiku.loop.tasks import send_assignment_alert

    transaction.on_commit(partial(send_assignment_alert.enqueue, case_id, user_id), robust=True)


def change_status(case: Case, status: str, *, actor: User | None, via: str = "") -> Case:
    """Move an active case (open, in progress, waiting) or close a resolved one.

    Resolving needs a category (resolve) and leaving resolved/closed is a reopen.
    """
    if status == CaseStatus.RESOLVED:
        raise InvalidTransition(_("Choose a resolution category to resolve the case."))
    with transaction.atomic(durable=True):
        locked = _lock(case)
        if status == locked.status:
            return locked
        if status not in TRANSITIONS.get(locked.status, frozenset()):
            raise InvalidTransition(
                _("A case cannot go from “%(old)s” to “%(new)s”.")
                % {"old": locked.get_status_display(), "new": CaseStatus(status).label}
            )
        now = timezone.now()
        old = locked.status
        locked.status = status
        fields = ["status", "updated_at"]
        if status == CaseStatus.CLOSED:
            locked.closed_at = now
            fields.append("closed_at")
        if status == CaseStatus.WAITING and locked.contacted_at is None:
            locked.contacted_at = now  # waiting for the customer: they were contacted
            fields.append("contacted_at")
        locked.save(update_fields=fields)
        _record(locked, EventKind.STATUS, actor, via, old, status)
        _first_action(locked, now)
        emit_case_event(locked, "case.updated")
    return locked


def resolve(case: Case, category: ResolutionCategory, *, actor: User | None, via: str = "") -> Case:
    """Resolve an active case with a root cause / resolution category.

    Schedules the re-survey when the survey asks for one and the case has a contact.
    """
    if category.workspace_id != case.workspace_id or not category.is_active:
        raise CaseError(_("Choose one of the workspace's categories."), field="category")
    with transaction.atomic(durable=True):
        locked = _lock(case)
        if locked.status not in ACTIVE_STATUSES:
            raise InvalidTransition(_("Only open, in-progress and waiting cases can be resolved."))
        now = timezone.now()
        old = locked.status
        locked.status = CaseStatus.RESOLVED
        locked.resolved_at = now
        locked.category = category
        locked.resurvey_at = _resurvey_time(locked, now)
        locked.save(
            update_fields=["status", "resolved_at", "category", "resurvey_at", "updated_at"]
        )
        _record(locked, EventKind.RESOLVED, actor, via, old, CaseStatus.RESOLVED)
        _record(locked, EventKind.CATEGORY, actor, via, "", str(category.label))
        _first_action(locked, now)
        emit_case_event(locked, "case.updated")
    return locked


def _resurvey_time(case: Case, now: datetime) -> datetime | None:
    days = (
        LoopSettings.objects.filter(survey_id=case.survey_id)
        .values_list("resurvey_days", flat=True)
        .first()
    )
    if not days or case.contact_id is None or case.resurvey_invitation_id is not None:
        return None
    return now + timedelta(days=days)


def set_category(
    case: Case, category: ResolutionCategory, *, actor: User | None, via: str = ""
) -> Case:
    """Change the category of a resolved or closed case (a correction)."""
    if category.workspace_id != case.workspace_id:
        raise CaseError(_("Choose one of the workspace's categories."), field="category")
    with transaction.atomic(durable=True):
        locked = _lock(case)
        if locked.status not in DONE_STATUSES:
            raise InvalidTransition(_("A category is chosen when the case is resolved."))
        if locked.category_id == category.pk:
            return locked
        old = str(locked.category.label) if locked.category else ""
        locked.category = category
        locked.save(update_fields=["category", "updated_at"])
        _record(locked, EventKind.CATEGORY, actor, via, old, str(category.label))
        emit_case_event(locked, "case.updated")
    return locked


def reopen(case: Case, *, actor: User | None, via: str = "") -> Case:
    """Back to open with a fresh due date; the reminder and escalation may go again."""
    with transaction.atomic(durable=True):
        locked = _lock(case)
        if locked.status not in DONE_STATUSES:
            raise InvalidTransition(_("Only resolved and closed cases can be reopened."))
        now = timezone.now()
        old = locked.status
        sla = settings_for(locked.survey).sla_hours  # the defaults when never saved
        locked.status = CaseStatus.OPEN
        locked.due_at = now + timedelta(hours=sla) if sla else None
        locked.resolved_at = locked.closed_at = None
        locked.category = None
        locked.reminded_at = locked.escalated_at = None
        if locked.resurvey_invitation_id is None:
            locked.resurvey_at = None
        locked.save()
        _record(locked, EventKind.REOPENED, actor, via, old, CaseStatus.OPEN)
        emit_case_event(locked, "case.updated")
    return locked


def add_note(case: Case, body: str, *, actor: User | None) -> CaseNote:
    body = body.strip()
    if not body:
        raise CaseError(_("Write the note first."), field="body")
    with transaction.atomic(durable=True):
        locked = _lock(case)
        note = CaseNote.objects.create(case=locked, author=actor, body=body)
        _record(locked, EventKind.NOTE, actor, "")
        _first_action(locked, note.created_at)
        Case.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
        emit_case_event(locked, "case.updated")
    return note


def reply_to_customer(case: Case, subject: str, body: str, *, actor: User) -> CaseReply:
    """Queue an email to the customer; the send job records how it went.

    Placeholders ({name}, {brand}, {agent}, {score}, {survey}) are filled in
    here, so the stored message is exactly what the customer reads.
    """
    with transaction.atomic(durable=True):
        locked = _lock(case)
        reply = compose_reply(locked, subject, body, actor)  # raises CaseError
        reply.save()
        _record(locked, EventKind.REPLY, actor, "", "", reply.to_email)
        _first_action(locked, reply.created_at)
        Case.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
        emit_case_event(locked, "case.updated")
        from kaiku.loop.tasks import send_case_reply

        transaction.on_commit(partial(send_case_reply.enqueue, reply.pk), robust=True)
    return reply
